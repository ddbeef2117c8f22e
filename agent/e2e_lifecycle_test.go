package agent_test

import (
	"testing"

	"github.com/google/uuid"
)

func TestE2EDeleteAndRepost(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"del@example.com","name":{"givenName":"Del","familyName":"Ete"},"nickName":"dd"}`)
	other := e.createUser(`{"userName":"keep@example.com"}`)
	id := e2eStr(u["id"])
	before := e.appRow("email = ?", "del@example.com")

	r := e.do("DELETE", "/Users/"+id, nil)
	if r.Status != 204 || len(r.Raw) != 0 {
		t.Fatalf("DELETE: %s, want 204 without a body", r)
	}
	row := e.appRow("id = ?", before["id"])
	e2eWantCols(t, row, map[string]string{"status": "3", "email": "del@example.com", "first_name": "Del", "password_hash": "!scim"})
	e2eWantError(t, e.do("GET", "/Users/"+id, nil), 404, "")
	e2eWantError(t, e.patch(id, `[{"op":"replace","path":"title","value":"x"}]`), 404, "")
	e2eWantError(t, e.do("PUT", "/Users/"+id, `{"userName":"del@example.com"}`), 404, "")
	e2eWantError(t, e.do("DELETE", "/Users/"+id, nil), 404, "")
	if r := e.list("filter", `userName eq "del@example.com"`); r.Status != 200 || e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("deleted user is found by filter: %s", r)
	}
	all := e2eResources(t, e.list())
	if len(all) != 1 || all[0]["id"] != other["id"] {
		t.Errorf("list after DELETE: %v", all)
	}
	if r := e.list("filter", "active eq false"); e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("a deleted user is listed as inactive: %s", r)
	}

	// POST again, in another case: the same app row comes back to life under a new SCIM id.
	r2 := e.createUser(`{"userName":"DEL@example.com","name":{"givenName":"Back","familyName":"Again"}}`)
	if r2["id"] == id || r2["active"] != true || r2["nickName"] != nil {
		t.Errorf("re-POST: %v", r2)
	}
	rows := e.appRows("email_lower = ?", "del@example.com")
	if len(rows) != 1 || rows[0].str("id") != before.str("id") {
		t.Fatalf("re-POST did not reuse app row %s: %v", before.str("id"), rows)
	}
	e2eWantCols(t, rows[0], map[string]string{"status": "1", "email": "DEL@example.com", "first_name": "Back",
		"last_name": "Again", "display_name": "Back Again", "password_hash": "!scim"})
	if r := e.list("filter", `userName eq "del@example.com"`); e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf("re-POSTed user not found: %s", r)
	}
	e2eWantError(t, e.do("GET", "/Users/"+id, nil), 404, "")
	// ... and can go through the cycle again.
	e.want(e.do("DELETE", "/Users/"+e2eStr(r2["id"]), nil), 204, "second DELETE")
	r3 := e.createUser(`{"userName":"del@example.com"}`)
	if e.appRow("id = ?", before["id"]).str("status") != "1" || r3["id"] == r2["id"] {
		t.Errorf("third POST: %v", r3)
	}

	e2eWantError(t, e.do("DELETE", "/Users/"+uuid.NewString(), nil), 404, "")
	if n := len(e.appRows("1=1")); n != 2 {
		t.Errorf("%d app rows, want 2", n)
	}
}

func TestE2EAdoptExistingAppRow(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	res, err := e.db.Exec(`INSERT INTO users (email, email_lower, first_name, last_name, job_title, status, password_hash, created_at)
		VALUES ('bob@example.com', 'bob@example.com', 'Robert', 'Legacy', 'Builder', 1, 'bcrypt$legacy', '2020-01-02 03:04:05')`)
	if err != nil {
		t.Fatal(err)
	}
	appID, _ := res.LastInsertId()

	u := e.createUser(`{"userName":"Bob@Example.com","name":{"givenName":"Bob","familyName":"Builder"}}`)
	rows := e.appRows("email_lower = ?", "bob@example.com")
	if len(rows) != 1 || rows[0]["id"] != appID {
		t.Fatalf("adoption made a second row or lost the first: %v", rows)
	}
	e2eWantCols(t, rows[0], map[string]string{"first_name": "Bob", "last_name": "Builder", "email": "Bob@Example.com",
		"display_name": "Bob Builder", "status": "1", "job_title": "Builder",
		"password_hash": "bcrypt$legacy", "created_at": "2020-01-02T03:04:05Z"})
	if rows[0].null("updated_at") {
		t.Errorf("adoption did not set updated_at")
	}
	// The app's own data shows through SCIM.
	if g := e.getUser(e2eStr(u["id"])); g["title"] != "Builder" || g["userName"] != "Bob@Example.com" {
		t.Errorf("adopted user: %v", g)
	}
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"bob@example.com"}`), 409, "uniqueness")

	// An app row already managed through SCIM cannot be taken over under another userName: here the
	// app changed the e-mail itself, and the IdP creates a user with the new address.
	alice := e.createUser(`{"userName":"alice@example.com","name":{"givenName":"Alice"}}`)
	if _, err := e.db.Exec(`UPDATE users SET email = 'alice.new@example.com' WHERE email = 'alice@example.com'`); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/Users", `{"userName":"alice.new@example.com","name":{"givenName":"Imposter"}}`)
	e2eWantError(t, r, 409, "uniqueness")
	e2eWantCols(t, e.appRow("email = ?", "alice.new@example.com"), map[string]string{"first_name": "Alice"})
	if g := e.getUser(e2eStr(alice["id"])); g["userName"] != "alice.new@example.com" {
		t.Errorf("GET reads userName from the app's column: %v", g["userName"])
	}
	if n := len(e.appRows("1=1")); n != 2 {
		t.Errorf("%d app rows, want 2", n)
	}
}

func TestE2EAdoptRefusedWithOnExistingConflict(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{extraTOML: `on_existing = "conflict"`})
	if _, err := e.db.Exec(`INSERT INTO users (email, first_name, status, password_hash, created_at)
		VALUES ('bob@example.com', 'Robert', 1, 'bcrypt$legacy', NOW())`); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/Users", `{"userName":"bob@example.com","name":{"givenName":"Bob"}}`)
	e2eWantError(t, r, 409, "uniqueness")
	e2eWantCols(t, e.appRow("email = ?", "bob@example.com"), map[string]string{"first_name": "Robert",
		"password_hash": "bcrypt$legacy", "updated_at": "<NULL>"})
	var book int
	if err := e.db.Get(&book, "SELECT COUNT(*) FROM scim_users"); err != nil || book != 0 {
		t.Errorf("%d bookkeeping rows after a refused adoption", book)
	}
	// New users are still created, and a SCIM-deleted user is still re-linked (not "existing").
	u := e.createUser(`{"userName":"new@example.com"}`)
	e.want(e.do("DELETE", "/Users/"+e2eStr(u["id"]), nil), 204, "DELETE")
	e.createUser(`{"userName":"new@example.com"}`)
	if rows := e.appRows("email = ?", "new@example.com"); len(rows) != 1 || rows[0].str("status") != "1" {
		t.Errorf("re-POST under on_existing=conflict: %v", rows)
	}
}
