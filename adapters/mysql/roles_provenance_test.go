package mysql_test

import (
	"context"
	"testing"
)

// adoptAdmin inserts an app row the way the app's own admin screen would (is_admin set by hand), then
// has the IdP POST the same user, which adopts the row.
func adoptAdmin(t *testing.T, f *roleFixture, insert string) (id string, key int64) {
	t.Helper()
	if _, err := f.db.Exec(insert); err != nil {
		t.Fatal(err)
	}
	r, err := f.store.CreateUser(context.Background(), resource(t, `{"userName":"boss@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id = r["id"].(string)
	if err := f.db.Get(&key, "SELECT app_id FROM scim_users WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return id, key
}

const flagsRoles = `
store = "flags"
[[rules]]
group = "Admins"
column = "is_admin"
`

// The bug of issue 13: the start-up reconcile demoted an adopted admin (is_admin 1 -> 0).
func TestRolesAdoptedAdminSurvivesReconcile(t *testing.T) {
	f := newRoleFixture(t, roleSchema("is_admin TINYINT NOT NULL DEFAULT 0,", ""), usersTOML, flagsRoles)
	ctx := context.Background()
	_, key := adoptAdmin(t, f, "INSERT INTO users (email, password_hash, created_at, is_admin) VALUES ('boss@example.com', 'x', NOW(), 1)")
	isAdmin := func() (v int) {
		t.Helper()
		if err := f.db.Get(&v, "SELECT is_admin FROM users WHERE id = ?", key); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, _, err := f.store.ReconcileRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if got := isAdmin(); got != 1 {
		t.Fatalf("adopted admin after the start-up reconcile: is_admin = %d, want 1", got)
	}
}

// provenanceCase is one role store with a hand-given admin role on an adopted user.
type provenanceCase struct {
	name, columns, extra, roles string
	grant                       string // SQL giving the user with key ? the admin role by hand
	held                        string // SQL reading what the app holds for the user with key ?
	admin, none                 string // what held reads with the admin role and without any role
	handOnly                    string // held for boss under an authoritative mapping: the hand-given role gone
}

var provenanceCases = []provenanceCase{
	{name: "flags", columns: "is_admin TINYINT NOT NULL DEFAULT 0,", roles: flagsRoles,
		grant: "UPDATE users SET is_admin = 1 WHERE id = ?", held: "SELECT CONCAT(is_admin) FROM users WHERE id = ?",
		admin: "1", none: "0", handOnly: "0"},
	{name: "column", columns: "role VARCHAR(32) NULL,", roles: storeColumnRoles,
		grant: "UPDATE users SET role = 'admin' WHERE id = ?", held: "SELECT COALESCE(role, '') FROM users WHERE id = ?",
		admin: "admin", none: "viewer", handOnly: "viewer"},
	{name: "list", columns: "roles VARCHAR(255) NOT NULL DEFAULT 'system_user',", roles: `
store = "list"
column = "roles"
[[rules]]
group = "Admins"
role = "system_admin"
`, grant: "UPDATE users SET roles = 'system_user system_admin' WHERE id = ?", held: "SELECT roles FROM users WHERE id = ?",
		admin: "system_user system_admin", none: "system_user", handOnly: "system_user"},
	{name: "join", extra: storeJoinExtra, roles: storeJoinRoles,
		grant: "INSERT INTO user_roles (user_id, role_id) SELECT ?, id FROM roles WHERE name = 'admin'",
		held:  "SELECT COALESCE(GROUP_CONCAT(r.name ORDER BY r.name), '') FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ?",
		admin: "admin", none: "", handOnly: ""},
}

func (c provenanceCase) read(t *testing.T, f *roleFixture, key int64) string {
	t.Helper()
	var v string
	if err := f.db.Get(&v, c.held, key); err != nil {
		t.Fatal(err)
	}
	return v
}

// adopt inserts boss@example.com as the app would, gives it the admin role by hand, and POSTs it.
func (c provenanceCase) adopt(t *testing.T, f *roleFixture) (string, int64) {
	t.Helper()
	res, err := f.db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES ('boss@example.com', 'x', NOW())")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := res.LastInsertId()
	if _, err := f.db.Exec(c.grant, key); err != nil {
		t.Fatal(err)
	}
	r, err := f.store.CreateUser(context.Background(), resource(t, `{"userName":"boss@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	return r["id"].(string), key
}

// Every store kind: a role given by hand survives the start-up reconcile, a restart (a new store on the
// same database) and a group granting then withdrawing it; a role scimbridge granted is withdrawn.
func TestRolesHandGivenSurvive(t *testing.T) {
	for _, c := range provenanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newRoleFixture(t, roleSchema(c.columns, c.extra), usersTOML, c.roles)
			boss, bossKey := c.adopt(t, f)
			if got := c.read(t, f, bossKey); got != c.admin {
				t.Fatalf("adopted: %q, want %q", got, c.admin)
			}
			carol, carolKey := f.user(t, "carol")
			g := f.group(t, "Admins", carol, boss)
			if got := c.read(t, f, carolKey); got != c.admin {
				t.Fatalf("carol in Admins: %q, want %q", got, c.admin)
			}
			restarted := newRoleFixtureOn(t, f.db, usersTOML, c.roles)
			if _, _, err := restarted.store.ReconcileRoles(ctx); err != nil {
				t.Fatal(err)
			}
			if err := restarted.store.DeleteGroup(ctx, g, nil); err != nil {
				t.Fatal(err)
			}
			if got := c.read(t, f, carolKey); got != c.none {
				t.Errorf("carol after Admins deleted: %q, want %q (scimbridge's grant withdrawn)", got, c.none)
			}
			if got := c.read(t, f, bossKey); got != c.admin {
				t.Errorf("boss after Admins deleted: %q, want %q (hand-given)", got, c.admin)
			}
			if _, changed, err := restarted.store.ReconcileRoles(ctx); err != nil || changed != 0 {
				t.Errorf("second reconcile: %d changed, %v", changed, err)
			}
			if got := c.read(t, f, bossKey); got != c.admin {
				t.Errorf("boss after the second reconcile: %q, want %q", got, c.admin)
			}
		})
	}
}

// authoritative = true: the IdP's groups are the only truth, from the adoption on.
func TestRolesAuthoritativeRemovesHandGiven(t *testing.T) {
	for _, c := range provenanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newRoleFixture(t, roleSchema(c.columns, c.extra), usersTOML, "authoritative = true\n"+c.roles)
			boss, bossKey := c.adopt(t, f)
			if got := c.read(t, f, bossKey); got != c.handOnly {
				t.Fatalf("adopted under authoritative roles: %q, want %q", got, c.handOnly)
			}
			f.group(t, "Admins", boss)
			if got := c.read(t, f, bossKey); got != c.admin {
				t.Fatalf("boss in Admins: %q, want %q", got, c.admin)
			}
			_, bob := f.user(t, "bob")
			if _, err := f.db.Exec(c.grant, bob); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.store.ReconcileRoles(ctx); err != nil {
				t.Fatal(err)
			}
			if got := c.read(t, f, bob); got != c.handOnly {
				t.Errorf("bob's hand-given role after an authoritative reconcile: %q, want %q", got, c.handOnly)
			}
			if got := c.read(t, f, bossKey); got != c.admin {
				t.Errorf("boss (in Admins) after the reconcile: %q, want %q", got, c.admin)
			}
		})
	}
}

// Users from before scimbridge recorded its grants (roles_untracked = 1, as migration 13 leaves them):
// held roles their groups grant count as scimbridge's, the others as given by hand.
func TestRolesUntrackedUsersAfterUpgrade(t *testing.T) {
	c := provenanceCases[0]
	ctx := context.Background()
	f := newRoleFixture(t, roleSchema(c.columns, c.extra), usersTOML, c.roles)
	_, bossKey := c.adopt(t, f)
	carol, carolKey := f.user(t, "carol")
	g := f.group(t, "Admins", carol)
	if _, err := f.db.Exec("DELETE FROM scim_role_grants"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("UPDATE scim_users SET roles_untracked = 1"); err != nil {
		t.Fatal(err)
	}
	// serve's start-up reconcile is the first recompute after the upgrade: it takes the baseline.
	if _, _, err := f.store.ReconcileRoles(ctx); err != nil {
		t.Fatal(err)
	}
	var untracked int
	if err := f.db.Get(&untracked, "SELECT COUNT(*) FROM scim_users WHERE roles_untracked = 1"); err != nil || untracked != 0 {
		t.Errorf("untracked after the reconcile: %d (%v), want 0", untracked, err)
	}
	if err := f.store.DeleteGroup(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	if got := c.read(t, f, carolKey); got != c.none {
		t.Errorf("carol (granted by Admins before the upgrade) after Admins deleted: %q, want %q", got, c.none)
	}
	if got := c.read(t, f, bossKey); got != c.admin {
		t.Errorf("boss (hand-given before the upgrade): %q, want %q", got, c.admin)
	}
}
