package agent_test

import (
	"testing"
)

// PATCH bodies in the shapes Okta and Entra send, each checked on the wire and in the app's row.
func TestE2EPatchIdPShapes(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"pat@example.com","name":{"givenName":"Pat","familyName":"Smith"},"title":"Engineer",
		"emails":[{"value":"pat@home.example","type":"home"}]}`)
	id := e2eStr(u["id"])
	key := e.appRow("email = ?", "pat@example.com")["id"]
	row := func() e2eRow { t.Helper(); return e.appRow("id = ?", key) }
	patch := func(what, ops string) map[string]any {
		t.Helper()
		r := e.want(e.patch(id, ops), 200, what)
		if r.Header.Get("ETag") != e2eAt(r.Body, "meta.version") {
			t.Errorf("%s: ETag %q, meta.version %v", what, r.Header.Get("ETag"), e2eAt(r.Body, "meta.version"))
		}
		return r.Body
	}
	listed := func(userName string) map[string]any {
		t.Helper()
		res := e2eResources(t, e.list("filter", `userName eq "`+userName+`"`))
		if len(res) != 1 {
			t.Fatalf("list by userName %s: %d results", userName, len(res))
		}
		return res[0]
	}

	// Okta deactivates with a no-path replace; the user stays readable and listed.
	b := patch("Okta deactivate", `[{"op":"replace","value":{"active":false}}]`)
	if b["active"] != false || row().str("status") != "3" {
		t.Errorf("Okta deactivate: body active %v, status %s", b["active"], row().str("status"))
	}
	if g := e.getUser(id); g["active"] != false {
		t.Errorf("GET after deactivate: active %v", g["active"])
	}
	if l := listed("pat@example.com"); l["active"] != false {
		t.Errorf("list after deactivate: %v", l)
	}
	if r := e.list("filter", "active eq false"); e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf("active eq false after deactivate: %s", r)
	}
	b = patch("Okta reactivate", `[{"op":"replace","value":{"id":"`+id+`","active":true}}]`)
	if b["active"] != true || row().str("status") != "1" {
		t.Errorf("Okta reactivate: body active %v, status %s", b["active"], row().str("status"))
	}

	// Entra: capitalised op, string booleans.
	patch("Entra deactivate", `[{"op":"Replace","path":"active","value":"False"}]`)
	if s := row().str("status"); s != "3" {
		t.Errorf("Entra deactivate: status %s", s)
	}
	patch("Entra reactivate", `[{"op":"Replace","path":"active","value":"True"}]`)
	if s := row().str("status"); s != "1" {
		t.Errorf("Entra reactivate: status %s", s)
	}

	// Entra renames the user.
	b = patch("Entra userName", `[{"op":"Replace","path":"userName","value":"New@X.com"}]`)
	if b["userName"] != "New@X.com" {
		t.Errorf("userName after rename: %v", b["userName"])
	}
	e2eWantCols(t, row(), map[string]string{"email": "New@X.com", "email_lower": "new@x.com"})
	listed("new@x.com")
	if r := e.list("filter", `userName eq "pat@example.com"`); e2eNum(r.Body["totalResults"]) != 0 {
		t.Errorf("the old userName still matches: %s", r)
	}

	// No-path value object whose keys are attribute paths, one of them a full extension URN.
	b = patch("attribute-path keys", `[{"op":"replace","value":{"name.givenName":"Z",
		"`+e2eEnterprise+`:employeeNumber":"E-7"}}]`)
	if e2eAt(b, "name.givenName") != "Z" || e2eAt(b, "name.familyName") != "Smith" || e2eExt(b, "employeeNumber") != "E-7" {
		t.Errorf("attribute-path keys: %v", b)
	}
	e2eWantCols(t, row(), map[string]string{"first_name": "Z", "last_name": "Smith", "employee_no": "E-7"})

	// Okta's nested extension object form.
	patch("extension object", `[{"op":"replace","value":{"`+e2eEnterprise+`":{"employeeNumber":"E-8","department":"R&D"}}}]`)
	e2eWantCols(t, row(), map[string]string{"employee_no": "E-8"})
	if g := e.getUser(id); e2eExt(g, "department") != "R&D" {
		t.Errorf("department: %v", g[e2eEnterprise])
	}

	// A value path creates the work email that did not exist, and keeps the home one.
	b = patch("value path", `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x.com"}]`)
	emails, _ := b["emails"].([]any)
	if len(emails) != 2 || !hasEmail(emails, "work", "w@x.com") || !hasEmail(emails, "home", "pat@home.example") {
		t.Errorf("emails after value-path replace: %v", b["emails"])
	}
	b = patch("value path again", `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"w2@x.com"}]`)
	if emails, _ := b["emails"].([]any); len(emails) != 2 || !hasEmail(emails, "work", "w2@x.com") {
		t.Errorf("emails after second value-path replace: %v", b["emails"])
	}
	if r := e.list("filter", `emails[type eq "work"].value eq "w2@x.com"`); e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf("filter on the patched email: %s", r)
	}

	// Entra sends the manager as a bare id.
	patch("manager", `[{"op":"add","path":"`+e2eEnterprise+`:manager","value":"some-id"}]`)
	if g := e.getUser(id); e2eAt(e2eExt(g, "manager").(map[string]any), "value") != "some-id" {
		t.Errorf("manager: %v", g[e2eEnterprise])
	}

	// Remove a mapped attribute: the column becomes NULL.
	b = patch("remove title", `[{"op":"remove","path":"title"}]`)
	if _, has := b["title"]; has || !row().null("job_title") {
		t.Errorf("remove title: body %v, job_title %v", b["title"], row()["job_title"])
	}
	patch("add title", `[{"op":"add","path":"Title","value":"Lead"}]`)
	e2eWantCols(t, row(), map[string]string{"job_title": "Lead"})
	// Entra removes a value with replace null... and with an empty string in a no-path object.
	patch("replace null", `[{"op":"replace","path":"title","value":null}]`)
	if !row().null("job_title") {
		t.Errorf("replace title with null left %v", row()["job_title"])
	}
}

func hasEmail(list []any, typ, value string) bool {
	for _, x := range list {
		m, _ := x.(map[string]any)
		if m["type"] == typ && m["value"] == value {
			return true
		}
	}
	return false
}

func TestE2EPatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"aon@example.com","name":{"givenName":"Al","familyName":"Or"},"title":"T"}`)
	id, v1 := e2eStr(u["id"]), e2eStr(e2eAt(u, "meta.version"))
	before := e.appRow("email = ?", "aon@example.com")
	unchanged := func(what string) {
		t.Helper()
		now := e.appRow("id = ?", before["id"])
		for _, c := range []string{"first_name", "last_name", "job_title", "status", "email", "updated_at"} {
			if now.str(c) != before.str(c) {
				t.Errorf("%s: column %s changed %q -> %q", what, c, before.str(c), now.str(c))
			}
		}
		if v := e2eAt(e.getUser(id), "meta.version"); v != v1 {
			t.Errorf("%s: version %v, want %s", what, v, v1)
		}
	}

	bad := map[string]struct{ ops, scimType string }{
		"unknown path 2nd": {`[{"op":"replace","path":"name.givenName","value":"Changed"},{"op":"replace","path":"nosuch[value eq \"x\"]","value":"x"}]`, "invalidPath"},
		"bad value 2nd":    {`[{"op":"replace","path":"title","value":"New"},{"op":"replace","path":"active","value":"perhaps"}]`, "invalidValue"},
		"bad op 2nd":       {`[{"op":"replace","path":"title","value":"New"},{"op":"frobnicate","path":"title"}]`, "invalidSyntax"},
		"readOnly id":      {`[{"op":"replace","path":"title","value":"New"},{"op":"replace","path":"id","value":"x"}]`, "mutability"},
		"remove userName":  {`[{"op":"replace","path":"title","value":"New"},{"op":"remove","path":"userName"}]`, "invalidValue"},
		"remove no path":   {`[{"op":"remove"}]`, "noTarget"},
		"bad filter path":  {`[{"op":"replace","path":"emails[type eq","value":"x"}]`, "invalidPath"},
		"no operations":    {`[]`, "invalidValue"},
	}
	for name, c := range bad {
		e2eWantError(t, e.patch(id, c.ops), 400, c.scimType)
		unchanged(name)
	}
	e2eWantError(t, e.do("PATCH", "/Users/"+id, `{"Operations":`), 400, "invalidSyntax")
	e2eWantError(t, e.patch("00000000-0000-0000-0000-000000000000", `[{"op":"replace","path":"title","value":"x"}]`), 404, "")
	unchanged("malformed")

	// Re-sending the current values changes nothing: same version, no write.
	r := e.want(e.patch(id, `[{"op":"replace","path":"name.givenName","value":"Al"},{"op":"replace","value":{"active":true,"title":"T"}}]`), 200, "no-op")
	if e2eAt(r.Body, "meta.version") != v1 || r.Header.Get("ETag") != v1 {
		t.Errorf("no-op PATCH moved the version to %v (ETag %q)", e2eAt(r.Body, "meta.version"), r.Header.Get("ETag"))
	}
	unchanged("no-op PATCH")
	e.want(e.do("PUT", "/Users/"+id, `{"userName":"aon@example.com","name":{"givenName":"Al","familyName":"Or"},"title":"T","displayName":"Al Or"}`), 200, "no-op PUT")
	unchanged("no-op PUT")
}
