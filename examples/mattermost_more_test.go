package examples_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// mmStrings are the Users columns Mattermost scans into plain Go strings (model.User).
var mmStrings = []string{"Username", "Password", "AuthService", "Email", "Nickname", "FirstName", "LastName", "Roles", "MfaSecret", "Position"}

// mmLoadable fails unless Mattermost can load the row: no NULL string, a valid username.
func mmLoadable(e *example, what string, u map[string]string) {
	e.t.Helper()
	for _, c := range mmStrings {
		if u[c] == "NULL" {
			e.t.Errorf("%s: Users.%s is NULL: Mattermost scans it into a string and cannot load the user", what, c)
		}
	}
	if n := len(u["Username"]); n < 3 || n > 22 || strings.ContainsAny(u["Username"], "@ ") || strings.ToLower(u["Username"]) != u["Username"] {
		e.t.Errorf("%s: Username %q is not one Mattermost accepts", what, u["Username"])
	}
}

// TestMMOkta: Okta's sequence (POST with displayName, PUTs of the whole user, active false and back, a
// PUT without names, group push) leaves a Users row Mattermost loads: DeleteAt 0 / epoch ms, ” names,
// Roles "system_user" plus system_admin while in Mattermost Admins.
func TestMMOkta(t *testing.T) {
	t.Parallel()
	e := start(t, "mattermost")
	body := mmSpec.user("Ann.Lee@Example.com", "Ann", "Lee", "Engineer", "R&D")
	body["displayName"] = "Ann Lee"
	id, key := create(e, body)
	u := mmUser(e, key)
	mmLoadable(e, "after Okta's POST", u)
	for c, want := range map[string]string{"Username": "ann.lee", "Email": "ann.lee@example.com", "FirstName": "Ann", "LastName": "Lee",
		"Position": "Engineer", "DeleteAt": "0", "Roles": "system_user", "EmailVerified": "1", "Password": "", "AuthService": ""} {
		if u[c] != want {
			t.Errorf("after Okta's POST: Users.%s = %q, want %q", c, u[c], want)
		}
	}
	if n, _ := strconv.ParseInt(u["CreateAt"], 10, 64); n < 1e12 {
		t.Errorf("CreateAt %s is no epoch-ms time", u["CreateAt"])
	}
	body["active"] = false
	e.must(200, "PUT", "/Users/"+id, body)
	if n, _ := strconv.ParseInt(mmUser(e, key)["DeleteAt"], 10, 64); n < 1e12 {
		t.Errorf("DeleteAt after Okta's PUT active false: %s, want epoch milliseconds", mmUser(e, key)["DeleteAt"])
	}
	body["active"] = true
	delete(body, "name")
	delete(body, "title")
	e.must(200, "PUT", "/Users/"+id, body)
	u = mmUser(e, key)
	mmLoadable(e, "after a PUT without names", u)
	if u["DeleteAt"] != "0" || u["FirstName"] != "" || u["LastName"] != "" || u["Position"] != "" {
		t.Errorf("after Okta's PUT active true without names: %v", u)
	}
	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Mattermost Admins", "members": []any{map[string]any{"value": id}}})
	gid, _ := g.Body["id"].(string)
	if got := strings.Fields(mmUser(e, key)["Roles"]); !slices.Equal(got, []string{"system_user", "system_admin"}) {
		t.Errorf("Roles in Mattermost Admins: %v", got)
	}
	e.must(200, "PATCH", "/Groups/"+gid, patchBody(op("replace", "members", []any{})))
	if got := mmUser(e, key)["Roles"]; got != "system_user" {
		t.Errorf("Roles after Okta emptied Mattermost Admins: %q", got)
	}
}

// TestMMEntra: Entra's sequence (POST without displayName, "False"/"True" strings, a no-path Replace, a
// userName and work email change) renames Username and Email together and keeps Props' own keys.
func TestMMEntra(t *testing.T) {
	t.Parallel()
	e := start(t, "mattermost")
	id, key := create(e, map[string]any{"schemas": []string{userSchema, enterprise}, "userName": "bob@example.com", "externalId": "e-1",
		"name": map[string]any{"givenName": "Bob", "familyName": "Ng"}, "active": true,
		"emails": []any{map[string]any{"value": "bob@example.com", "type": "work", "primary": true}}})
	mmLoadable(e, "after Entra's POST", mmUser(e, key))
	e.exec(`UPDATE Users SET Props = JSON_SET(COALESCE(Props, '{}'), '$.customStatus', 'in a meeting') WHERE Id = ?`, key)
	mustPatch(e, id, op("Replace", "active", "False"))
	if mmUser(e, key)["DeleteAt"] == "0" {
		t.Errorf("Entra's Replace active False left DeleteAt 0")
	}
	mustPatch(e, id, op("Replace", "", map[string]any{"active": "True", "title": "Lead", enterprise + ":department": "Ops"}))
	mustPatch(e, id, op("Replace", "userName", "Robert@Example.com"), op("Replace", `emails[type eq "work"].value`, "Robert@Example.com"))
	u := mmUser(e, key)
	mmLoadable(e, "after Entra's rename", u)
	for c, want := range map[string]string{"Username": "robert", "Email": "robert@example.com", "Position": "Lead", "DeleteAt": "0"} {
		if u[c] != want {
			t.Errorf("after Entra's rename: Users.%s = %q, want %q", c, u[c], want)
		}
	}
	props := e.rows("SELECT JSON_UNQUOTE(JSON_EXTRACT(Props, '$.department')) AS d, JSON_UNQUOTE(JSON_EXTRACT(Props, '$.customStatus')) AS s FROM Users WHERE Id = ?", key)[0]
	if props["d"] != "Ops" || props["s"] != "in a meeting" {
		t.Errorf("Props after Entra's changes: %v", props)
	}
	if got := at(e.must(200, "GET", "/Users/"+id, nil).Body, "userName"); got != "Robert@Example.com" {
		t.Errorf("userName on the wire: %#v", got)
	}
}
