package agent_test

// Tests that pin bugs found by the end-to-end suite. Each fails until its bug is fixed; see the
// comment on each test for the cause and the suggested fix.

import (
	"net/url"
	"sync"
	"testing"
	"time"
)

// agent/users.go createUser/replaceUser/patchUser: the attributes= / excludedAttributes= query
// parameters are parsed only in writeResource, after the store committed the write. A malformed value
// answers 400 although the user was created or changed; the IdP then retries and gets 409.
func TestE2ERegressionWriteCommittedButAnswered400ForBadAttributesParam(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	bad := "?attributes=" + url.QueryEscape(`emails[type eq`)

	r := e.do("POST", "/Users"+bad, `{"userName":"half@example.com"}`)
	rows := e.appRows("email = ?", "half@example.com")
	if r.Status >= 400 && len(rows) != 0 {
		t.Errorf("POST answered %d but created app row %v (the write must not happen, or the answer must be 201)", r.Status, rows[0]["id"])
	}

	u := e.createUser(`{"userName":"half2@example.com","title":"Old"}`)
	r = e.do("PATCH", "/Users/"+e2eStr(u["id"])+bad, `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"replace","path":"title","value":"New"}]}`)
	if title := e.appRow("email = ?", "half2@example.com").str("job_title"); r.Status >= 400 && title != "Old" {
		t.Errorf("PATCH answered %d but changed job_title to %q", r.Status, title)
	}
}

// mapping/users.go AdoptColumns: a column with a default template is written even when neither the
// attribute nor anything the template uses was sent, so adopting an app row with a POST that has no
// name and no displayName overwrites the app's display_name with NULL — against the documented rule
// "columns whose attribute is absent keep what the app has".
func TestE2ERegressionAdoptionWipesDefaultedColumn(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	if _, err := e.db.Exec(`INSERT INTO users (email, first_name, last_name, display_name, status, password_hash, created_at)
		VALUES ('carl@example.com', 'Carl', 'Legacy', 'Carl the Admin', 1, 'hash', NOW())`); err != nil {
		t.Fatal(err)
	}
	e.createUser(`{"userName":"carl@example.com","active":true}`)
	e2eWantCols(t, e.appRow("email = ?", "carl@example.com"), map[string]string{
		"first_name": "Carl", "last_name": "Legacy", "display_name": "Carl the Admin"})
}

// mapping/users.go UpdateColumns + Overlay: display_name defaults to "{name.givenName} {name.familyName}"
// when displayName is absent, but once written the column is read back as an explicit displayName, so a
// PATCH of the name leaves display_name stale while a PUT with the same name re-renders it.
func TestE2ERegressionDefaultedDisplayNameGoesStaleOnPatch(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"dn@example.com","name":{"givenName":"Ann","familyName":"Lee"}}`)
	e.want(e.patch(e2eStr(u["id"]), `[{"op":"replace","path":"name.familyName","value":"Smith"}]`), 200, "PATCH")
	if got := e.appRow("email = ?", "dn@example.com").str("display_name"); got != "Ann Smith" {
		t.Errorf("after PATCH name.familyName=Smith, display_name = %q, want %q (as PUT gives)", got, "Ann Smith")
	}
}

// adapters/mysql/filter.go compare: userName filters read the bookkeeping copy (b.user_name_lc) while
// GET reads userName from the app's column. When the app changes the e-mail itself, GET shows the new
// userName but `filter=userName eq "<new>"` finds nothing, so Okta/Entra conclude the user does not
// exist and POST it, which fails with 409.
func TestE2ERegressionUserNameFilterIgnoresAppColumn(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"dora@example.com"}`)
	if _, err := e.db.Exec(`UPDATE users SET email = 'dora.new@example.com', email_lower = 'dora.new@example.com' WHERE email = 'dora@example.com'`); err != nil {
		t.Fatal(err)
	}
	if g := e.getUser(e2eStr(u["id"])); g["userName"] != "dora.new@example.com" {
		t.Fatalf("GET userName = %v", g["userName"])
	}
	if r := e.list("filter", `userName eq "dora.new@example.com"`); e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf(`GET shows userName dora.new@example.com, but filter userName eq it finds %v users`, r.Body["totalResults"])
	}
	if r := e.list("filter", `userName eq "dora@example.com"`); e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf(`filter on the old userName still finds %v users whose userName is now different`, r.Body["totalResults"])
	}
}

// agent/users.go deleteUser: If-Match is checked against a GetUser read outside the delete's
// transaction, so a PATCH committed in between is deleted anyway (lost update); PUT and PATCH check
// inside UpdateUser's locked transaction and do not have this race.
func TestE2ERegressionDeleteIfMatchIsNotAtomic(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"race-del@example.com","title":"v1"}`)
	id, v1 := e2eStr(u["id"]), e2eStr(e2eAt(u, "meta.version"))
	// Slow the PATCH down while it holds the user's row lock.
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_slow BEFORE UPDATE ON scim_users FOR EACH ROW
		IF NEW.doc LIKE '%slow%' OR NEW.deleted_at IS NOT NULL THEN DO SLEEP(0.2); END IF`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var patched *e2eResp
	wg.Add(1)
	go func() {
		defer wg.Done()
		patched = e.patch(id, `[{"op":"replace","path":"nickName","value":"slow"},{"op":"replace","path":"title","value":"v2"}]`)
	}()
	time.Sleep(100 * time.Millisecond) // the PATCH holds the lock and has not committed
	del := e.do("DELETE", "/Users/"+id, nil, "If-Match", v1)
	wg.Wait()
	if patched.Status != 200 {
		t.Fatalf("PATCH: %s", patched)
	}
	if del.Status == 204 {
		t.Errorf("DELETE with If-Match %s deleted the user although a PATCH moved it to %v first; want 412",
			v1, e2eAt(patched.Body, "meta.version"))
	}
}

// adapters/mysql/write.go CreateUser (tombstone branch) + mapping/users.go AdoptColumns: a POST that
// re-links a user deleted through SCIM keeps every mapped column the new POST does not mention, so the
// re-provisioned user comes back with the old title and employee number (and POST's 201 body shows
// attributes the IdP never sent), while the attributes kept only in the bookkeeping (nickName) are reset.
func TestE2ERegressionRepostAfterDeleteKeepsStaleColumns(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"rehire@example.com","title":"Boss","nickName":"nn","` + e2eEnterprise + `":{"employeeNumber":"E-1"}}`)
	e.want(e.do("DELETE", "/Users/"+e2eStr(u["id"]), nil), 204, "DELETE")
	r := e.createUser(`{"userName":"rehire@example.com"}`)
	if r["title"] != nil || r[e2eEnterprise] != nil || r["nickName"] != nil {
		t.Errorf("re-POST without title/employeeNumber returned title=%v enterprise=%v nickName=%v", r["title"], r[e2eEnterprise], r["nickName"])
	}
	e2eWantCols(t, e.appRow("email = ?", "rehire@example.com"), map[string]string{"job_title": "<NULL>", "employee_no": "<NULL>"})
}

// mapping/column.go defaultFor + mapping/users.go UpdateColumns: "active" absent counts as true when the
// old value is computed, so for an app row whose status has no SCIM meaning (0, say "pending"), GET
// shows no "active" and a PATCH or PUT with active=true is taken for "no change": status stays 0 and
// the IdP cannot activate the user.
func TestE2ERegressionActivateUnmappedStatusIsNoop(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"pending@example.com"}`)
	if _, err := e.db.Exec(`UPDATE users SET status = 0 WHERE email = 'pending@example.com'`); err != nil {
		t.Fatal(err)
	}
	r := e.want(e.patch(e2eStr(u["id"]), `[{"op":"replace","value":{"active":true}}]`), 200, "Okta activate")
	if got := e.appRow("email = ?", "pending@example.com").str("status"); got != "1" || r.Body["active"] != true {
		t.Errorf("PATCH active=true: status %s, body active %v; want status 1 and active true", got, r.Body["active"])
	}
}

// agent/server.go routes: with gorilla/mux v1.8.1 a wrong method on the /Users collection (PUT, PATCH,
// DELETE, HEAD) answers 404 "no SCIM endpoint at /scim/v2/Users" instead of 405: every later route of the
// subrouter (/Users/.search, /Users/{id}) inherits the PathPrefix matcher, which matches and so clears
// mux's method-mismatch state (gorilla/mux#437). /Users/{id}, registered last, gets its 405 right.
func TestE2ERegressionWrongMethodOnCollectionIs404(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		if r := e.do(m, "/Users", `{}`); r.Status != 405 {
			t.Errorf("%s /Users: %s, want 405", m, r)
		}
	}
	if r := e.do("POST", "/Users/some-id", `{}`); r.Status != 405 {
		t.Errorf("POST /Users/{id}: %s, want 405", r)
	}
}
