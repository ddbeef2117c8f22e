package examples_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// redmineGroup is the Redmine group row of a SCIM group, and its members' user ids, as Redmine reads
// them (Group: type 'Group', name in lastname; Group#users through groups_users).
func redmineGroup(e *example, id string) (map[string]string, []string) {
	e.t.Helper()
	rows := e.rows("SELECT u.* FROM users u JOIN `"+e.cfg.Database.BookkeepingPrefix+"groups` g ON g.app_key = u.id WHERE g.id = ?", id)
	if len(rows) != 1 {
		e.t.Fatalf("Redmine group rows of %s: %v", id, rows)
	}
	var members []string
	for _, r := range e.rows("SELECT user_id FROM groups_users WHERE group_id = ? ORDER BY user_id", rows[0]["id"]) {
		members = append(members, r["user_id"])
	}
	return rows[0], members
}

// TestRedmineOkta: Okta's sequence (POST with displayName, PUT of the whole user, PUT active false, group
// push) leaves rows Redmine loads: a User row with its NOT NULL strings set, status 1 then 3 (locked),
// User#mail the IdP's primary address, the address the user added in Redmine kept through Okta's PUT,
// the group a Redmine group whose member is an administrator.
func TestRedmineOkta(t *testing.T) {
	t.Parallel()
	e := start(t, "redmine")
	body := redmineSpec.user("Ann.Lee@Example.com", "Ann", "Lee", "Engineer", "R&D")
	body["displayName"] = "Ann Lee"
	id, key := create(e, body)
	u := redmineUser(e, key)
	for c, want := range map[string]string{"login": "Ann.Lee@Example.com", "firstname": "Ann", "lastname": "Lee", "status": "1",
		"admin": "0", "hashed_password": "", "mail_notification": "only_my_events", "language": "", "must_change_passwd": "0"} {
		if u[c] != want {
			t.Errorf("after Okta's POST: users.%s = %q, want %q", c, u[c], want)
		}
	}
	if u["created_on"] == "NULL" || u["updated_on"] == "NULL" {
		t.Errorf("after Okta's POST: created_on %s, updated_on %s", u["created_on"], u["updated_on"])
	}
	if got := redmineAddresses(e, key); got != "Ann.Lee@Example.com 1 1" {
		t.Errorf("email_addresses after Okta's POST: %s", got)
	}

	// The user adds an address under "My account > Emails"; Okta's PUT then changes the primary one.
	e.exec("INSERT INTO email_addresses (user_id, address, is_default, notify, created_on, updated_on) VALUES (?, 'ann@home.example', 0, 0, NOW(), NOW())", key)
	body["emails"] = []any{map[string]any{"value": "ann.lee@corp.example", "type": "work", "primary": true}}
	e.must(200, "PUT", "/Users/"+id, body)
	if got := redmineAddresses(e, key); got != "ann.lee@corp.example 1 1, ann@home.example 0 0" {
		t.Errorf("email_addresses after Okta's PUT: %s", got)
	}
	if got := redmineMail(e, key); got != "ann.lee@corp.example" {
		t.Errorf("User#mail after Okta's PUT: %q", got)
	}
	body["active"] = false
	e.must(200, "PUT", "/Users/"+id, body)
	if got := redmineUser(e, key)["status"]; got != "3" {
		t.Errorf("status after Okta's PUT active false: %s, want 3 (locked)", got)
	}
	body["active"] = true
	e.must(200, "PUT", "/Users/"+id, body)

	admins := giteaGroup(e, "Redmine Admins", id)
	g, members := redmineGroup(e, admins)
	if g["type"] != "Group" || g["lastname"] != "Redmine Admins" || g["status"] != "1" || g["login"] != "" || g["created_on"] == "NULL" {
		t.Errorf("the Redmine group row: %v", g)
	}
	if len(members) != 1 || members[0] != key {
		t.Errorf("groups_users of Redmine Admins: %v, want [%s]", members, key)
	}
	if got := redmineUser(e, key)["admin"]; got != "1" {
		t.Errorf("admin in Redmine Admins: %s", got)
	}
	e.must(200, "PATCH", "/Groups/"+admins, patchBody(op("replace", "members", []any{})))
	if _, members := redmineGroup(e, admins); len(members) != 0 || redmineUser(e, key)["admin"] != "0" {
		t.Errorf("after Okta emptied Redmine Admins: members %v, admin %s", members, redmineUser(e, key)["admin"])
	}
	// The group is no user: it is not listed, and its row is not adopted by a POST of its name.
	if r := e.must(200, "GET", "/Users", nil); r.Body["totalResults"] != float64(1) {
		t.Errorf("users listed: %s", r)
	}
}

// TestRedmineEntra: Entra's sequence (POST without displayName, Replace with "False"/"True" strings, the
// work email changed by a value path) locks and unlocks the account and replaces Redmine's default
// address rather than appending a second one.
func TestRedmineEntra(t *testing.T) {
	t.Parallel()
	e := start(t, "redmine")
	id, key := create(e, map[string]any{"schemas": []string{userSchema}, "userName": "bob@example.com", "externalId": "e-1",
		"name": map[string]any{"givenName": "Bob", "familyName": "Ng"}, "active": true,
		"emails": []any{map[string]any{"value": "bob@example.com", "type": "work", "primary": true}}})
	mustPatch(e, id, op("Replace", "active", "False"))
	if got := redmineUser(e, key)["status"]; got != "3" {
		t.Errorf("status after Entra's Replace active False: %s", got)
	}
	mustPatch(e, id, op("Replace", "", map[string]any{"active": "True", "name.familyName": "Ng-Park"}))
	if u := redmineUser(e, key); u["status"] != "1" || u["lastname"] != "Ng-Park" {
		t.Errorf("after Entra's Replace active True: status %s, lastname %s", u["status"], u["lastname"])
	}
	mustPatch(e, id, op("Replace", "userName", "robert@example.com"), op("Replace", `emails[type eq "work"].value`, "robert@example.com"))
	if got := redmineAddresses(e, key); got != "robert@example.com 1 1" {
		t.Errorf("email_addresses after Entra's change of the work email: %s, want the default address replaced", got)
	}
	if got := redmineUser(e, key)["login"]; got != "robert@example.com" {
		t.Errorf("login after Entra's rename: %s", got)
	}
	// Entra removes the names: Redmine's NOT NULL DEFAULT '' columns get '', not NULL.
	mustPatch(e, id, op("Remove", "name.givenName", nil), op("Remove", "name.familyName", nil))
	if u := redmineUser(e, key); u["firstname"] != "" || u["lastname"] != "" {
		t.Errorf("names after Entra removed them: %q %q", u["firstname"], u["lastname"])
	}
	wantFind(t, e, `emails.value eq "robert@example.com"`, id)
	// Redmine keeps no type: scimbridge's document has it per address, and filters on it find the row.
	wantFind(t, e, `emails[type eq "work" and value eq "robert@example.com"]`, id)
	wantFind(t, e, `emails[type eq "home"]`)
	wantFind(t, e, `emails[type eq "work" and value eq "bob@example.com"]`)
}

// TestRedmineSetupAdmin: the admin account Redmine's setup made (login admin, admin = 1) is adopted by a
// POST of its login, never duplicated, even by concurrent POSTs (users.login has no unique index); its
// hand-given admin survives a restart and the IdP group that granted admin too going away.
func TestRedmineSetupAdmin(t *testing.T) {
	t.Parallel()
	e := start(t, "redmine")
	if rep, err := schemacheck.CheckGroupMirror(context.Background(), e.db, e.cfg.GroupsMapping().MirrorMapping()); err != nil || len(rep.Problems) > 0 {
		t.Fatalf("scimbridge check of [groups.mirror]: %v %v", rep.Problems, err)
	}
	statuses := make([]int, 8)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			u := redmineSpec.user("admin", "Redmine", "Admin", "", "")
			u["emails"] = []any{map[string]any{"value": "admin@corp.example", "type": "work", "primary": true}}
			statuses[i] = e.do("POST", "/Users", u).Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
		default:
			t.Errorf("concurrent POST of admin: %d", s)
		}
	}
	if n := len(e.rows("SELECT id FROM users WHERE login = 'admin'")); created != 1 || n != 1 {
		t.Fatalf("%d POSTs of admin answered 201 (%v), %d users rows with login admin; want 1 and 1", created, statuses, n)
	}
	admin := e.rows("SELECT b.id FROM `" + e.cfg.Database.BookkeepingPrefix + "users` b WHERE b.app_id = 1")
	if len(admin) != 1 {
		t.Fatalf("the setup's admin (id 1) is not the adopted user: %v", e.rows("SELECT id, login FROM users"))
	}
	adminID := admin[0]["id"]
	ann, annKey := create(e, redmineSpec.user("ann@example.com", "Ann", "Lee", "", ""))
	admins := giteaGroup(e, "Redmine Admins", adminID, ann)
	restarted := mysql.New(e.db, e.cfg.UsersMapping(), mysql.Options{Prefix: e.cfg.Database.BookkeepingPrefix, Log: testfix.Log(t),
		Roles: e.cfg.RolesMapping(), MoreRoles: e.cfg.MoreRoleStores()})
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.must(204, "DELETE", "/Groups/"+admins, nil)
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := redmineUser(e, "1")["admin"]; got != "1" {
		t.Errorf("the setup's admin after a restart and Redmine Admins deleted: admin %s, want the hand-given 1", got)
	}
	if got := redmineUser(e, annKey)["admin"]; got != "0" {
		t.Errorf("ann after Redmine Admins deleted: admin %s", got)
	}
	// The IdP's address is the one Redmine mails; the setup's stays, no longer the default (Redmine
	// mails exactly one).
	if got := redmineAddresses(e, "1"); got != "admin@corp.example 1 1, admin@example.net 0 1" {
		t.Errorf("the setup admin's addresses: %s", got)
	}
	if n := len(e.rows("SELECT 1 FROM users WHERE type = 'Group' AND lastname = 'Redmine Admins'")); n != 0 {
		t.Errorf("the deleted group's Redmine row stays")
	}
}

// TestRedminePrincipalsUntouched: the built-in groups and a group made in Redmine, with its members,
// are never SCIM users and never change when SCIM groups and users do.
func TestRedminePrincipalsUntouched(t *testing.T) {
	t.Parallel()
	e := start(t, "redmine")
	e.exec("INSERT INTO users (id, lastname, status, type, created_on, updated_on) VALUES (10, 'Developers', 1, 'Group', NOW(), NOW())")
	e.exec("INSERT INTO groups_users (group_id, user_id) VALUES (10, 1)")
	before := e.dump("users", "groups_users")
	id, _ := create(e, redmineSpec.user("dev@example.com", "Dev", "One", "", ""))
	g := giteaGroup(e, "Developers", id) // the same name as Redmine's own group: a second group row
	e.must(200, "PATCH", "/Groups/"+g, patchBody(op("replace", "displayName", "Developers (IdP)")))
	e.must(204, "DELETE", "/Groups/"+g, nil)
	e.must(204, "DELETE", "/Users/"+id, nil)
	for _, r := range e.rows("SELECT * FROM users WHERE id <= 10") {
		if r["type"] == "User" && r["id"] != "1" {
			t.Errorf("unexpected user row %v", r)
		}
	}
	after := e.dump("users", "groups_users")
	for _, line := range []string{`"lastname":"Developers"`, `"lastname":"Anonymous users"`, `"lastname":"Non member users"`, `{"group_id":"10","user_id":"1"}`} {
		if !strings.Contains(before, line) || !strings.Contains(after, line) {
			t.Errorf("Redmine's own %s changed:\nbefore %s\nafter  %s", line, before, after)
		}
	}
	wantFind(t, e, `userName eq "admin"`)
}
