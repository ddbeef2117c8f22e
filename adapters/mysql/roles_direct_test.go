package mysql_test

import (
	"context"
	"encoding/json"
	"reflect"
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
