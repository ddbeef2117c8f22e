package schemacheck

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// Setup is what the grants check needs to know of the configuration.
type Setup struct {
	Users *mapping.Users
	Roles *mapping.Roles // nil without [roles]
	// MoreRoles are the [[roles]] stores after the first (Roles).
	MoreRoles []*mapping.Roles
	Mirror    *mapping.GroupMirror // nil without [groups.mirror]
	Prefix    string
}

// bookkeepingTables are scimbridge's own tables (without the prefix), every one of which serve reads and
// writes.
var bookkeepingTables = []string{"users", "outbox", "groups", "group_members", "webhook_cursors", "webhook_deliveries",
	"gate_sessions", "gate_assertions", "audit", "role_grants", "leases", "role_marks", "list_rows", "role_direct",
	"breaker", "breaker_counts", "breaker_held", "user_written"}

// migrateNeeds are the privileges `scimbridge migrate` (and serve, while migrations are not current) needs on
// the database: it creates and alters scimbridge's tables, records each step, and rewrites rows (migration 8).
var migrateNeeds = []string{"CREATE", "ALTER", "INDEX", "SELECT", "INSERT", "UPDATE"}

// serveNeeds is, per table, what serve does to it.
func serveNeeds(s Setup) map[string][]string {
	rw := []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	need := map[string][]string{}
	add := func(table string, privs ...string) {
		need[table] = union(need[table], privs)
	}
	users := []string{"SELECT", "INSERT", "UPDATE"}
	if s.Users.OnDelete == "delete" {
		users = append(users, "DELETE")
	}
	add(s.Users.Table, users...)
	for _, t := range s.Users.Tables {
		add(t.Name, rw...)
	}
	for _, l := range s.Users.Lists {
		add(l.Table, rw...)
	}
	for _, kv := range s.Users.KeyValue {
		add(kv.Table, rw...)
	}
	for _, r := range append([]*mapping.Roles{s.Roles}, s.MoreRoles...) {
		switch {
		case r == nil:
		case r.Store == mapping.RoleJoin:
			add(r.Table, "SELECT", "INSERT", "DELETE")
			if r.Lookup.Table != "" {
				add(r.Lookup.Table, "SELECT")
			}
		case r.KeyValue != nil:
			add(r.KeyValue.Table, "SELECT", "INSERT", "UPDATE")
		}
	}
	if m := s.Mirror; m != nil {
		add(m.Table, rw...)
		add(m.MembersTable, "SELECT", "INSERT", "DELETE")
	}
	for _, t := range bookkeepingTables {
		add(s.Prefix+t, rw...)
	}
	add(s.Prefix+"schema_migrations", "SELECT")
	return need
}

// grants are the privileges of the connected account, as information_schema lists them: global, on this
// database (grants on patterns such as `app\_%` included) and per table.
type grants struct {
	account string // 'user'@'host'
	db      string
	global  map[string]bool
	schema  map[string]bool
	table   map[string]map[string]bool
}

func loadGrants(ctx context.Context, db *sqlx.DB) (*grants, error) {
	var cur, dbName string
	if err := db.QueryRowxContext(ctx, "SELECT CURRENT_USER(), COALESCE(DATABASE(), '')").Scan(&cur, &dbName); err != nil {
		return nil, err
	}
	user, host, _ := strings.Cut(cur, "@")
	g := &grants{account: "'" + user + "'@'" + host + "'", db: dbName,
		global: map[string]bool{}, schema: map[string]bool{}, table: map[string]map[string]bool{}}
	grantees := []any{g.account}
	var roles []string
	// MariaDB and MySQL 8 list the roles in effect; privileges granted to them count.
	if err := db.SelectContext(ctx, &roles, "SELECT ROLE_NAME FROM information_schema.ENABLED_ROLES WHERE ROLE_NAME IS NOT NULL"); err == nil {
		for _, r := range roles {
			grantees = append(grantees, "'"+r+"'", "'"+r+"'@''", "'"+r+"'@'%'")
		}
	}
	in := placeholders(len(grantees))
	var rows []struct {
		Priv  string `db:"PRIVILEGE_TYPE"`
		Table string `db:"TABLE_NAME"`
		Level string `db:"LEVEL"`
	}
	q := "SELECT PRIVILEGE_TYPE, '' AS TABLE_NAME, 'global' AS LEVEL FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN (" + in + ")" +
		" UNION ALL SELECT PRIVILEGE_TYPE, '', 'schema' FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN (" + in + ") AND DATABASE() LIKE TABLE_SCHEMA" +
		" UNION ALL SELECT PRIVILEGE_TYPE, TABLE_NAME, 'table' FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE IN (" + in + ") AND TABLE_SCHEMA = DATABASE()"
	args := append(append(append([]any{}, grantees...), grantees...), grantees...)
	if err := db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		p := strings.ToUpper(r.Priv)
		switch r.Level {
		case "global":
			g.global[p] = true
		case "schema":
			g.schema[p] = true
		default:
			if g.table[r.Table] == nil {
				g.table[r.Table] = map[string]bool{}
			}
			g.table[r.Table][p] = true
		}
	}
	return g, nil
}

// lacks returns the privileges of want the account does not have on table ("" for the database itself).
func (g *grants) lacks(table string, want []string) []string {
	var out []string
	for _, p := range want {
		if !g.global[p] && !g.schema[p] && !g.table[table][p] {
			out = append(out, p)
		}
	}
	return out
}

// CheckGrants compares the connected account's privileges with what serve needs (and, while migrations
// are not current, what running them needs), and says which account needs what and how to grant it.
// version is the recorded migration version.
func CheckGrants(ctx context.Context, db *sqlx.DB, s Setup, version int) (Report, error) {
	var rep Report
	g, err := loadGrants(ctx, db)
	if err != nil {
		rep.warn("could not read this account's privileges from information_schema (%v); the grants were not checked", err)
		return rep, nil
	}
	latest := bookkeeping.Latest()
	dbq := quoteIdent(g.db)

	// Tables by the privileges they lack, so that one line covers each GRANT to run.
	missing := map[string][]string{}
	need := serveNeeds(s)
	for _, table := range slices.Sorted(maps.Keys(need)) {
		if l := g.lacks(table, need[table]); len(l) > 0 {
			key := strings.Join(l, ", ")
			missing[key] = append(missing[key], table)
		}
	}
	for _, privs := range slices.Sorted(maps.Keys(missing)) {
		tables := missing[privs]
		quoted := make([]string, len(tables))
		for i, t := range tables {
			quoted[i] = quoteIdent(t)
		}
		rep.problem("the database account %s, which serve connects as, lacks %s on %s, which serve needs to provision users. Fix: GRANT SELECT, INSERT, UPDATE, DELETE ON %s.* TO %s; (or GRANT %s ON %s.<table> for each table named)",
			g.account, privs, strings.Join(quoted, ", "), dbq, g.account, privs, dbq)
	}

	migrate := migrateNeeds
	var server string
	if err := db.GetContext(ctx, &server, "SELECT VERSION()"); err == nil && !strings.Contains(server, "MariaDB") {
		migrate = append(migrate[:len(migrate):len(migrate)], "REFERENCES") // MySQL 8 wants it for foreign keys
	}
	ddl := g.lacks("", migrate)
	switch {
	case version < latest && len(ddl) > 0:
		rep.problem("scimbridge's migrations are not current (the database is at version %d, this scimbridge needs %d), so serve would run them, and the database account %s lacks %s on %s.*: serve would fail. Fix: run `scimbridge migrate` once with an account that may change the schema (GRANT %s ON %s.* TO 'scimbridge_migrate'@'...'), then serve with this one; or grant these to %s",
			version, latest, g.account, strings.Join(ddl, ", "), dbq, strings.Join(migrate, ", "), dbq, g.account)
	case version > latest:
		rep.warn("the database was migrated by a newer scimbridge (version %d; this one knows %d): run the newer version", version, latest)
	case len(ddl) > 0:
		rep.warn("the database account %s may not change the schema (it lacks %s): fine for serve while migrations are current; after upgrading scimbridge, run `scimbridge migrate` with an account that has %s on %s.* before serve",
			g.account, strings.Join(ddl, ", "), strings.Join(migrate, ", "), dbq)
	}
	return rep, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	order := map[string]int{"SELECT": 0, "INSERT": 1, "UPDATE": 2, "DELETE": 3}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}
