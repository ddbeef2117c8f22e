package mysql_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// Direct roles with several role stores: each store writes the direct roles it manages (the flag
// store's is_admin, the join store's support), next to what groups grant, and one user.roles_changed
// carries both stores' roles and the direct list.
func TestDirectRolesSeveralStores(t *testing.T) {
	ctx := context.Background()
	f := newRoleFixture(t, roleSchema("is_admin TINYINT NOT NULL DEFAULT 0,", storeJoinExtra), usersTOML, flagsRoles)
	join := testfix.Roles(t, storeJoinRoles)
	f.store = mysql.New(f.db, testfix.Users(t, usersTOML), mysql.Options{Roles: testfix.Roles(t, flagsRoles), MoreRoles: []*mapping.Roles{join}})
	id, key := f.user(t, "dora")
	held := func() (flag int, rows []string) {
		t.Helper()
		if err := f.db.Get(&flag, "SELECT is_admin FROM users WHERE id = ?", key); err != nil {
			t.Fatal(err)
		}
		if err := f.db.Select(&rows, "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ? ORDER BY r.name", key); err != nil {
			t.Fatal(err)
		}
		return flag, rows
	}
	assign := func(roles ...string) error {
		_, err := f.store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) {
			list := []any{}
			for _, r := range roles {
				list = append(list, map[string]any{"value": r})
			}
			cur["roles"] = list
			return cur, nil
		})
		return err
	}
	if err := assign("support"); err != nil {
		t.Fatal(err)
	}
	if flag, rows := held(); flag != 0 || !reflect.DeepEqual(rows, []string{"support"}) {
		t.Errorf("direct support: is_admin %d, user_roles %v", flag, rows)
	}
	f.group(t, "Admins", id)
	if err := assign("support", "is_admin"); err != nil {
		t.Fatal(err)
	}
	if flag, rows := held(); flag != 1 || !reflect.DeepEqual(rows, []string{"admin", "support"}) {
		t.Errorf("direct support and is_admin, group Admins: is_admin %d, user_roles %v", flag, rows)
	}
	var payload string
	if err := f.db.Get(&payload, "SELECT payload FROM scim_outbox WHERE type = 'user.roles_changed' ORDER BY seq DESC LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	var ev struct{ Roles mysql.RoleChange }
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Roles.Direct, []string{"is_admin", "support"}) || !reflect.DeepEqual(ev.Roles.New, []string{"is_admin", "admin", "support"}) {
		t.Errorf("last roles_changed: %+v", ev.Roles)
	}
	// A value of neither store is refused, and nothing changes.
	if err := assign("support", "owner"); scim.AsError(err).Status != 400 {
		t.Fatalf("unknown role: %v", err)
	}
	if flag, rows := held(); flag != 1 || !reflect.DeepEqual(rows, []string{"admin", "support"}) {
		t.Errorf("after the refused write: is_admin %d, user_roles %v", flag, rows)
	}
	// UserAccess (the gate) sees both sources.
	_, _, roles, err := f.store.UserAccess(ctx, id)
	if err != nil || !reflect.DeepEqual(roles, []string{"is_admin", "admin", "support"}) {
		t.Errorf("UserAccess roles %v, %v", roles, err)
	}
}

// A user's read asks for its direct roles only when its row says it may have some (has_direct, set by
// the write that assigns one): GET of a user without is one statement fewer, and gives the same roles
// as one with; a direct role written by SQL shows once Reindex has set the flag again.
func TestDirectRolesReadOnlyForUsersThatHaveThem(t *testing.T) {
	ctx := context.Background()
	schema := roleSchema("role VARCHAR(32) NULL,", "")
	_, db, rec := recordingRoleStore(t, schema, storeColumnRoles)
	store := mysql.New(db, testfix.Users(t, usersTOML), mysql.Options{Roles: testfix.Roles(t, storeColumnRoles)})
	none, err := store.CreateUser(ctx, resource(t, `{"userName":"none@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	some, err := store.CreateUser(ctx, resource(t, `{"userName":"some@example.com","roles":[{"value":"support"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	imported, err := store.CreateUser(ctx, resource(t, `{"userName":"imported@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO scim_role_direct (user_id, role) VALUES (?, 'admin')", imported["id"]); err != nil {
		t.Fatal(err)
	}
	get := func(u scim.Resource) (roles string, stmts int) {
		t.Helper()
		rec.take()
		r, err := store.GetUser(ctx, u["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r["roles"])
		return string(b), len(rec.take())
	}
	rolesNone, stmtsNone := get(none)
	rolesSome, stmtsSome := get(some)
	if contains(rolesNone, `"direct"`) {
		t.Errorf("roles of a user with no direct role: %s", rolesNone)
	}
	if want := `{"display":"support","type":"direct","value":"support"}`; !json.Valid([]byte(rolesSome)) || !contains(rolesSome, want) {
		t.Errorf("roles of a user assigned support: %s; want %s among them", rolesSome, want)
	}
	if stmtsSome != stmtsNone+1 {
		t.Errorf("GET sent %d statements for a user with direct roles, %d for one without; want one more", stmtsSome, stmtsNone)
	}
	if roles, _ := get(imported); contains(roles, `"admin"`) {
		t.Fatalf("before reindex the SQL-written role shows already (%s): has_direct is not what the read asks", roles)
	}
	if err := mysql.Reindex(ctx, db, "scim_", nil); err != nil {
		t.Fatal(err)
	}
	if roles, _ := get(imported); !contains(roles, `{"display":"admin","type":"direct","value":"admin"}`) {
		t.Errorf("after reindex: roles %s; want the direct admin", roles)
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && strings.Contains(s, sub) }
