package agent_test

// Group -> app role mapping end to end, one app schema per storage shape. Every step asserts the app's
// own rows after the HTTP request that changed the memberships.

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

// rolesSchema is e2eAppSchema's users table with extra columns ("a INT NULL, b INT NULL", or ""),
// followed by extra statements.
func rolesSchema(extraColumns, extraStatements string) string {
	cols := e2eColumns
	if extraColumns != "" {
		cols = append(slices.Clip(cols), extraColumns)
	}
	return legacyapp.UsersTable(cols...) + extraStatements
}

const columnSchemaCols = legacyapp.RoleColumn

const columnRulesTOML = `
store = "column"
column = "role"
%DEFAULT%
%INACTIVE%` + legacyapp.RoleRules + `[[rules]]
group = "Testers"
role = "tester"
priority = 10
[[rules]]
group_external_id = "ext-ops"
role = "support"
priority = 50
`

func columnRoles(def, inactive string) string {
	return strings.NewReplacer("%DEFAULT%", def, "%INACTIVE%", inactive).Replace(columnRulesTOML)
}

// role is the app's role column of a SCIM user.
func (e *e2eEnv) role(scimID string) string {
	e.t.Helper()
	return e.appRow("id = ?", e.appKey(scimID)).str("role")
}

func (e *e2eEnv) wantRole(scimID, want, what string) {
	e.t.Helper()
	if got := e.role(scimID); got != want {
		e.t.Errorf("%s: role = %s, want %s", what, got, want)
	}
}

func (e *e2eEnv) addTo(g string, users ...string) {
	e.t.Helper()
	var vals []string
	for _, u := range users {
		vals = append(vals, `{"value":"`+u+`"}`)
	}
	e.want(e.gpatch(g, `[{"op":"add","path":"members","value":[`+strings.Join(vals, ",")+`]}]`), 200, "add to "+g)
}

func (e *e2eEnv) removeFrom(g string, user string) {
	e.t.Helper()
	e.want(e.gpatch(g, `[{"op":"remove","path":"members[value eq \"`+user+`\"]"}]`), 200, "remove from "+g)
}

// --- 5a. column ---

func TestE2ERolesColumn(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, "")})
	u, bystander := e.newUser("col"), e.newUser("by")
	admins, support, testers := e.newGroup("Admins"), e.newGroup("Support"), e.newGroup("Testers")
	e.newGroup("Unmapped")

	e.addTo(support, u)
	e.wantRole(u, "support", "in Support")
	e.addTo(testers, u)
	e.wantRole(u, "support", "in Support and Testers")
	e.addTo(admins, u)
	e.wantRole(u, "admin", "in Support, Testers and Admins")
	e.removeFrom(admins, u)
	e.wantRole(u, "support", "left Admins")
	e.removeFrom(support, u)
	e.wantRole(u, "tester", "left Support")
	e.removeFrom(testers, u)
	e.wantRole(u, "viewer", "left all")
	if roles, err := e.store.UserRoles(context.Background(), u); err != nil || len(roles) != 0 {
		t.Errorf("UserRoles in no group: %v, %v", roles, err)
	}

	// Rename: a rule on the old name stops applying; renaming back restores it.
	e.addTo(admins, u)
	e.wantRole(u, "admin", "back in Admins")
	e.want(e.gpatch(admins, `[{"op":"replace","path":"displayName","value":"Former Admins"}]`), 200, "rename")
	e.wantRole(u, "viewer", "Admins renamed away")
	e.want(e.gpatch(admins, `[{"op":"replace","value":{"id":"`+admins+`","displayName":"ADMINS"}}]`), 200, "rename back (Okta shape)")
	e.wantRole(u, "admin", "renamed back to ADMINS (rules match case-insensitively)")
	e.want(e.do("PUT", "/Groups/"+admins, groupBody("Nope", "", u)), 200, "PUT rename")
	e.wantRole(u, "viewer", "PUT renamed away")
	e.want(e.do("PUT", "/Groups/"+admins, groupBody("Admins", "", u)), 200, "PUT rename back")
	e.wantRole(u, "admin", "PUT renamed back")

	// Group delete recomputes.
	e.addTo(support, u)
	e.want(e.do("DELETE", "/Groups/"+admins, nil), 204, "delete Admins")
	e.wantRole(u, "support", "Admins deleted")

	// Rule by group_external_id.
	ops := e2eStr(e.want(e.do("POST", "/Groups", groupBody("Operations", "ext-ops", bystander)), 201, "POST ext-ops").Body["id"])
	e.wantRole(bystander, "support", "member of the group with externalId ext-ops")
	e.want(e.gpatch(ops, `[{"op":"replace","path":"externalId","value":"ext-other"}]`), 200, "change externalId")
	e.wantRole(bystander, "viewer", "externalId changed")

	// POST /Groups with members and PUT set roles too.
	sup2 := e2eStr(e.want(e.do("POST", "/Groups", groupBody("support", "", bystander)), 201, "POST support").Body["id"])
	e.wantRole(bystander, "support", "POST group with members")
	e.want(e.do("PUT", "/Groups/"+sup2, groupBody("support", "")), 200, "PUT empty")
	e.wantRole(bystander, "viewer", "PUT emptied")
}

func TestE2ERolesColumnWithoutDefaultIsNull(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles("", "")})
	u := e.newUser("nodef")
	g := e.newGroup("Testers", u)
	e.wantRole(u, "tester", "in Testers")
	e.removeFrom(g, u)
	e.wantRole(u, "<NULL>", "left all, no default")
}

// BUG: a user created through POST /Users is in no group, so its role should be the configured default
// ("viewer"); nothing recomputes roles on create, so the column keeps the table's default (NULL) until
// the user's first membership change or the next start's ReconcileRoles.
func TestRegressionE2ERolesNewUserDoesNotGetDefaultRole(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, "")})
	u := e.newUser("fresh")
	e.wantRole(u, "viewer", "new user in no group")
}

// --- 5b. join ---

const joinSchemaExtra = `
CREATE TABLE roles (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL UNIQUE
) ENGINE=InnoDB;
CREATE TABLE user_roles (
  user_id INT UNSIGNED NOT NULL,
  role_id INT NOT NULL,
  PRIMARY KEY (user_id, role_id),
  CONSTRAINT user_roles_user FOREIGN KEY (user_id) REFERENCES users (id),
  CONSTRAINT user_roles_role FOREIGN KEY (role_id) REFERENCES roles (id)
) ENGINE=InnoDB;
INSERT INTO roles (name) VALUES ('admin'), ('support'), ('tester'), ('viewer');
`

const joinRulesTOML = `
store = "join"
table = "user_roles"
user = "user_id"
role = "role_id"
lookup = { table = "roles", key = "id", name = "name" }
%INACTIVE%
[[rules]]
group = "Admins"
role = "admin"
[[rules]]
group = "Support"
role = "support"
[[rules]]
group = "Testers"
role = "tester"
`

func joinRoles(inactive string) string {
	return strings.Replace(joinRulesTOML, "%INACTIVE%", inactive, 1)
}

// joinRoles are the role names of a SCIM user in user_roles, sorted.
func (e *e2eEnv) joinRoles(scimID string) []string {
	e.t.Helper()
	names := []string{}
	if err := e.db.Select(&names, "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ? ORDER BY r.name",
		e.appKey(scimID)); err != nil {
		e.t.Fatal(err)
	}
	return names
}

func (e *e2eEnv) wantJoin(scimID, what string, want ...string) {
	e.t.Helper()
	if want == nil {
		want = []string{}
	}
	sort.Strings(want)
	if got := e.joinRoles(scimID); !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s: user_roles = %v, want %v", what, got, want)
	}
}

func TestE2ERolesJoin(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra), rolesTOML: joinRoles("")})
	u, other := e.newUser("join"), e.newUser("other")
	// viewer granted by hand in the app: no rule manages it.
	if _, err := e.db.Exec("INSERT INTO user_roles (user_id, role_id) SELECT ?, id FROM roles WHERE name = 'viewer'", e.appKey(u)); err != nil {
		t.Fatal(err)
	}
	admins, support, testers := e.newGroup("Admins"), e.newGroup("Support"), e.newGroup("Testers")
	e.addTo(admins, u)
	e.wantJoin(u, "Admins", "admin", "viewer")
	e.addTo(support, u, other)
	e.wantJoin(u, "Admins+Support", "admin", "support", "viewer")
	e.wantJoin(other, "other in Support", "support")
	e.addTo(testers, u)
	e.wantJoin(u, "all three", "admin", "support", "tester", "viewer")
	e.removeFrom(admins, u)
	e.wantJoin(u, "left Admins", "support", "tester", "viewer")
	e.want(e.gpatch(support, `[{"op":"remove","path":"members"}]`), 200, "empty Support")
	e.wantJoin(u, "Support emptied", "tester", "viewer")
	e.wantJoin(other, "Support emptied")
	e.want(e.do("DELETE", "/Groups/"+testers, nil), 204, "delete Testers")
	e.wantJoin(u, "Testers deleted", "viewer")
	// A managed role granted by hand, without the group, stays: scimbridge did not grant it (issue 13).
	if _, err := e.db.Exec("INSERT INTO user_roles (user_id, role_id) SELECT ?, id FROM roles WHERE name = 'admin'", e.appKey(other)); err != nil {
		t.Fatal(err)
	}
	e.addTo(support, other)
	e.wantJoin(other, "hand-granted admin, joined Support", "admin", "support")
	// Deleting the user takes its managed roles, not the hand-granted one.
	e.addTo(admins, u)
	e.wantJoin(u, "re-added to Admins", "admin", "viewer")
	e.want(e.do("DELETE", "/Users/"+u, nil), 204, "DELETE user")
	var names []string
	_ = e.db.Select(&names, "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users x ON x.id = ur.user_id WHERE x.email = 'join@example.com'")
	if !reflect.DeepEqual(names, []string{"viewer"}) {
		t.Errorf("roles of the deleted user: %v, want [viewer]", names)
	}
	var n int
	_ = e.db.Get(&n, "SELECT COUNT(*) FROM user_roles")
	if n != 3 { // u's viewer, other's hand-granted admin and support
		t.Errorf("user_roles has %d rows, want 3", n)
	}
}

// --- 5c. list ---

func TestE2ERolesList(t *testing.T) {
	for _, sep := range []string{" ", ","} {
		t.Run("separator "+sep, func(t *testing.T) {
			t.Parallel()
			rules := `
store = "list"
column = "roles"
separator = "` + sep + `"` + legacyapp.RoleRules
			e := newE2E(t, e2eOptions{appSchema: rolesSchema("roles VARCHAR(255) NULL", ""), rolesTOML: rules})
			u := e.newUser("list")
			start := "system_user" + sep + "custom_thing"
			if _, err := e.db.Exec("UPDATE users SET roles = ? WHERE id = ?", start, e.appKey(u)); err != nil {
				t.Fatal(err)
			}
			j := func(toks ...string) string { return strings.Join(toks, sep) }
			want := func(what, v string) {
				t.Helper()
				if got := e.appRow("id = ?", e.appKey(u)).str("roles"); got != v {
					t.Errorf("%s: roles = %q, want %q", what, got, v)
				}
			}
			admins, support := e.newGroup("Admins"), e.newGroup("Support")
			e.addTo(admins, u)
			want("Admins", j("system_user", "custom_thing", "admin"))
			e.addTo(support, u)
			want("Admins+Support", j("system_user", "custom_thing", "admin", "support"))
			e.removeFrom(admins, u)
			want("left Admins", j("system_user", "custom_thing", "support"))
			// The app adds a token of its own in the middle: it stays where it is.
			if _, err := e.db.Exec("UPDATE users SET roles = ? WHERE id = ?", j("system_user", "support", "billing", "custom_thing"), e.appKey(u)); err != nil {
				t.Fatal(err)
			}
			e.addTo(admins, u)
			want("Admins again", j("system_user", "support", "billing", "custom_thing", "admin"))
			e.removeFrom(support, u)
			e.removeFrom(admins, u)
			want("left all", j("system_user", "billing", "custom_thing"))
		})
	}
}

// --- 5d. flags ---

func TestE2ERolesFlags(t *testing.T) {
	t.Parallel()
	rules := `
store = "flags"
[[rules]]
group = "Admins"
column = "is_admin"
[[rules]]
group = "Support"
column = "is_support"
`
	e := newE2E(t, e2eOptions{appSchema: rolesSchema("is_admin TINYINT NOT NULL DEFAULT 0, is_support TINYINT NOT NULL DEFAULT 0", ""), rolesTOML: rules})
	u := e.newUser("flags")
	want := func(what string, admin, support string) {
		t.Helper()
		e2eWantCols(t, e.appRow("id = ?", e.appKey(u)), map[string]string{"is_admin": admin, "is_support": support})
		if t.Failed() {
			t.Logf("at %s", what)
		}
	}
	admins, support := e.newGroup("Admins"), e.newGroup("Support")
	want("start", "0", "0")
	e.addTo(admins, u)
	want("Admins", "1", "0")
	e.addTo(support, u)
	want("both", "1", "1")
	e.removeFrom(admins, u)
	want("left Admins", "0", "1")
	e.removeFrom(support, u)
	want("left all", "0", "0")
}

// --- while_inactive ---

func TestE2ERolesWhileInactive(t *testing.T) {
	for _, mode := range []string{"clear", "keep"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra), rolesTOML: joinRoles(`while_inactive = "` + mode + `"`)})
			u := e.newUser("inactive")
			admins := e.newGroup("Admins", u)
			e.wantJoin(u, "active in Admins", "admin")
			e.want(e.patch(u, `[{"op":"replace","path":"active","value":false}]`), 200, "deactivate")
			if mode == "clear" {
				e.wantJoin(u, "deactivated (clear)")
			} else {
				e.wantJoin(u, "deactivated (keep)", "admin")
			}
			// Membership changes while inactive do not grant roles with clear.
			support := e.newGroup("Support", u)
			if mode == "clear" {
				e.wantJoin(u, "joined Support while inactive (clear)")
			} else {
				e.wantJoin(u, "joined Support while inactive (keep)", "admin", "support")
			}
			e.want(e.patch(u, `[{"op":"replace","value":{"active":true}}]`), 200, "reactivate")
			e.wantJoin(u, "reactivated", "admin", "support")
			// PUT deactivation too.
			e.want(e.do("PUT", "/Users/"+u, `{"userName":"inactive@example.com","active":false}`), 200, "PUT inactive")
			if mode == "clear" {
				e.wantJoin(u, "PUT inactive (clear)")
			} else {
				e.wantJoin(u, "PUT inactive (keep)", "admin", "support")
			}
			_, _ = admins, support
		})
	}
}

// --- ReconcileRoles and events ---

type roleEvent struct {
	User string
	Old  []string
	New  []string
}

func (e *e2eEnv) roleEvents(after int64) []roleEvent {
	e.t.Helper()
	var out []roleEvent
	for _, ev := range e.events(after, "user.roles_changed") {
		var p struct {
			Roles    struct{ Old, New []string }
			Resource struct{ ID string }
			AppKey   any `json:"app_user_key"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			e.t.Fatal(err)
		}
		if ev.Subject != "user:"+p.Resource.ID || p.AppKey == nil {
			e.t.Errorf("roles_changed subject %s, resource %s, app key %v", ev.Subject, p.Resource.ID, p.AppKey)
		}
		out = append(out, roleEvent{p.Resource.ID, p.Roles.Old, p.Roles.New})
	}
	return out
}

// Authoritative: the reconcile repairs hand edits (without it they stay: adapters/mysql's
// TestRolesHandGivenSurvive).
func TestE2ERolesReconcileAndEvents(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles("default = \"viewer\"\nauthoritative = true", "")})
	a, b, c := e.newUser("ra"), e.newUser("rb"), e.newUser("rc")
	seq := e.lastSeq()
	admins := e.newGroup("Admins", a)
	support := e.newGroup("Support", a, b)
	e.removeFrom(admins, a)
	// New users got the default role when they were created.
	want := []roleEvent{
		{a, []string{"viewer"}, []string{"admin"}},
		{b, []string{"viewer"}, []string{"support"}},
		{a, []string{"admin"}, []string{"support"}},
	}
	if got := e.roleEvents(seq); !reflect.DeepEqual(got, want) {
		t.Errorf("roles_changed events:\n got %v\nwant %v", got, want)
	}
	_ = support

	// Hand edits, then reconcile: a and b fixed, c (set to NULL by hand, no group) gets the default.
	if _, err := e.db.Exec("UPDATE users SET role = 'admin' WHERE id IN (?, ?)", e.appKey(a), e.appKey(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec("UPDATE users SET role = NULL WHERE id = ?", e.appKey(c)); err != nil {
		t.Fatal(err)
	}
	seq = e.lastSeq()
	checked, changed, err := e.store.ReconcileRoles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if checked != 3 || changed != 3 {
		t.Errorf("ReconcileRoles: checked %d changed %d, want 3 and 3", checked, changed)
	}
	e.wantRole(a, "support", "reconciled a")
	e.wantRole(b, "support", "reconciled b")
	e.wantRole(c, "viewer", "reconciled c")
	evs := e.roleEvents(seq)
	sort.Slice(evs, func(i, j int) bool { return evs[i].User < evs[j].User })
	wantEv := []roleEvent{{a, []string{"admin"}, []string{"support"}}, {b, []string{"admin"}, []string{"support"}}, {c, []string{}, []string{"viewer"}}}
	sort.Slice(wantEv, func(i, j int) bool { return wantEv[i].User < wantEv[j].User })
	if !reflect.DeepEqual(evs, wantEv) {
		t.Errorf("reconcile events:\n got %v\nwant %v", evs, wantEv)
	}
	checked, changed, err = e.store.ReconcileRoles(context.Background())
	if err != nil || checked != 3 || changed != 0 {
		t.Errorf("second ReconcileRoles: %d %d %v, want 3 0", checked, changed, err)
	}
	// A deleted user is not reconciled.
	e.want(e.do("DELETE", "/Users/"+c, nil), 204, "delete c")
	if checked, _, _ = e.store.ReconcileRoles(context.Background()); checked != 2 {
		t.Errorf("reconcile after a delete checked %d, want 2", checked)
	}
}

// --- failures roll memberships and roles back ---

func TestE2ERolesFailureRollsBack(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra), rolesTOML: joinRoles("")})
	ok1, marker, ok2 := e.newUser("ok1"), e.newUser("marker"), e.newUser("ok2")
	admins := e.newGroup("Admins", ok1)
	support := e.newGroup("Support")
	e.wantJoin(ok1, "setup", "admin")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_roles_boom BEFORE INSERT ON user_roles FOR EACH ROW
		IF NEW.user_id = ` + itoa(e.appKey(marker)) + ` THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}
	seq := e.lastSeq()
	etag := e.do("GET", "/Groups/"+support, nil).Header.Get("ETag")
	// ok1 and ok2 sort on both sides of the marker's app key: whichever is applied first is rolled back.
	r := e.gpatch(support, `[{"op":"replace","path":"displayName","value":"Support"},
		{"op":"add","path":"members","value":[{"value":"`+ok1+`"},{"value":"`+marker+`"},{"value":"`+ok2+`"}]}]`)
	e2eWantError(t, r, 500, "")
	if leaks := leaksInternals(r.Raw); len(leaks) > 0 || !strings.HasPrefix(e2eStr(r.Body["detail"]), "internal error (request id ") {
		t.Errorf("500 body leaks %v: %s", leaks, r.Raw)
	}
	e.wantMembers(support, "after failed PATCH")
	e.wantJoin(ok1, "ok1 after failed PATCH", "admin")
	e.wantJoin(ok2, "ok2 after failed PATCH")
	e.wantJoin(marker, "marker after failed PATCH")
	if get := e.do("GET", "/Groups/"+support, nil); get.Header.Get("ETag") != etag {
		t.Errorf("group version moved: %s -> %s", etag, get.Header.Get("ETag"))
	}
	if evs := e.events(seq); len(evs) != 0 {
		t.Errorf("events of a rolled-back PATCH: %d", len(evs))
	}
	// POST and rename fail the same way.
	var groups int
	_ = e.db.Get(&groups, "SELECT COUNT(*) FROM scim_groups")
	e2eWantError(t, e.do("POST", "/Groups", groupBody("Admins", "", ok2, marker)), 500, "")
	var after int
	_ = e.db.Get(&after, "SELECT COUNT(*) FROM scim_groups")
	if after != groups {
		t.Errorf("failed POST left a group")
	}
	e.wantJoin(ok2, "ok2 after failed POST")
	// Without the trigger the same PATCH goes through.
	if _, err := e.db.Exec("DROP TRIGGER e2e_roles_boom"); err != nil {
		t.Fatal(err)
	}
	e.addTo(support, ok1, marker, ok2)
	e.wantJoin(ok1, "ok1 after PATCH", "admin", "support")
	e.wantJoin(marker, "marker after PATCH", "support")
	_ = admins
}

// A trigger on the users table failing for the marker user (column store) rolls everything back too.
func TestE2ERolesFailureOnUsersTableRollsBack(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, "")})
	a, marker := e.newUser("fa"), e.newUser("fmarker")
	admins := e.newGroup("Admins", a)
	e.wantRole(a, "admin", "setup")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_users_boom BEFORE UPDATE ON users FOR EACH ROW
		IF NEW.id = ` + itoa(e.appKey(marker)) + ` AND NOT (NEW.role <=> OLD.role) THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}
	// Rename Admins away (a would lose admin) and add the marker in one PATCH.
	r := e.gpatch(admins, `[{"op":"replace","path":"displayName","value":"Support"},{"op":"add","path":"members","value":["`+marker+`"]}]`)
	e2eWantError(t, r, 500, "")
	if leaks := leaksInternals(r.Raw); len(leaks) > 0 {
		t.Errorf("500 body leaks %v: %s", leaks, r.Raw)
	}
	e.wantMembers(admins, "after failed PATCH", a)
	e.wantRole(a, "admin", "a after failed PATCH")
	e.wantRole(marker, "viewer", "marker after failed PATCH") // the default it got when created
	if n := e.do("GET", "/Groups/"+admins, nil).Body["displayName"]; n != "Admins" {
		t.Errorf("rename applied: %v", n)
	}
	e.want(e.do("DELETE", "/Groups/"+admins, nil), 204, "delete Admins")
	e.wantRole(a, "viewer", "Admins deleted")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// waitLockWaits waits until n statements of the test database are running a locking read (blocked
// behind a row lock held by the test). INNODB_TRX is not used: from the test's session it does not list
// the waiting transactions on this server.
func (e *e2eEnv) waitLockWaits(n int) {
	e.t.Helper()
	got := 0
	for i := 0; i < 250; i++ {
		if err := e.db.Get(&got, `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE()
			AND ID <> CONNECTION_ID() AND COMMAND IN ('Query', 'Execute') AND INFO LIKE '%FOR UPDATE%'`); err != nil {
			e.t.Fatal(err)
		}
		if got >= n {
			time.Sleep(50 * time.Millisecond)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%d statements waiting on a lock, want %d", got, n)
}

// waitSleeping waits until a statement that fired a DO SLEEP(1.5) trigger is running.
func (e *e2eEnv) waitSleeping() {
	e.t.Helper()
	for i := 0; i < 100; i++ {
		var n int
		_ = e.db.Get(&n, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(1.5)%' AND DB = DATABASE()")
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("the trigger never ran")
}

// BUG (race): recompute reads the user's memberships (load) BEFORE it locks the user's app row (current,
// FOR UPDATE). Two PATCHes adding the same user to Admins and to Support at the same time each see only
// their own uncommitted membership, compute one role, then queue on the app row; the second to run
// overwrites the first's role with a stale one. Here an outside transaction holds the app row so both
// PATCHes queue (Admins first, Support second): the user ends in both groups with role "support"
// instead of "admin" (priority 100). Fix: lock the users (scim_users FOR UPDATE, or the app rows) before
// reading memberships; under READ COMMITTED the membership read then sees the other commit.
func TestRegressionE2ERolesConcurrentMembershipChangesLoseARole(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, "")})
	u := e.newUser("racer")
	admins, support := e.newGroup("Admins"), e.newGroup("Support")

	tx, err := e.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() }) // before the server closes, should the test fail early
	if _, err := tx.Exec("SELECT id FROM users WHERE id = ? FOR UPDATE", e.appKey(u)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	res := make([]*e2eResp, 2)
	for i, g := range []string{admins, support} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.do("PATCH", "/Groups/"+g, `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"add","path":"members","value":["`+u+`"]}]}`)
		}()
		e.waitLockWaits(i + 1)
	}
	_ = tx.Rollback()
	wg.Wait()
	for _, r := range res {
		if r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
	}
	e.wantMembers(admins, "admins", u)
	e.wantMembers(support, "support", u)
	e.wantRole(u, "admin", "in Admins and Support after concurrent adds")
}

// BUG (race, same cause): a group rename concurrent with the deactivation of one of its members under
// while_inactive = "clear". The rename reads the member as active, waits on its app row while PATCH
// /Users commits active=false (and clears the role), then writes the role its stale read granted: an
// inactive user holds "admin".
func TestRegressionE2ERolesRenameRaceGrantsRoleToInactiveUser(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, `while_inactive = "clear"`)})
	u := e.newUser("deact")
	g := e.newGroup("Soon Admins", u)
	e.wantRole(u, "viewer", "setup")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_slow_deact BEFORE INSERT ON scim_outbox FOR EACH ROW
		IF NEW.type = 'user.deactivated' THEN DO SLEEP(1.5); END IF`); err != nil {
		t.Fatal(err)
	}
	done := make(chan *e2eResp)
	go func() { done <- e.patch(u, `[{"op":"replace","path":"active","value":false}]`) }()
	e.waitSleeping()
	r := e.gpatch(g, `[{"op":"replace","path":"displayName","value":"Admins"}]`)
	if d := <-done; d.Status != 200 {
		t.Fatalf("deactivate: %s", d)
	}
	if r.Status != 200 {
		t.Fatalf("rename: %s", r)
	}
	if active := e.getUser(u)["active"]; active != false {
		t.Fatalf("user active = %v", active)
	}
	e.wantRole(u, "viewer", "inactive member (clear) after a concurrent rename to Admins")
}

// A group add concurrent with the member's deactivation is serialized by the membership's foreign key
// (the add waits for the deactivation): the inactive user gets no role.
func TestE2ERolesDeactivationConcurrentWithAdd(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra), rolesTOML: joinRoles(`while_inactive = "clear"`)})
	u := e.newUser("deact")
	admins := e.newGroup("Admins")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_slow_deact BEFORE INSERT ON scim_outbox FOR EACH ROW
		IF NEW.type = 'user.deactivated' THEN DO SLEEP(1.5); END IF`); err != nil {
		t.Fatal(err)
	}
	done := make(chan *e2eResp)
	go func() { done <- e.patch(u, `[{"op":"replace","path":"active","value":false}]`) }()
	e.waitSleeping()
	r := e.gpatch(admins, `[{"op":"add","path":"members","value":["`+u+`"]}]`)
	if d := <-done; d.Status != 200 {
		t.Fatalf("deactivate: %s", d)
	}
	if r.Status != 200 {
		t.Fatalf("add: %s", r)
	}
	e.wantJoin(u, "inactive user (clear) after a concurrent add")
}

// BUG: DELETE /Users/{id} recomputes the user's roles once per group it leaves (dropMemberships calls
// emitMembers, hence recompute, inside its loop over the groups), so the outbox gets user.roles_changed
// events for intermediate states that never existed: a user in Admins and Support (admin) being deleted
// is reported as admin -> support, then support -> viewer. A webhook receiver mirroring roles grants
// "support" to a user who is being deleted. Fix: remove every membership first, then recompute once.
// (The groups are named so that dropMemberships, which walks them by id, leaves Admins first.)
func TestRegressionE2ERolesDeleteUserEmitsIntermediateRoles(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{appSchema: rolesSchema(columnSchemaCols, ""), rolesTOML: columnRoles(`default = "viewer"`, "")})
	u := e.newUser("leaving")
	g1, g2 := e.newGroup("G1", u), e.newGroup("G2", u)
	first, second := g1, g2
	if second < first {
		first, second = second, first
	}
	e.want(e.gpatch(first, `[{"op":"replace","path":"displayName","value":"Admins"}]`), 200, "name Admins")
	e.want(e.gpatch(second, `[{"op":"replace","path":"displayName","value":"Support"}]`), 200, "name Support")
	e.wantRole(u, "admin", "in both")
	seq := e.lastSeq()
	e.want(e.do("DELETE", "/Users/"+u, nil), 204, "DELETE user")
	e.wantRole(u, "viewer", "deleted user's app row")
	got := e.roleEvents(seq)
	want := []roleEvent{{u, []string{"admin"}, []string{"viewer"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("roles_changed events of a deleted user:\n got %v\nwant %v", got, want)
	}
}
