package mysql_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// Every statement that writes or locks roles, in every store shape, is EXPLAINed as the store sent it
// (recorded at the driver) on tables with a few thousand other rows: each must use an index. A role
// removal used to be `DELETE ... WHERE (user_id, role_id) IN ((?, ?))`, a full scan on MariaDB.
func TestRoleWritesUseAnIndex(t *testing.T) {
	shapes := []struct {
		name, extraColumns, extraStatements, rules, marker string
	}{
		{"column", "role VARCHAR(32) NULL,", "", storeColumnRoles, "`role`"},
		{"join", "", storeJoinExtra, storeJoinRoles, "`user_roles`"},
		{"list", "roles VARCHAR(255) NULL,", "", `
store = "list"
column = "roles"
separator = " "
[[rules]]
group = "Admins"
role = "admin"
[[rules]]
group = "Support"
role = "support"
`, "`roles`"},
		{"flags", "is_admin TINYINT NOT NULL DEFAULT 0, is_support TINYINT NOT NULL DEFAULT 0,", "", `
store = "flags"
[[rules]]
group = "Admins"
column = "is_admin"
[[rules]]
group = "Support"
column = "is_support"
`, "`is_admin`"},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			store, db, rec := recordingRoleStore(t, roleSchema(sh.extraColumns, sh.extraStatements), sh.rules)
			fillUsers(t, db, 3000, sh.name == "join")
			ctx := context.Background()
			var ids []string
			for i := range 3 {
				r, err := store.CreateUser(ctx, resource(t, fmt.Sprintf(`{"userName":"x%d@example.com"}`, i)))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r["id"].(string))
			}
			rec.take()
			admins := createGroup(t, store, "Admins", ids...)
			support := createGroup(t, store, "Support", ids...)
			// One user losing one role (the single-pair case), then several users at once.
			members(t, store, admins, scim.MemberChange{Remove: ids[:1]})
			members(t, store, support, scim.MemberChange{Remove: ids[1:]})
			if err := store.DeleteGroup(ctx, admins, nil); err != nil {
				t.Fatal(err)
			}
			if _, _, err := store.ReconcileRoles(ctx); err != nil {
				t.Fatal(err)
			}
			checked, removals := 0, 0
			for _, st := range rec.take() {
				q := strings.TrimSpace(st.query)
				upper := strings.ToUpper(q)
				writes := strings.HasPrefix(upper, "UPDATE") || strings.HasPrefix(upper, "DELETE") || strings.HasSuffix(upper, "FOR UPDATE")
				if !writes || !strings.Contains(q, sh.marker) {
					continue
				}
				if strings.HasPrefix(upper, "DELETE") {
					removals++
				}
				checked++
				args := make([]any, len(st.args))
				for i, a := range st.args {
					args[i] = a.Value
				}
				for _, row := range explain(t, db, q, args) {
					if row["key"] == "" || row["type"] == "ALL" {
						t.Errorf("no index: %s %v\n  EXPLAIN: %v", q, args, row)
					}
				}
			}
			if checked == 0 || (sh.name == "join" && removals < 2) {
				t.Fatalf("recorded %d role statements (%d deletes): the test did not see the role writes", checked, removals)
			}
			t.Logf("%d role statements EXPLAINed, all on an index", checked)
		})
	}
}

func recordingRoleStore(t *testing.T, schema, rolesTOML string) (*mysql.Store, *sqlx.DB, *recorder) {
	t.Helper()
	m, roles := testfix.Users(t, usersTOML), testfix.Roles(t, rolesTOML)
	db, rec := openRecording(t, testdb.New(t, schema))
	if _, err := mysql.Migrate(context.Background(), db, "scim_"); err != nil {
		t.Fatal(err)
	}
	return mysql.New(db, m, mysql.Options{Roles: roles}), db, rec
}

// fillUsers adds n app users SCIM does not manage (and, for the join store, two roles each), so that
// a full scan costs the optimizer more than an index.
func fillUsers(t *testing.T, db *sqlx.DB, n int, roles bool) {
	t.Helper()
	for start := 0; start < n; start += 500 {
		var vals []string
		for i := start; i < min(start+500, n); i++ {
			vals = append(vals, fmt.Sprintf("('filler%d@example.com', 'x', NOW())", i))
		}
		if _, err := db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES " + strings.Join(vals, ", ")); err != nil {
			t.Fatal(err)
		}
	}
	if roles {
		if _, err := db.Exec("INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u JOIN roles r WHERE r.name IN ('admin', 'viewer')"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tbl := range []string{"users", "user_roles"} {
		_, _ = db.Exec("ANALYZE TABLE " + tbl)
	}
}

func explain(t *testing.T, db *sqlx.DB, q string, args []any) []map[string]string {
	t.Helper()
	rows, err := db.Queryx("EXPLAIN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for k, v := range m {
			if b, ok := v.([]byte); ok {
				row[k] = string(b)
			} else if v != nil {
				row[k] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out
}

func createGroup(t *testing.T, s *mysql.Store, name string, ids ...string) string {
	t.Helper()
	var ms []scim.Member
	for _, id := range ids {
		ms = append(ms, scim.Member{Value: id})
	}
	g, err := s.CreateGroup(context.Background(), scim.Resource{"schemas": []any{scim.GroupSchema}, "displayName": name}, ms)
	if err != nil {
		t.Fatal(err)
	}
	return g["id"].(string)
}

func members(t *testing.T, s *mysql.Store, group string, ch scim.MemberChange) {
	t.Helper()
	if _, err := s.UpdateGroup(context.Background(), group, func(cur scim.Resource) (scim.Resource, error) { return cur, nil }, ch, false); err != nil {
		t.Fatal(err)
	}
}
