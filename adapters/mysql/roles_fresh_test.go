package mysql_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
)

// A create's role recompute takes the new user as the create knows it (approles.Known: tracked, in no
// group, no grants, its app row inserted or adopted) instead of reading it: the roles written, the
// grants recorded, the audit and the events must be what the recompute that reads everything gives, for
// plain, inactive and directly assigned creates, an adoption of a row with a role given by hand and a
// revived tombstone, with one store and with two.
func TestCreateRolesFromWhatTheCreateKnows(t *testing.T) {
	bodies := []string{
		`{"userName":"ann@example.com"}`,
		`{"userName":"bob@example.com","active":false}`,
		`{"userName":"cy@example.com","roles":[{"value":"support"}]}`,
		`{"userName":"boss@example.com","roles":[{"value":"admin"},{"value":"support"}]}`, // adopts the row the app made
		`{"userName":"dee@example.com"}`,                                                  // deleted, then created again: the tombstone is revived
	}
	for _, c := range []struct {
		name, schema, roles string
		more                []string
		seed                string
	}{
		{"column store", roleSchema("role VARCHAR(32) NULL,", ""), "while_inactive = \"clear\"\n" + storeColumnRoles, nil,
			"INSERT INTO users (email, password_hash, created_at, role) VALUES ('boss@example.com', 'x', '2026-11-01 09:00:00', 'admin')"},
		{"flags and join stores", roleSchema("is_admin TINYINT NOT NULL DEFAULT 0,", storeJoinExtra), flagsRoles, []string{storeJoinRoles},
			"INSERT INTO users (email, password_hash, created_at, is_admin) VALUES ('boss@example.com', 'x', '2026-11-01 09:00:00', 1)"},
	} {
		run := func(readAll bool) string {
			clock := testfix.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
			var more []*mapping.Roles
			for _, m := range c.more {
				more = append(more, testfix.Roles(t, m))
			}
			store, db, _ := testfix.Store(t, 4, c.schema, usersTOML, mysql.Options{Now: clock.Now, Rand: rand.NewChaCha8([32]byte{3}),
				Roles: testfix.Roles(t, c.roles), MoreRoles: more})
			if readAll {
				mysql.ReadBackWrites(store)
			}
			if _, err := db.Exec(c.seed); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i, body := range bodies {
				u, err := store.CreateUser(ctx, resource(t, body))
				if err != nil {
					t.Fatalf("%s: create %d: %v", c.name, i, err)
				}
				if strings.Contains(body, "dee@") {
					if err := store.DeleteUser(ctx, u["id"].(string), nil); err != nil {
						t.Fatal(err)
					}
					if _, err := store.CreateUser(ctx, resource(t, body)); err != nil {
						t.Fatal(err)
					}
				}
				clock.Advance(time.Second)
			}
			tables := []string{"users", "scim_users", "scim_role_grants", "scim_role_direct", "scim_audit", "scim_outbox"}
			if len(c.more) > 0 {
				tables = append(tables, "user_roles")
			}
			return dumpTables(t, db, tables...)
		}
		known, readAll := run(false), run(true)
		if known != readAll {
			t.Errorf("%s: the rows differ:\nfrom what the create knows\n%s\nread\n%s", c.name, known, readAll)
		}
		if !strings.Contains(known, "user.roles_changed") {
			t.Errorf("%s: no roles changed at all: the comparison saw too little\n%s", c.name, known)
		}
	}
}
