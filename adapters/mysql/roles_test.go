package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// roleSchema is appSchema's users table with extra columns, then extra statements.
func roleSchema(extraColumns, extraStatements string) string {
	return strings.Replace(appSchema, "  UNIQUE KEY email (email)", "  "+extraColumns+"\n  UNIQUE KEY email (email)", 1) + extraStatements
}

type roleFixture struct {
	store *mysql.Store
	db    *sqlx.DB
}

// newRoleFixture builds a store with a role mapping (rolesTOML may be "" for none) on its own schema.
func newRoleFixture(t *testing.T, schema, usersText, rolesTOML string) *roleFixture {
	t.Helper()
	store, db, _ := testfix.Store(t, 10, schema, usersText, mysql.Options{Roles: testfix.Roles(t, rolesTOML)})
	return &roleFixture{store: store, db: db}
}

// newRoleFixtureOn is a store on an existing, migrated database: a restart of scimbridge.
func newRoleFixtureOn(t *testing.T, db *sqlx.DB, usersText, rolesTOML string) *roleFixture {
	t.Helper()
	return &roleFixture{store: mysql.New(db, testfix.Users(t, usersText), mysql.Options{Roles: testfix.Roles(t, rolesTOML)}), db: db}
}

func (f *roleFixture) user(t *testing.T, name string) (id string, key int64) {
	t.Helper()
	r, err := f.store.CreateUser(context.Background(), resource(t, `{"userName":"`+name+`@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id = r["id"].(string)
	if err := f.db.Get(&key, "SELECT app_id FROM scim_users WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return id, key
}

func (f *roleFixture) group(t *testing.T, name string, members ...string) string {
	t.Helper()
	var ms []scim.Member
	for _, m := range members {
		ms = append(ms, scim.Member{Value: m})
	}
	g, err := f.store.CreateGroup(context.Background(), scim.Resource{"schemas": []any{scim.GroupSchema}, "displayName": name}, ms)
	if err != nil {
		t.Fatal(err)
	}
	return g["id"].(string)
}

const storeColumnRoles = `
store = "column"
column = "role"
default = "viewer"
[[rules]]
group = "Admins"
role = "admin"
priority = 100
[[rules]]
group = "Support"
role = "support"
priority = 50
`

const storeJoinExtra = `
CREATE TABLE roles (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE user_roles (
  user_id INT UNSIGNED NOT NULL,
  role_id INT NOT NULL,
  PRIMARY KEY (user_id, role_id),
  CONSTRAINT user_roles_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT user_roles_role FOREIGN KEY (role_id) REFERENCES roles (id)
) ENGINE=InnoDB;
INSERT INTO roles (name) VALUES ('admin'), ('support'), ('viewer');
`

const storeJoinRoles = `
store = "join"
table = "user_roles"
user = "user_id"
role = "role_id"
lookup = { table = "roles", key = "id", name = "name" }
[[rules]]
group = "Admins"
role = "admin"
[[rules]]
group = "Support"
role = "support"
`

// ReconcileRoles walks every live user in batches (1000 per transaction) and counts only real changes.
// Authoritative: the values the app set by hand are repaired (without it they stay, see
// TestRolesHandGivenSurvive).
func TestReconcileRolesBatchesAndCounts(t *testing.T) {
	f := newRoleFixture(t, roleSchema("role VARCHAR(32) NULL,", ""), usersTOML, "authoritative = true\n"+storeColumnRoles)
	ctx := context.Background()
	const n, writers = 2345, 8
	// Created by several writers at once: one at a time, the commits alone take minutes on a busy machine.
	docs := make([]scim.Resource, n)
	for i := range docs {
		docs[i] = resource(t, fmt.Sprintf(`{"userName":"u%05d@example.com"}`, i))
	}
	ids, errs := make([]string, n), make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n && errs[w] == nil; i += writers {
				var r scim.Resource
				if r, errs[w] = f.store.CreateUser(ctx, docs[i]); errs[w] == nil {
					ids[i] = r["id"].(string)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	f.group(t, "Admins", ids[:1200]...)
	f.group(t, "Support", ids[1000:1500]...)
	// Every user in no group gets the default on the first reconcile (see the roles bug on create).
	checked, _, err := f.store.ReconcileRoles(ctx)
	if err != nil || checked != n {
		t.Fatalf("first reconcile: checked %d, %v", checked, err)
	}
	count := func(role string) int {
		var c int
		_ = f.db.Get(&c, "SELECT COUNT(*) FROM users WHERE role <=> ?", role)
		return c
	}
	if a, s, v := count("admin"), count("support"), count("viewer"); a != 1200 || s != 300 || v != n-1500 {
		t.Fatalf("after reconcile: admin %d support %d viewer %d", a, s, v)
	}
	res, err := f.db.Exec("UPDATE users SET role = 'tester' WHERE id % 7 = 0")
	if err != nil {
		t.Fatal(err)
	}
	messed, _ := res.RowsAffected()
	var before int
	_ = f.db.Get(&before, "SELECT COUNT(*) FROM scim_outbox WHERE type = 'user.roles_changed'")
	start := time.Now()
	checked, changed, err := f.store.ReconcileRoles(ctx)
	t.Logf("ReconcileRoles over %d users: %s", n, time.Since(start))
	if err != nil || checked != n || changed != int(messed) {
		t.Errorf("reconcile: checked %d changed %d err %v; want %d %d", checked, changed, err, n, messed)
	}
	var after int
	_ = f.db.Get(&after, "SELECT COUNT(*) FROM scim_outbox WHERE type = 'user.roles_changed'")
	if after-before != int(messed) {
		t.Errorf("%d roles_changed events for %d changes", after-before, messed)
	}
	if count("tester") != 0 || count("admin") != 1200 {
		t.Errorf("not repaired: tester %d admin %d", count("tester"), count("admin"))
	}
	var steps []string
	if _, changed, _ = f.store.ReconcileRolesProgress(ctx, func(done, total int) { steps = append(steps, fmt.Sprintf("%d/%d", done, total)) }); changed != 0 {
		t.Errorf("third reconcile changed %d", changed)
	}
	if got := strings.Join(steps, " "); got != "1000/2345 2000/2345 2345/2345" {
		t.Errorf("progress after each batch: %s", got)
	}
}

func TestUserRoles(t *testing.T) {
	f := newRoleFixture(t, roleSchema("role VARCHAR(32) NULL,", ""), usersTOML, storeColumnRoles)
	a, _ := f.user(t, "ur")
	f.group(t, "support", a)
	f.group(t, "ADMINS", a)
	got, err := f.store.UserRoles(context.Background(), a)
	if err != nil || !reflect.DeepEqual(got, []string{"admin", "support"}) {
		t.Errorf("UserRoles = %v, %v", got, err)
	}
	none := newRoleFixture(t, appSchema, usersTOML, "")
	b, _ := none.user(t, "nr")
	if got, err := none.store.UserRoles(context.Background(), b); got != nil || err != nil {
		t.Errorf("UserRoles without a mapping = %v, %v", got, err)
	}
	if c, ch, err := none.store.ReconcileRoles(context.Background()); c != 0 || ch != 0 || err != nil {
		t.Errorf("ReconcileRoles without a mapping = %d %d %v", c, ch, err)
	}
}

// The join store with a string app key (UUID made by scimbridge) and a role lookup by name.
func TestRolesJoinWithStringKeys(t *testing.T) {
	schema := "CREATE TABLE accounts (`uid` CHAR(36) NOT NULL PRIMARY KEY, login VARCHAR(190) NOT NULL UNIQUE, enabled TINYINT NOT NULL DEFAULT 1) ENGINE=InnoDB;\n" +
		"CREATE TABLE perms (code VARCHAR(20) NOT NULL PRIMARY KEY, label VARCHAR(50) NOT NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE account_perms (account CHAR(36) NOT NULL, perm VARCHAR(20) NOT NULL, PRIMARY KEY (account, perm)) ENGINE=InnoDB;\n" +
		"INSERT INTO perms VALUES ('A', 'admin'), ('S', 'support'), ('L', 'legacy');\n"
	users := `
table = "accounts"
key = "uid"
key_generation = "uuid"
[columns]
login = "userName"
enabled = { from = "active", map = { true = 1, false = 0 } }
`
	roles := `
store = "join"
table = "account_perms"
user = "account"
role = "perm"
lookup = { table = "perms", key = "code", name = "label" }
[[rules]]
group = "Admins"
role = "admin"
[[rules]]
group = "Support"
role = "support"
`
	f := newRoleFixture(t, schema, users, roles)
	ctx := context.Background()
	r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"s@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id := r["id"].(string)
	var key string
	if err := f.db.Get(&key, "SELECT app_key FROM scim_users WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("INSERT INTO account_perms VALUES (?, 'L')", key); err != nil {
		t.Fatal(err)
	}
	perms := func() []string {
		var p []string
		_ = f.db.Select(&p, "SELECT perm FROM account_perms WHERE account = ? ORDER BY perm", key)
		return p
	}
	g := f.group(t, "Admins", id)
	if got := perms(); !reflect.DeepEqual(got, []string{"A", "L"}) {
		t.Errorf("after Admins: %v", got)
	}
	s := f.group(t, "Support", id)
	if got := perms(); !reflect.DeepEqual(got, []string{"A", "L", "S"}) {
		t.Errorf("after Support: %v", got)
	}
	if err := f.store.DeleteGroup(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateGroup(ctx, s, func(cur scim.Resource) (scim.Resource, error) { return cur, nil },
		scim.MemberChange{Replace: true}, false); err != nil {
		t.Fatal(err)
	}
	if got := perms(); !reflect.DeepEqual(got, []string{"L"}) {
		t.Errorf("after leaving all: %v", got)
	}
}

// Flags in BIT(1) and BOOLEAN columns are read and written like TINYINT ones.
func TestRolesFlagsBitAndBoolean(t *testing.T) {
	f := newRoleFixture(t, roleSchema("is_admin BIT(1) NOT NULL DEFAULT b'0', is_support BOOLEAN NOT NULL DEFAULT FALSE,", ""), usersTOML, `
store = "flags"
[[rules]]
group = "Admins"
column = "is_admin"
[[rules]]
group = "Support"
column = "is_support"
`)
	ctx := context.Background()
	id, key := f.user(t, "bits")
	flags := func() string {
		var a, s int
		_ = f.db.QueryRow("SELECT is_admin + 0, is_support FROM users WHERE id = ?", key).Scan(&a, &s)
		return fmt.Sprint(a, s)
	}
	g := f.group(t, "Admins", id)
	if got := flags(); got != "1 0" {
		t.Errorf("Admins: %s", got)
	}
	f.group(t, "Support", id)
	if got := flags(); got != "1 1" {
		t.Errorf("both: %s", got)
	}
	if err := f.store.DeleteGroup(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	if got := flags(); got != "0 1" {
		t.Errorf("Admins deleted: %s", got)
	}
	if _, ch, err := f.store.ReconcileRoles(ctx); ch != 0 || err != nil {
		t.Errorf("reconcile after consistent flags changed %d (%v)", ch, err)
	}
}

// A role a rule names but the roles table lacks makes every membership change fail as a whole.
func TestRolesJoinMissingRoleRollsBack(t *testing.T) {
	f := newRoleFixture(t, roleSchema("", strings.Replace(storeJoinExtra, "('admin'), ", "", 1)), usersTOML, storeJoinRoles)
	id, _ := f.user(t, "missing")
	_, err := f.store.CreateGroup(context.Background(), scim.Resource{"displayName": "Support"}, []scim.Member{{Value: id}})
	if err == nil {
		t.Fatal("membership change with a missing role succeeded")
	}
	if se := scim.AsError(err); se.Status != 500 || strings.Contains(se.Detail, "admin") {
		t.Errorf("error %d %q", se.Status, se.Detail)
	}
	var n int
	_ = f.db.Get(&n, "SELECT (SELECT COUNT(*) FROM scim_groups) + (SELECT COUNT(*) FROM scim_group_members) + (SELECT COUNT(*) FROM user_roles)")
	if n != 0 {
		t.Errorf("%d rows left behind", n)
	}
}

// BUG: recompute does not skip users whose app row is gone (the app deleted its user; the bookkeeping row
// and the memberships stay, GET answers 404). current() finds no row for them, so:
//   - join store: applyJoin INSERTs user_roles rows for the missing key; with the app's foreign key this
//     fails, and ReconcileRoles -- run at every start -- returns the error: scimbridge refuses to start
//     ("reconciling roles: ..."); renaming or deleting any group the orphan is in answers 500 too. Without a
//     foreign key it writes orphan rows into the app's table.
//   - column store with a default: the UPDATE hits no row, yet the user counts as changed and a
//     user.roles_changed event is written on every reconcile, forever.
//
// Fix: in apply/recomputeCount, skip users absent from current() (no app row), and do not count them.
func TestRegressionReconcileRolesUserWithoutAppRow(t *testing.T) {
	t.Run("join", func(t *testing.T) {
		f := newRoleFixture(t, roleSchema("", storeJoinExtra), usersTOML, storeJoinRoles)
		ctx := context.Background()
		a, keyA := f.user(t, "orphan")
		b, _ := f.user(t, "fine")
		f.group(t, "Admins", a, b)
		g := f.group(t, "Staff", a)
		// The app deletes its user (its own roles first, for its foreign key).
		for _, q := range []string{"DELETE FROM user_roles WHERE user_id = ?", "DELETE FROM users WHERE id = ?"} {
			if _, err := f.db.Exec(q, keyA); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := f.store.ReconcileRoles(ctx); err != nil {
			t.Errorf("ReconcileRoles fails (scimbridge would not start): %v", err)
		}
		if _, err := f.store.UpdateGroup(ctx, g, func(cur scim.Resource) (scim.Resource, error) {
			cur["displayName"] = "Support"
			return cur, nil
		}, scim.MemberChange{}, false); err != nil {
			t.Errorf("renaming a group with an orphan member fails: %v", err)
		}
	})
	t.Run("column", func(t *testing.T) {
		f := newRoleFixture(t, roleSchema("role VARCHAR(32) NULL,", ""), usersTOML, storeColumnRoles)
		ctx := context.Background()
		_, keyA := f.user(t, "orphan")
		f.user(t, "fine")
		if _, _, err := f.store.ReconcileRoles(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec("DELETE FROM users WHERE id = ?", keyA); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			_, changed, err := f.store.ReconcileRoles(ctx)
			if err != nil || changed != 0 {
				t.Errorf("reconcile %d with an orphan bookkeeping row: changed %d (%v), want 0", i+1, changed, err)
			}
		}
		var events int
		_ = f.db.Get(&events, "SELECT COUNT(*) FROM scim_outbox WHERE type = 'user.roles_changed' AND JSON_VALUE(payload, '$.app_user_key') = ?", keyA)
		if events > 1 {
			t.Errorf("%d user.roles_changed events for a user without an app row", events)
		}
	})
}

// With [roles], a user's roles are not in its document: a filter on them is refused rather than
// matching nobody; without [roles], roles are a stored attribute like any other and stay filterable.
func TestRolesFilterRefusedWhenRolesAreTheApps(t *testing.T) {
	ctx := context.Background()
	f := newRoleFixture(t, roleSchema("role VARCHAR(32) NULL,", ""), usersTOML, storeColumnRoles)
	for _, filter := range []string{`roles.value eq "admin"`, `roles[value eq "admin"]`, `userName pr and roles pr`} {
		e, err := scim.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 10, Filter: e})
		if se := scim.AsError(err); se == nil || se.Status != 400 || se.ScimType != scim.TypeInvalidFilter {
			t.Errorf("%s with [roles]: %v, want 400 invalidFilter", filter, err)
		}
	}
	plain := newRoleFixture(t, roleSchema("role VARCHAR(32) NULL,", ""), usersTOML, "")
	e, _ := scim.ParseFilter(`roles.value eq "admin"`)
	if _, err := plain.store.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 10, Filter: e}); err != nil {
		t.Errorf("without [roles]: %v, want the filter to run", err)
	}
}
