package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestE2EPutReplaces(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"put@example.com","name":{"givenName":"Pia","familyName":"Put"},"title":"Boss",
		"nickName":"pp","externalId":"ext-put","emails":[{"value":"put@example.com","type":"work"}],
		"` + e2eEnterprise + `":{"employeeNumber":"E-1","department":"Ops"}}`)
	id := e2eStr(u["id"])
	before := e.appRow("email = ?", "put@example.com")

	time.Sleep(1100 * time.Millisecond) // updated_at has second precision
	r := e.do("PUT", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"`+uuid.NewString()+`",
		"meta":{"version":"W/\"99\"","created":"2000-01-01T00:00:00Z"},
		"userName":"put@example.com","name":{"givenName":"Pia","familyName":"Replaced"},"tilte":"typo is kept"}`)
	e.want(r, 200, "PUT")
	if r.Body["id"] != id || e2eAt(r.Body, "meta.created") != e2eAt(u, "meta.created") || e2eAt(r.Body, "meta.version") == "W/\"99\"" {
		t.Errorf("PUT let the body set readOnly id/meta: %s", r.Raw)
	}
	if r.Header.Get("ETag") != e2eAt(r.Body, "meta.version") || r.Header.Get("ETag") == e2eAt(u, "meta.version") {
		t.Errorf("PUT ETag %q, body version %v, old %v", r.Header.Get("ETag"), e2eAt(r.Body, "meta.version"), e2eAt(u, "meta.version"))
	}
	for _, gone := range []string{"title", "nickName", "externalId", "emails", e2eEnterprise} {
		if _, has := r.Body[gone]; has {
			t.Errorf("PUT response still has %s: %s", gone, r.Raw)
		}
	}
	if r.Body["tilte"] != "typo is kept" { // unknown_attributes = "keep", the default
		t.Errorf("PUT lost an undeclared attribute: %s", r.Raw)
	}
	got := e.getUser(id)
	for _, gone := range []string{"title", "nickName", "externalId", "emails", e2eEnterprise} {
		if _, has := got[gone]; has {
			t.Errorf("GET after PUT still has %s", gone)
		}
	}
	row := e.appRow("id = ?", before["id"])
	e2eWantCols(t, row, map[string]string{"job_title": "<NULL>", "employee_no": "<NULL>", "last_name": "Replaced",
		"first_name": "Pia", "status": "1", "password_hash": "!scim", "email": "put@example.com"})
	if row.str("created_at") != before.str("created_at") {
		t.Errorf("PUT changed created_at")
	}
	if row.null("updated_at") || row.str("updated_at") == before.str("updated_at") {
		t.Errorf("PUT did not touch updated_at: %v -> %v", before["updated_at"], row["updated_at"])
	}
	if r := e.list("filter", `externalId eq "ext-put"`); e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("externalId removed by PUT still matches: %s", r)
	}

	e2eWantError(t, e.do("PUT", "/Users/"+id, `{"name":{"givenName":"NoUserName"}}`), 400, "invalidValue")
	e2eWantError(t, e.do("PUT", "/Users/"+id, `{"userName":"put@example.com","active":"maybe"}`), 400, "invalidValue")
	e2eWantError(t, e.do("PUT", "/Users/"+uuid.NewString(), `{"userName":"ghost@example.com"}`), 404, "")
	if row2 := e.appRow("id = ?", before["id"]); row2.str("first_name") != "Pia" || row2.str("updated_at") != row.str("updated_at") {
		t.Errorf("a rejected PUT changed the row: %v", row2)
	}

	// PUT may rename, and may not take another user's userName.
	e.createUser(`{"userName":"taken@example.com"}`)
	e2eWantError(t, e.do("PUT", "/Users/"+id, `{"userName":"TAKEN@example.com"}`), 409, "uniqueness")
	r = e.want(e.do("PUT", "/Users/"+id, `{"userName":"renamed@example.com","active":false}`), 200, "PUT rename")
	if r.Body["userName"] != "renamed@example.com" || r.Body["active"] != false {
		t.Errorf("PUT rename: %s", r.Raw)
	}
	e2eWantCols(t, e.appRow("id = ?", before["id"]), map[string]string{"email": "renamed@example.com",
		"email_lower": "renamed@example.com", "status": "3", "first_name": "<NULL>"})
}

func TestE2EETags(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"etag@example.com","name":{"givenName":"Eve"}}`)
	id := e2eStr(u["id"])
	v1 := e.do("GET", "/Users/"+id, nil).Header.Get("ETag")
	if v1 == "" || v1 != e2eAt(u, "meta.version") {
		t.Fatalf("GET ETag %q, POST version %v", v1, e2eAt(u, "meta.version"))
	}

	if r := e.do("GET", "/Users/"+id, nil, "If-None-Match", v1); r.Status != 304 || len(r.Raw) != 0 || r.Header.Get("ETag") != v1 {
		t.Errorf("If-None-Match current: %s (ETag %q), want 304 without a body", r, r.Header.Get("ETag"))
	}
	if r := e.do("GET", "/Users/"+id, nil, "If-None-Match", `W/"12345"`); r.Status != 200 {
		t.Errorf("If-None-Match stale: %s", r)
	}

	r := e.want(e.patch(id, `[{"op":"replace","path":"name.givenName","value":"Eva"}]`, "If-Match", v1), 200, "If-Match current")
	v2 := r.Header.Get("ETag")
	if v2 == "" || v2 == v1 || v2 != e2eAt(r.Body, "meta.version") {
		t.Fatalf("PATCH with If-Match: ETag %q after %q", v2, v1)
	}

	row := e.appRow("email = ?", "etag@example.com")
	e2eWantError(t, e.patch(id, `[{"op":"replace","path":"name.givenName","value":"Stale"}]`, "If-Match", v1), 412, "")
	e2eWantError(t, e.do("PUT", "/Users/"+id, `{"userName":"etag@example.com","name":{"givenName":"Stale"}}`, "If-Match", v1), 412, "")
	e2eWantError(t, e.do("DELETE", "/Users/"+id, nil, "If-Match", v1), 412, "")
	after := e.appRow("email = ?", "etag@example.com")
	if after.str("first_name") != "Eva" || after.str("status") != "1" || after.str("updated_at") != row.str("updated_at") {
		t.Errorf("writes refused with 412 changed the row: %v", after)
	}
	if got := e.getUser(id); e2eAt(got, "meta.version") != v2 {
		t.Errorf("version after 412s = %v, want %s", e2eAt(got, "meta.version"), v2)
	}

	// Strong spelling of the same tag, a list, and * all match.
	strong := v2[2:] // W/"2" -> "2"
	e.want(e.do("PUT", "/Users/"+id, `{"userName":"etag@example.com","name":{"givenName":"Eva"}}`, "If-Match", strong), 200, "If-Match strong")
	cur := e.do("GET", "/Users/"+id, nil).Header.Get("ETag")
	e.want(e.patch(id, `[{"op":"replace","path":"title","value":"T"}]`, "If-Match", `W/"999", `+cur), 200, "If-Match list")
	e.want(e.do("DELETE", "/Users/"+id, nil, "If-Match", "*"), 204, "DELETE If-Match *")
}

// Concurrent PATCHes serialize on the user's row: with the same If-Match exactly one wins, and without
// it none of them is lost.
func TestE2EConcurrentPatches(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"conc@example.com"}`)
	id, v1 := e2eStr(u["id"]), e2eStr(e2eAt(u, "meta.version"))
	send := func(n int, body func(i int) string, ifMatch string) []int {
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("PATCH", e.base+"/Users/"+id, strings.NewReader(body(i)))
				req.Header.Set("Authorization", "Bearer "+e2eToken)
				req.Header.Set("Content-Type", "application/scim+json")
				if ifMatch != "" {
					req.Header.Set("If-Match", ifMatch)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		return statuses
	}
	titleOp := func(i int) string {
		return fmt.Sprintf(`{"Operations":[{"op":"replace","path":"title","value":"T%d"}]}`, i)
	}
	ok, stale := 0, 0
	for _, s := range send(8, titleOp, v1) {
		switch s {
		case 200:
			ok++
		case 412:
			stale++
		default:
			t.Errorf("PATCH with If-Match: status %d", s)
		}
	}
	if ok != 1 || stale != 7 {
		t.Errorf("8 PATCHes with the same If-Match: %d succeeded, %d got 412; want 1 and 7", ok, stale)
	}

	emailOp := func(i int) string {
		return fmt.Sprintf(`{"Operations":[{"op":"add","path":"emails","value":[{"value":"m%d@example.com","type":"other"}]}]}`, i)
	}
	for i, s := range send(8, emailOp, "") {
		if s != 200 {
			t.Errorf("PATCH %d without If-Match: %d", i, s)
		}
	}
	if emails, _ := e.getUser(id)["emails"].([]any); len(emails) != 8 {
		t.Errorf("8 concurrent PATCHes each adding an email left %d emails (lost updates)", len(emails))
	}
}
