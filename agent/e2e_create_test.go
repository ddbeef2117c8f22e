package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestE2ECreateUser(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	start := time.Now().UTC().Add(-2 * time.Second)

	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + e2eEnterprise + `"],
		"userName":"Ann.Lee@Example.com","name":{"givenName":"Ann","familyName":"Lee"},
		"emails":[{"value":"ann.lee@example.com","type":"work","primary":true}],
		"active":"True","title":"Engineer","externalId":"okta-00u1",
		"` + e2eEnterprise + `":{"employeeNumber":"E-1"}}`
	r := e.do("POST", "/Users", body, "Content-Type", "application/json")
	e.want(r, 201, "POST /Users with application/json")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q", ct)
	}
	id := e2eStr(r.Body["id"])
	if id == "" || e2eStr(e2eAt(r.Body, "meta.created")) == "" || e2eAt(r.Body, "meta.resourceType") != "User" {
		t.Fatalf("201 body lacks id/meta: %s", r.Raw)
	}
	if loc := r.Header.Get("Location"); loc == "" || loc != e2eAt(r.Body, "meta.location") || !strings.HasSuffix(loc, "/scim/v2/Users/"+id) {
		t.Errorf("Location %q, meta.location %v", loc, e2eAt(r.Body, "meta.location"))
	}
	if et := r.Header.Get("ETag"); et == "" || et != e2eAt(r.Body, "meta.version") {
		t.Errorf("ETag %q, meta.version %v", et, e2eAt(r.Body, "meta.version"))
	}
	if r.Body["active"] != true || r.Body["displayName"] != "Ann Lee" || r.Body["userName"] != "Ann.Lee@Example.com" ||
		r.Body["title"] != "Engineer" || r.Body["externalId"] != "okta-00u1" ||
		e2eExt(r.Body, "employeeNumber") != "E-1" {
		t.Errorf("201 body: %s", r.Raw)
	}
	if _, leaked := r.Body["password"]; leaked {
		t.Errorf("201 body has a password")
	}

	row := e.appRow("email = ?", "Ann.Lee@Example.com")
	e2eWantCols(t, row, map[string]string{
		"email": "Ann.Lee@Example.com", "email_lower": "ann.lee@example.com", "first_name": "Ann", "last_name": "Lee",
		"display_name": "Ann Lee", "job_title": "Engineer", "employee_no": "E-1", "status": "1", "password_hash": "!scim",
	})
	if c, ok := row["created_at"].(time.Time); !ok || c.Before(start.Truncate(time.Second)) {
		t.Errorf("created_at = %v, want about now", row["created_at"])
	}

	// The Location answers, and GET agrees with what POST returned.
	got := e.want(e.do("GET", r.Header.Get("Location"), nil), 200, "GET Location")
	if got.Body["id"] != id || got.Header.Get("ETag") != r.Header.Get("ETag") || got.Body["displayName"] != "Ann Lee" {
		t.Errorf("GET after POST: %s", got.Raw)
	}

	// A clear-text password is accepted but neither stored in a column nor returned.
	pw := e.createUser(`{"userName":"pw@example.com","password":"Secret-123"}`)
	if _, leaked := pw["password"]; leaked {
		t.Errorf("password returned: %v", pw)
	}
	if strings.Contains(string(e.do("GET", "/Users/"+e2eStr(pw["id"]), nil).Raw), "Secret-123") {
		t.Errorf("GET returns the clear-text password")
	}
	var docs int
	if err := e.db.Get(&docs, "SELECT COUNT(*) FROM scim_users WHERE doc LIKE '%Secret-123%'"); err != nil || docs != 0 {
		t.Errorf("bookkeeping keeps the clear-text password (%d rows, %v)", docs, err)
	}
}

func TestE2ECreateRejects(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{maxBody: 2048})

	e2eWantError(t, e.do("POST", "/Users", `{"name":{"givenName":"No"},"emails":[{"value":"no@example.com"}]}`), 400, "invalidValue")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"   "}`), 400, "invalidValue")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"x@example.com",`), 400, "invalidSyntax")
	e2eWantError(t, e.do("POST", "/Users", `not json`), 400, "invalidSyntax")
	e2eWantError(t, e.do("POST", "/Users", `["userName"]`), 400, "")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"a@example.com"} {"userName":"b@example.com"}`), 400, "invalidSyntax")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"typed@example.com","active":"yes"}`), 400, "invalidValue")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":42}`), 400, "invalidValue")
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"form@example.com"}`, "Content-Type", "application/x-www-form-urlencoded"), 415, "")

	big := `{"userName":"big@example.com","nickName":"` + strings.Repeat("x", 4000) + `"}`
	r := e.do("POST", "/Users", big)
	e2eWantError(t, r, 413, "")
	if n := len(e.appRows("email LIKE ?", "%@example.com")); n != 0 {
		t.Fatalf("rejected POSTs wrote %d app rows", n)
	}
	// A body just under the limit is fine.
	e.createUser(`{"userName":"small@example.com","nickName":"` + strings.Repeat("x", 1500) + `"}`)

	// A value longer than the app's column is the client's problem, told without SQL.
	long := e.do("POST", "/Users", `{"userName":"long@example.com","title":"`+strings.Repeat("t", 101)+`"}`)
	e2eWantError(t, long, 400, "invalidValue")
	if strings.Contains(string(long.Raw), "Data too long") {
		t.Errorf("400 leaks the database message: %s", long.Raw)
	}

	first := e.createUser(`{"userName":"dup@example.com","name":{"givenName":"First"}}`)
	dup := e.do("POST", "/Users", `{"userName":"DUP@Example.COM","name":{"givenName":"Second"}}`)
	e2eWantError(t, dup, 409, "uniqueness")
	rows := e.appRows("email_lower = ?", "dup@example.com")
	if len(rows) != 1 || rows[0].str("first_name") != "First" || rows[0].str("email") != "dup@example.com" {
		t.Errorf("after a duplicate POST the app rows are %v", rows)
	}
	if got := e.getUser(e2eStr(first["id"])); e2eAt(got, "meta.version") != e2eAt(first, "meta.version") {
		t.Errorf("the duplicate POST changed the existing user: %v", got)
	}
}

// Ten concurrent POSTs of one userName, as an IdP retrying after a timeout: one wins.
func TestE2EConcurrentCreate(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	const n = 10
	statuses := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			body := fmt.Sprintf(`{"userName":"race@example.com","name":{"givenName":"R%d"}}`, i)
			req, _ := http.NewRequest("POST", e.base+"/Users", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e2eToken)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			statuses[i], bodies[i] = resp.StatusCode, string(raw)
		}()
	}
	close(startGate)
	wg.Wait()
	created, conflicts := 0, 0
	for i, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
			conflicts++
			if !strings.Contains(bodies[i], `"uniqueness"`) {
				t.Errorf("409 without scimType uniqueness: %s", bodies[i])
			}
		default:
			t.Errorf("concurrent POST %d: %d %s", i, s, bodies[i])
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Errorf("%d created and %d conflicts, want 1 and %d", created, conflicts, n-1)
	}
	if rows := e.appRows("email = ?", "race@example.com"); len(rows) != 1 {
		t.Errorf("%d app rows, want 1", len(rows))
	}
	var book int
	if err := e.db.Get(&book, "SELECT COUNT(*) FROM scim_users WHERE user_name_lc = 'race@example.com'"); err != nil || book != 1 {
		t.Errorf("%d bookkeeping rows (%v), want 1", book, err)
	}
	if r := e.list("filter", `userName eq "race@example.com"`); e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf("list after the race: %s", r)
	}
}
