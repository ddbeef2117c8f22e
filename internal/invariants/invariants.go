// Package invariants checks, in SQL, what must hold of scimbridge's tables and the app's whatever the
// topology: one server, or several replicas on the nodes of a cluster, after any mix of concurrent
// writes, conflicts, retries and crashes. The cluster test (cluster/) runs it on every node after its
// load, and its own test runs it on the shared single server after concurrent writes, so that one suite
// says "consistent" in both places.
package invariants

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// Setup says where the tables are and what to expect of them.
type Setup struct {
	Prefix string // scimbridge's table prefix ["scim_"]
	// AppTable and AppKey are the app's users table and its key column; the bookkeeping row of each live
	// user must have its app row. JoinColumn is the bookkeeping column holding that key ["app_id"].
	AppTable, AppKey, JoinColumn string
	// Endpoints are webhook endpoints subscribed to every event: every outbox event their cursor has
	// passed must have a delivery for them.
	Endpoints []string
	// Roles, when set, says how many live users' app roles differ from what their groups grant
	// (mysql.Store.RolesDrift); any is a violation.
	Roles interface {
		RolesDrift(ctx context.Context) (int, error)
	}
}

// Check runs every check and returns the violations found, each a sentence with a count; none is
// consistent. The error is for a check that could not run.
func Check(ctx context.Context, db *sqlx.DB, s Setup) ([]string, error) {
	t := bookkeeping.NewTables(s.Prefix, bookkeeping.MySQL)
	q := bookkeeping.MySQL.Quote
	checks := []struct{ what, sql string }{
		{"membership rows of a group that does not exist",
			"SELECT COUNT(*) FROM " + t.Members() + " m LEFT JOIN " + t.Groups() + " g ON g.id = m.group_id WHERE g.id IS NULL"},
		{"membership rows of a user that does not exist or is deleted",
			"SELECT COUNT(*) FROM " + t.Members() + " m LEFT JOIN " + t.Users() + " u ON u.id = m.user_id WHERE u.id IS NULL OR u.deleted_at IS NOT NULL"},
		{"members of a group whose user row says it is in none (in_groups): its reads would show no groups",
			"SELECT COUNT(*) FROM " + t.Members() + " m JOIN " + t.Users() + " u ON u.id = m.user_id WHERE u.in_groups = 0"},
		{"direct roles of a user whose row says it has none (has_direct): its reads would not show them",
			"SELECT COUNT(*) FROM " + t.RoleDirect() + " d JOIN " + t.Users() + " u ON u.id = d.user_id WHERE u.has_direct = 0"},
		{"values rows of a user that does not exist",
			"SELECT COUNT(*) FROM " + t.Values() + " v LEFT JOIN " + t.Users() + " u ON u.id = v.user_id WHERE u.id IS NULL"},
		{"list-row records of a user that does not exist",
			"SELECT COUNT(*) FROM " + t.ListRows() + " l LEFT JOIN " + t.Users() + " u ON u.id = l.user_id WHERE u.id IS NULL"},
		{"deliveries still owed whose outbox event is gone",
			"SELECT COUNT(*) FROM " + t.Deliveries() + " d LEFT JOIN " + t.Outbox() + " o ON o.seq = d.seq WHERE d.status <> 'delivered' AND o.seq IS NULL"},
		{"deliveries whose event differs from their outbox row's",
			"SELECT COUNT(*) FROM " + t.Deliveries() + " d JOIN " + t.Outbox() + " o ON o.seq = d.seq WHERE o.event_id <> d.event_id"},
		{"deliveries given up (dead)",
			"SELECT COUNT(*) FROM " + t.Deliveries() + " WHERE status = 'dead'"},
		{"webhook cursors whose last_seq is past their scan_seq",
			"SELECT COUNT(*) FROM " + t.Cursors() + " WHERE last_seq > scan_seq"},
	}
	if s.AppTable != "" {
		join := s.JoinColumn
		if join == "" {
			join = "app_id"
		}
		checks = append(checks, struct{ what, sql string }{"live users without their app row",
			"SELECT COUNT(*) FROM " + t.Users() + " u LEFT JOIN " + q(s.AppTable) + " a ON a." + q(s.AppKey) + " = u." + q(join) +
				" WHERE u.deleted_at IS NULL AND a." + q(s.AppKey) + " IS NULL"})
	}
	for _, ep := range s.Endpoints {
		checks = append(checks, struct{ what, sql string }{fmt.Sprintf("outbox events before endpoint %q's cursor without a delivery to it", ep),
			"SELECT COUNT(*) FROM " + t.Outbox() + " o JOIN " + t.Cursors() + " c ON c.endpoint = " + quoteString(ep) +
				" LEFT JOIN " + t.Deliveries() + " d ON d.endpoint = c.endpoint AND d.seq = o.seq WHERE o.seq <= c.last_seq AND d.id IS NULL"})
	}
	var out []string
	for _, c := range checks {
		var n int
		if err := db.GetContext(ctx, &n, c.sql); err != nil {
			return out, fmt.Errorf("%s: %w", c.what, err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, c.what))
		}
	}
	if s.Roles != nil {
		n, err := s.Roles.RolesDrift(ctx)
		if err != nil {
			return out, fmt.Errorf("roles: %w", err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d live users whose app roles differ from what their groups grant", n))
		}
	}
	return out, nil
}

// quoteString is a SQL string literal of an endpoint name (names are checked to be short and plain, but
// quoting keeps the check from depending on it).
func quoteString(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
