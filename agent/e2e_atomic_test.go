package agent_test

import (
	"strings"
	"testing"
)

// leaksInternals reports database details that must never reach an IdP in an error body.
func leaksInternals(raw []byte) []string {
	var found []string
	for _, s := range []string{"SQL", "sql", "scim_users", "trigger", "45000", "boom-signal", "Error 1644"} {
		if strings.Contains(string(raw), s) {
			found = append(found, s)
		}
	}
	return found
}

// A failure in the bookkeeping write, after the app row was inserted, must roll the app row back.
func TestE2ECreateIsAtomic(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_boom_insert BEFORE INSERT ON scim_users FOR EACH ROW
		IF NEW.user_name = 'boom@example.com' THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}

	r := e.do("POST", "/Users", `{"userName":"boom@example.com","name":{"givenName":"Boom","familyName":"Bang"}}`)
	e2eWantError(t, r, 500, "")
	if leaks := leaksInternals(r.Raw); len(leaks) > 0 {
		t.Errorf("500 body leaks %v: %s", leaks, r.Raw)
	}
	if rows := e.appRows("email = ?", "boom@example.com"); len(rows) != 0 {
		t.Errorf("the app row of the failed POST was not rolled back: %v", rows)
	}
	var book int
	_ = e.db.Get(&book, "SELECT COUNT(*) FROM scim_users")
	if book != 0 {
		t.Errorf("%d bookkeeping rows after a failed POST", book)
	}
	if r := e.list("filter", `userName eq "boom@example.com"`); e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("the failed user is listed: %s", r)
	}

	// The server is fine afterwards, and the same failure on an adoption rolls the adopted row back too.
	e.createUser(`{"userName":"fine@example.com"}`)
	if _, err := e.db.Exec(`INSERT INTO users (email, first_name, status, password_hash, created_at)
		VALUES ('boom@example.com', 'Legacy', 1, 'hash', NOW())`); err != nil {
		t.Fatal(err)
	}
	r = e.do("POST", "/Users", `{"userName":"boom@example.com","name":{"givenName":"Adopted"}}`)
	e2eWantError(t, r, 500, "")
	e2eWantCols(t, e.appRow("email = ?", "boom@example.com"), map[string]string{
		"first_name": "Legacy", "password_hash": "hash", "updated_at": "<NULL>"})
}

// A failure in the bookkeeping update, after the app row was updated, must roll the app row back.
func TestE2EUpdateIsAtomic(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"upd-boom@example.com","name":{"givenName":"Orig","familyName":"Inal"},"title":"Clerk"}`)
	id := e2eStr(u["id"])
	before := e.appRow("email = ?", "upd-boom@example.com")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_boom_update BEFORE UPDATE ON scim_users FOR EACH ROW
		IF OLD.user_name = 'upd-boom@example.com' THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}

	attempts := map[string]*e2eResp{
		"PATCH":           e.patch(id, `[{"op":"replace","path":"name.givenName","value":"Changed"}]`),
		"PUT":             e.do("PUT", "/Users/"+id, `{"userName":"upd-boom@example.com","name":{"givenName":"Put"}}`),
		"DELETE":          e.do("DELETE", "/Users/"+id, nil),
		"Okta deactivate": e.patch(id, `[{"op":"replace","value":{"active":false}}]`),
	}
	for name, r := range attempts {
		e2eWantError(t, r, 500, "")
		if leaks := leaksInternals(r.Raw); len(leaks) > 0 {
			t.Errorf("%s: 500 body leaks %v: %s", name, leaks, r.Raw)
		}
	}
	after := e.appRow("email = ?", "upd-boom@example.com")
	for _, col := range []string{"first_name", "last_name", "job_title", "status", "display_name", "updated_at"} {
		if after.str(col) != before.str(col) {
			t.Errorf("app column %s changed by failed writes: %q -> %q", col, before.str(col), after.str(col))
		}
	}
	got := e.getUser(id)
	if e2eAt(got, "name.givenName") != "Orig" || got["active"] != true || e2eAt(got, "meta.version") != e2eAt(u, "meta.version") {
		t.Errorf("GET after failed writes: %v", got)
	}
}
