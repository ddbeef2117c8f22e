package examples_test

import (
	"testing"
)

// wpRow is the wp_users row of a user as WP_User loads it.
func wpRow(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT user_login, user_email, user_nicename, user_pass, user_status, display_name, user_registered FROM wp_users WHERE ID = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("wp_users rows for %s: %v", key, rows)
	}
	return rows[0]
}

// TestWPOkta: Okta's sequence (POST with displayName, PUT active false and back, a PUT without
// displayName, group push) leaves wp_users and wp_usermeta as WordPress reads them: the login and email,
// the profile meta, display_name falling back to the login, the roles taken away while deactivated.
func TestWPOkta(t *testing.T) {
	t.Parallel()
	e := start(t, "wordpress")
	body := wpSpec.user("ann@example.com", "Ann", "Lee", "Engineer", "R&D")
	body["displayName"] = "Ann Lee"
	id, key := create(e, body)
	u := wpRow(e, key)
	for c, want := range map[string]string{"user_login": "ann@example.com", "user_email": "ann@example.com", "user_nicename": "annexamplecom",
		"user_pass": "!scim", "user_status": "0", "display_name": "Ann Lee"} {
		if u[c] != want {
			t.Errorf("after Okta's POST: wp_users.%s = %q, want %q", c, u[c], want)
		}
	}
	if u["user_registered"] == "NULL" || u["user_registered"] < "2020" {
		t.Errorf("user_registered %s", u["user_registered"])
	}
	for k, want := range map[string]string{"first_name": "Ann", "last_name": "Lee", "nickname": "ann@example.com", "job_title": "Engineer",
		"department": "R&D", "phone": "+1 555 0100", "rich_editing": "true", "wp_user_level": "0"} {
		if got := wpMeta(e, key, k); got != want {
			t.Errorf("after Okta's POST: meta %s = %q, want %q", k, got, want)
		}
	}
	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "WordPress Editors", "members": []any{map[string]any{"value": id}}})
	editors, _ := g.Body["id"].(string)
	body["active"] = false
	e.must(200, "PUT", "/Users/"+id, body)
	if wpRow(e, key)["user_status"] != "1" || wpMeta(e, key, "wp_capabilities") != "a:0:{}" || wpMeta(e, key, "wp_user_level") != "0" {
		t.Errorf("after Okta's PUT active false: status %s, capabilities %s, level %s", wpRow(e, key)["user_status"],
			wpMeta(e, key, "wp_capabilities"), wpMeta(e, key, "wp_user_level"))
	}
	body["active"] = true
	delete(body, "displayName")
	e.must(200, "PUT", "/Users/"+id, body)
	if wpRow(e, key)["display_name"] != "ann@example.com" || wpMeta(e, key, "wp_capabilities") != `a:1:{s:6:"editor";b:1;}` || wpMeta(e, key, "wp_user_level") != "7" {
		t.Errorf("after Okta's PUT active true without displayName: display_name %q, capabilities %s, level %s",
			wpRow(e, key)["display_name"], wpMeta(e, key, "wp_capabilities"), wpMeta(e, key, "wp_user_level"))
	}
	e.must(200, "PATCH", "/Groups/"+editors, patchBody(op("replace", "members", []any{})))
	if wpMeta(e, key, "wp_capabilities") != "a:0:{}" || wpMeta(e, key, "wp_user_level") != "0" {
		t.Errorf("after Okta emptied WordPress Editors: capabilities %s, level %s", wpMeta(e, key, "wp_capabilities"), wpMeta(e, key, "wp_user_level"))
	}
}

// TestWPEntra: Entra's sequence (POST without displayName, "False"/"True" strings, a no-path Replace, a
// userName change, a name removed) renames the login and email together and deletes the meta row of
// the removed name rather than leaving an empty one.
func TestWPEntra(t *testing.T) {
	t.Parallel()
	e := start(t, "wordpress")
	id, key := create(e, map[string]any{"schemas": []string{userSchema}, "userName": "bob@example.com", "externalId": "e-1",
		"name": map[string]any{"givenName": "Bob", "familyName": "Ng"}, "active": true,
		"emails": []any{map[string]any{"value": "bob@example.com", "type": "work", "primary": true}}})
	if got := wpRow(e, key)["display_name"]; got != "bob@example.com" {
		t.Errorf("display_name without a displayName: %q, want the login", got)
	}
	mustPatch(e, id, op("Replace", "active", "False"))
	if got := wpRow(e, key)["user_status"]; got != "1" {
		t.Errorf("user_status after Replace active False: %s", got)
	}
	mustPatch(e, id, op("Replace", "", map[string]any{"active": "True", "title": "Lead", "name.givenName": "Robert"}))
	mustPatch(e, id, op("Replace", "userName", "robert@example.com"), op("Replace", `emails[type eq "work"].value`, "robert@example.com"),
		op("Remove", "name.familyName", nil))
	u := wpRow(e, key)
	if u["user_login"] != "robert@example.com" || u["user_email"] != "robert@example.com" || u["user_status"] != "0" || u["display_name"] != "robert@example.com" {
		t.Errorf("after Entra's rename: %v", u)
	}
	if wpMeta(e, key, "first_name") != "Robert" || wpMeta(e, key, "job_title") != "Lead" {
		t.Errorf("meta after Entra's Replace: first_name %q, job_title %q", wpMeta(e, key, "first_name"), wpMeta(e, key, "job_title"))
	}
	if n := len(e.rows("SELECT 1 FROM wp_usermeta WHERE user_id = ? AND meta_key = 'last_name'", key)); n != 0 {
		t.Errorf("%d last_name rows after Entra removed the family name", n)
	}
	wantFind(t, e, `userName eq "robert@example.com"`, id)
}
