package mysql_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
)

// Two role stores in one configuration: an admin flag and membership rows. One group change writes
// both in its transaction, one user.roles_changed carries both stores' roles, and a failure in the
// second store rolls back the first.
func TestRolesSeveralStores(t *testing.T) {
	ctx := context.Background()
	f := newRoleFixture(t, roleSchema("is_admin TINYINT NOT NULL DEFAULT 0,", storeJoinExtra), usersTOML, flagsRoles)
	join := testfix.Roles(t, storeJoinRoles)
	f.store = mysql.New(f.db, testfix.Users(t, usersTOML), mysql.Options{Roles: testfix.Roles(t, flagsRoles), MoreRoles: []*mapping.Roles{join}})
	id, key := f.user(t, "ann")
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
	g := f.group(t, "Admins", id)
	if flag, rows := held(); flag != 1 || !reflect.DeepEqual(rows, []string{"admin"}) {
		t.Errorf("in Admins: is_admin %d, user_roles %v", flag, rows)
	}
	var payloads []string
	if err := f.db.Select(&payloads, "SELECT payload FROM scim_outbox WHERE type = 'user.roles_changed' ORDER BY seq"); err != nil {
		t.Fatal(err)
	}
	if len(payloads) != 1 {
		t.Fatalf("roles_changed events: %d, want 1", len(payloads))
	}
	var ev struct {
		Roles struct{ Old, New []string } `json:"roles"`
	}
	if err := json.Unmarshal([]byte(payloads[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Roles.New, []string{"is_admin", "admin"}) || len(ev.Roles.Old) != 0 {
		t.Errorf("event roles: %+v, want both stores' roles", ev.Roles)
	}
	// A role of the join store disappears from the app's roles table: the next change fails there, and
	// the flag the first store wrote in the same transaction is rolled back.
	if _, err := f.db.Exec("DELETE FROM roles WHERE name = 'support'"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteGroup(ctx, g, nil); err == nil {
		t.Fatal("a recompute whose second store fails: no error")
	}
	if flag, _ := held(); flag != 1 {
		t.Errorf("is_admin after the failed change: %d, want 1 (rolled back)", flag)
	}
}
