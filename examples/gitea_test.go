package examples_test

// Tests of examples/gitea: Gitea's user table, shared with organisations (type 1) and bots. Assertions
// read the row as Gitea's models/user does: every string column non-NULL (Gitea scans into plain
// strings), lower_name = strings.ToLower(name), an account usable while is_active = 1 and
// prohibit_login = 0, an admin while is_admin = 1. Gitea has no column for name parts, title,
// department or phone numbers: scimbridge keeps them in its bookkeeping document.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

func TestGiteaSuite(t *testing.T) { runSuite(t, giteaSpec) }

// giteaStrings are the user columns Gitea scans into Go strings.
var giteaStrings = []string{"lower_name", "name", "full_name", "email", "passwd", "passwd_hash_algo", "login_name",
	"location", "website", "rands", "salt", "language", "description", "avatar", "avatar_email", "theme", "diff_view_style"}

// giteaInsert inserts a user row as Gitea's xorm does, every string column given (” when empty): v are
// lower_name, name, full_name, email, passwd, login_name, type, is_active, is_admin, prohibit_login and
// avatar_email.
func giteaInsert(e *example, v ...any) {
	e.t.Helper()
	e.exec("INSERT INTO `user` (lower_name, name, full_name, email, passwd, login_name, type, is_active, is_admin, prohibit_login, avatar_email, "+
		"avatar, location, website, rands, salt, language, description, created_unix, updated_unix) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', 'rands', 'salt', '', '', 1577836800, 1577836800)", v...)
}

func giteaUser(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT * FROM `user` WHERE id = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("user rows for %s: %v", key, rows)
	}
	return rows[0]
}

// giteaLoadable fails unless Gitea can load the row: no NULL string, lower_name = lower(name), and
// name free of the '@' Gitea's user names forbid.
func giteaLoadable(e *example, what string, u map[string]string) {
	e.t.Helper()
	for _, c := range giteaStrings {
		if u[c] == "NULL" {
			e.t.Errorf("%s: user.%s is NULL: Gitea scans it into a string and cannot load the user", what, c)
		}
	}
	if u["lower_name"] != strings.ToLower(u["name"]) || strings.Contains(u["name"], "@") {
		e.t.Errorf("%s: name %q, lower_name %q", what, u["name"], u["lower_name"])
	}
}

// giteaDoc is the attribute at a PATCH path in scimbridge's bookkeeping document of the user with app
// key key: where Gitea's example keeps what the user table has no column for.
func giteaDoc(e *example, key, path string) string {
	e.t.Helper()
	rows := e.rows("SELECT doc FROM `"+e.cfg.Database.BookkeepingPrefix+"users` WHERE app_id = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("bookkeeping rows for %s: %v", key, rows)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(rows[0]["doc"]), &doc); err != nil {
		e.t.Fatalf("document of %s: %v", key, err)
	}
	var v any
	switch path {
	case pGiven:
		v = at(doc, "name", "givenName")
	case pFamily:
		v = at(doc, "name", "familyName")
	case pTitle:
		v = at(doc, "title")
	case pDept:
		v = at(doc, enterprise, "department")
	case pPhone:
		list, _ := doc["phoneNumbers"].([]any)
		for _, p := range list {
			if m, _ := p.(map[string]any); m["type"] == "work" {
				v = m["value"]
			}
		}
	default:
		e.t.Fatalf("no place for %s", path)
	}
	s, _ := v.(string)
	return s
}

var giteaSpec = exampleSpec{
	dir: "gitea",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := kvUser(userName, given, family, title)
		if dept == "" {
			delete(u, enterprise)
		} else {
			u[enterprise] = map[string]any{"department": dept}
		}
		return u
	},
	value: func(e *example, key, path string) string {
		giteaLoadable(e, "user "+key, giteaUser(e, key))
		return giteaDoc(e, key, path)
	},
	active: func(e *example, key string) bool {
		u := giteaUser(e, key)
		if (u["is_active"] == "1") != (u["prohibit_login"] == "0") {
			e.t.Errorf("user %s: is_active %s but prohibit_login %s", key, u["is_active"], u["prohibit_login"])
		}
		return u["is_active"] == "1" && u["prohibit_login"] == "0"
	},
	content: func(e *example, key string) string {
		u := giteaUser(e, key)
		delete(u, "is_active")
		delete(u, "prohibit_login")
		delete(u, "updated_unix")
		return fmt.Sprint(u)
	},
	seedApp: func(e *example, key string) {
		e.exec("UPDATE `user` SET theme = 'gitea-dark', diff_view_style = 'unified', location = 'Oslo', website = 'https://ann.example', description = 'Writes Go', num_repos = 3, avatar = 'a1b2c3' WHERE id = ?", key)
	},
	appData: func(e *example, key string) string {
		u := giteaUser(e, key)
		return strings.Join([]string{u["theme"], u["diff_view_style"], u["location"], u["website"], u["description"], u["num_repos"], u["avatar"]}, " ") +
			fmt.Sprint(e.rows("SELECT email, is_primary FROM email_address WHERE uid = ? AND email LIKE '%home.example' ORDER BY id", key))
	},
	appWords: []string{"gitea-dark", "unified", "Oslo", "ann.example", "Writes Go", "a1b2c3"},
	kept:     []string{pGiven, pFamily, pTitle, pDept, pPhone},
	edit: func(e *example, key, path, value string) {
		e.t.Fatalf("Gitea has no column for %s", path)
	},
	adopt: func(e *example, userName string) string {
		giteaInsert(e, "dana", "Dana", "Dana (app)", userName, "pbkdf2$x", "", 0, 0, 0, 1, userName)
		key := e.rows("SELECT id FROM `user` WHERE lower_name = 'dana'")[0]["id"]
		e.exec("INSERT INTO email_address (uid, email, lower_email, is_activated, is_primary) VALUES (?, ?, LOWER(?), 1, 1), (?, 'dana@home.example', 'dana@home.example', 1, 0)", key, userName, userName, key)
		return key
	},
	// Most of a Gitea user lives in scimbridge's document: the triggers are on scimbridge's own users
	// table, so a request fails after it wrote (or would have written) the user row.
	failWrites: []string{
		"CREATE TRIGGER scim_users_no_insert BEFORE INSERT ON scim_users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER scim_users_no_update BEFORE UPDATE ON scim_users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}

// giteaWantEmails fails unless the user's email_address rows (primary first) are want and the primary one
// is user.email, as Gitea keeps them.
func giteaWantEmails(e *example, what, key, want string) {
	e.t.Helper()
	rows := e.rows("SELECT email, lower_email, is_activated, is_primary FROM email_address WHERE uid = ? ORDER BY is_primary DESC, id", key)
	if got := fmt.Sprint(rows); got != want {
		e.t.Errorf("%s: email_address rows %s, want %s", what, got, want)
	}
	for _, r := range rows {
		if r["is_primary"] == "1" && r["lower_email"] != giteaUser(e, key)["email"] {
			e.t.Errorf("%s: the primary address %s is not user.email %s", what, r["lower_email"], giteaUser(e, key)["email"])
		}
	}
}

func giteaGroup(e *example, name string, members ...string) string {
	e.t.Helper()
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name, "members": ms})
	id, _ := g.Body["id"].(string)
	return id
}

// TestGiteaOkta: Okta's sequence (POST with displayName, PUT of the whole user, PUT active false, group
// push) leaves rows Gitea loads: login from the email's local part, lower_name = lower(name), no NULL
// string, is_active/prohibit_login following active, is_admin following Gitea Admins.
func TestGiteaOkta(t *testing.T) {
	t.Parallel()
	e := start(t, "gitea")
	body := giteaSpec.user("Ann.Lee@Example.com", "Ann", "Lee", "Engineer", "R&D")
	body["displayName"] = "Ann Lee"
	id, key := create(e, body)
	u := giteaUser(e, key)
	giteaLoadable(e, "after Okta's POST", u)
	for c, want := range map[string]string{"name": "ann.lee", "lower_name": "ann.lee", "email": "ann.lee@example.com",
		"login_name": "Ann.Lee@Example.com", "full_name": "Ann Lee", "type": "0", "is_active": "1", "prohibit_login": "0",
		"is_admin": "0", "passwd": "", "visibility": "0", "max_repo_creation": "-1", "allow_create_organization": "1"} {
		if u[c] != want {
			t.Errorf("after Okta's POST: user.%s = %q, want %q", c, u[c], want)
		}
	}
	giteaWantEmails(e, "after Okta's POST", key, "[map[email:Ann.Lee@Example.com is_activated:1 is_primary:1 lower_email:ann.lee@example.com]]")
	if got := at(e.must(200, "GET", "/Users/"+id, nil).Body, "userName"); got != "Ann.Lee@Example.com" {
		t.Errorf("userName on the wire: %#v", got)
	}

	body["active"] = false
	e.must(200, "PUT", "/Users/"+id, body)
	if u := giteaUser(e, key); u["is_active"] != "0" || u["prohibit_login"] != "1" || u["full_name"] != "Ann Lee" {
		t.Errorf("after Okta's PUT active false: %v", u)
	}
	body["active"] = true
	delete(body, "displayName")
	e.must(200, "PUT", "/Users/"+id, body)
	u = giteaUser(e, key)
	giteaLoadable(e, "after a PUT without displayName", u)
	if u["is_active"] != "1" || u["prohibit_login"] != "0" || u["full_name"] != "" {
		t.Errorf("after Okta's PUT active true without displayName: %v", u)
	}

	admins := giteaGroup(e, "Gitea Admins", id)
	if got := giteaUser(e, key)["is_admin"]; got != "1" {
		t.Errorf("is_admin in Gitea Admins: %s", got)
	}
	e.must(200, "PATCH", "/Groups/"+admins, patchBody(op("remove", `members[value eq "`+id+`"]`, nil)))
	if got := giteaUser(e, key)["is_admin"]; got != "0" {
		t.Errorf("is_admin out of Gitea Admins: %s", got)
	}
}

// TestGiteaEntra: Entra's sequence (POST without displayName, no-path PATCHes with "False"/"True"
// strings, a userName and work email change) keeps the row loadable, renames the Gitea login with it and
// replaces the primary email_address row (a new row: its value changed), leaving the address the user
// added in Gitea.
func TestGiteaEntra(t *testing.T) {
	t.Parallel()
	e := start(t, "gitea")
	id, key := create(e, map[string]any{"schemas": []string{userSchema}, "userName": "bob@example.com", "externalId": "e-1",
		"name": map[string]any{"givenName": "Bob", "familyName": "Ng"}, "active": true,
		"emails": []any{map[string]any{"value": "bob@example.com", "type": "work", "primary": true}}})
	giteaLoadable(e, "after Entra's POST", giteaUser(e, key))
	mustPatch(e, id, op("Replace", "", map[string]any{"displayName": "Bob Ng", "title": "Manager"}))
	mustPatch(e, id, op("Replace", "active", "False"))
	if u := giteaUser(e, key); u["is_active"] != "0" || u["prohibit_login"] != "1" || u["full_name"] != "Bob Ng" {
		t.Errorf("after Entra's Replace active False: %v", u)
	}
	mustPatch(e, id, op("Replace", "", map[string]any{"active": "True"}))
	e.exec("INSERT INTO email_address (uid, email, lower_email, is_activated, is_primary) VALUES (?, 'Bob@Home.example', 'bob@home.example', 1, 0)", key)
	mustPatch(e, id, op("Replace", "userName", "robert@example.com"), op("Replace", `emails[type eq "work"].value`, "robert@example.com"))
	giteaWantEmails(e, "after Entra's rename", key, "[map[email:robert@example.com is_activated:1 is_primary:1 lower_email:robert@example.com] "+
		"map[email:Bob@Home.example is_activated:1 is_primary:0 lower_email:bob@home.example]]")
	u := giteaUser(e, key)
	giteaLoadable(e, "after Entra's rename", u)
	for c, want := range map[string]string{"name": "robert", "lower_name": "robert", "email": "robert@example.com",
		"login_name": "robert@example.com", "is_active": "1", "prohibit_login": "0"} {
		if u[c] != want {
			t.Errorf("after Entra's rename: user.%s = %q, want %q", c, u[c], want)
		}
	}
	if got := giteaDoc(e, key, pTitle); got != "Manager" {
		t.Errorf("title kept by scimbridge: %q", got)
	}
	wantFind(t, e, `userName eq "robert@example.com"`, id)
}

// TestGiteaOrganisations: an organisation (type 1) named like a POSTed user is never adopted nor
// touched: the POST is refused (Gitea's names are unique across users and organisations), and the
// organisation appears in no list or filter.
func TestGiteaOrganisations(t *testing.T) {
	t.Parallel()
	e := start(t, "gitea")
	giteaInsert(e, "acme", "Acme", "Acme Corp", "acme@example.com", "", "", 1, 1, 0, 0, "")
	before := e.dump("user")
	r := e.do("POST", "/Users", giteaSpec.user("acme@example.com", "Ac", "Me", "", ""))
	if r.Status != 409 {
		t.Errorf("POST of a user named like an organisation: %s, want 409", r)
	}
	if got := e.dump("user"); got != before {
		t.Errorf("the organisation row changed:\nbefore %s\nafter  %s", before, got)
	}
	if n := e.rows("SELECT COUNT(*) AS n FROM `" + e.cfg.Database.BookkeepingPrefix + "users`")[0]["n"]; n != "0" {
		t.Errorf("%s bookkeeping users after the refused POST", n)
	}
	wantFind(t, e, `userName eq "acme@example.com"`)
	if r := e.must(200, "GET", "/Users", nil); r.Body["totalResults"] != float64(0) {
		t.Errorf("the organisation is listed as a user: %s", r)
	}
}

// TestGiteaAdminSurvivesRestart: an is_admin given in Gitea's site administration to an adopted user
// survives a restart (a new store and reconcile on the same database) and the group losing the user.
func TestGiteaAdminSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := start(t, "gitea")
	giteaInsert(e, "boss", "boss", "", "boss@example.com", "pbkdf2$x", "", 0, 1, 1, 0, "boss@example.com")
	boss, bossKey := create(e, giteaSpec.user("boss@example.com", "Bo", "Ss", "", ""))
	ann, annKey := create(e, giteaSpec.user("ann@example.com", "Ann", "Lee", "", ""))
	admins := giteaGroup(e, "Gitea Admins", boss, ann)
	restarted := mysql.New(e.db, e.cfg.UsersMapping(), mysql.Options{Prefix: e.cfg.Database.BookkeepingPrefix, Log: testfix.Log(t),
		Roles: e.cfg.RolesMapping(), MoreRoles: e.cfg.MoreRoleStores()})
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := giteaUser(e, bossKey)["is_admin"]; got != "1" {
		t.Errorf("boss after the restart: is_admin %s", got)
	}
	e.must(204, "DELETE", "/Groups/"+admins, nil)
	if got := giteaUser(e, bossKey)["is_admin"]; got != "1" {
		t.Errorf("boss after Gitea Admins deleted: is_admin %s, want the hand-given 1 kept", got)
	}
	if got := giteaUser(e, annKey)["is_admin"]; got != "0" {
		t.Errorf("ann after Gitea Admins deleted: is_admin %s", got)
	}
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := giteaUser(e, bossKey)["is_admin"]; got != "1" {
		t.Errorf("boss after a second restart: is_admin %s", got)
	}
}

// TestGiteaOktaPutKeepsAppAddresses: Okta's PUT carries the whole user, emails included: it replaces the
// addresses scimbridge wrote and keeps the one the user added in Gitea's settings (keep_app_rows); of two
// IdP addresses only the primary one is is_primary. The same PUT again changes nothing.
func TestGiteaOktaPutKeepsAppAddresses(t *testing.T) {
	t.Parallel()
	e := start(t, "gitea")
	body := giteaSpec.user("eve@example.com", "Eve", "Ng", "", "")
	body["emails"] = []any{map[string]any{"value": "eve@example.com", "type": "work", "primary": true}}
	id, key := create(e, body)
	e.exec("INSERT INTO email_address (uid, email, lower_email, is_activated, is_primary) VALUES (?, 'Eve@Home.example', 'eve@home.example', 1, 0)", key)
	body["emails"] = []any{map[string]any{"value": "eve@corp.example", "type": "work", "primary": true},
		map[string]any{"value": "eve@old.example", "type": "other"}}
	first := e.must(200, "PUT", "/Users/"+id, body)
	const want = "[map[email:eve@corp.example is_activated:1 is_primary:1 lower_email:eve@corp.example] " +
		"map[email:Eve@Home.example is_activated:1 is_primary:0 lower_email:eve@home.example] " +
		"map[email:eve@old.example is_activated:1 is_primary:0 lower_email:eve@old.example]]"
	rows := e.rows("SELECT email, lower_email, is_activated, is_primary FROM email_address WHERE uid = ? ORDER BY is_primary DESC, email", key)
	if got := fmt.Sprint(rows); got != want {
		t.Errorf("email_address after Okta's PUT: %s, want %s", got, want)
	}
	second := e.must(200, "PUT", "/Users/"+id, body)
	if version(first) != version(second) {
		t.Errorf("the same PUT twice: version %v then %v", version(first), version(second))
	}
	body["emails"] = []any{map[string]any{"value": "eve@corp.example", "type": "work", "primary": true}}
	e.must(200, "PUT", "/Users/"+id, body)
	rows = e.rows("SELECT email FROM email_address WHERE uid = ? ORDER BY email", key)
	if got := fmt.Sprint(rows); got != "[map[email:eve@corp.example] map[email:Eve@Home.example]]" {
		t.Errorf("after Okta's PUT dropped eve@old.example: %s", got)
	}
}
