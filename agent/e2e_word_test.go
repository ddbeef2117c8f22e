package agent_test

// Writes keep their word: what the IdP set stays set, the same request twice is one change, and nothing
// the IdP sends is lost or silently half-applied.

import (
	"strings"
	"testing"
)

const e2eAcmeURN = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"

// outboxCount counts the events of one type recorded for a user.
func (e *e2eEnv) outboxCount(id, typ string) int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM scim_outbox WHERE subject = ? AND type = ?", "user:"+id, typ); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestE2EWordTemplateDefaultOnlyWhenAbsent(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	// The IdP sets displayName to what the template would render: it is the IdP's word all the same.
	u := e.createUser(`{"userName":"tpl@example.com","name":{"givenName":"Ann","familyName":"Smith"},"displayName":"Ann Smith"}`)
	id := e2eStr(u["id"])
	r := e.want(e.patch(id, `[{"op":"replace","path":"name.familyName","value":"Jones"}]`), 200, "PATCH familyName")
	if r.Body["displayName"] != "Ann Smith" {
		t.Errorf("PATCH of name.familyName re-derived displayName: %v", r.Body["displayName"])
	}
	if row := e.appRow("email = ?", "tpl@example.com"); row.str("display_name") != "Ann Smith" || row.str("last_name") != "Jones" {
		t.Errorf("row = %v", row)
	}
	// Removing displayName makes the template apply.
	r = e.want(e.patch(id, `[{"op":"remove","path":"displayName"}]`), 200, "PATCH remove displayName")
	if r.Body["displayName"] != "Ann Jones" {
		t.Errorf("displayName after removal = %v, want the template's Ann Jones", r.Body["displayName"])
	}
}

func TestE2EWordPutIdempotent(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"idem@example.com","name":{"givenName":"Ann","familyName":"Smith"}}`)
	id := e2eStr(u["id"])
	put := `{"userName":"idem@example.com","name":{"givenName":"Ann","familyName":"Jones"},"displayName":"Ann Smith",
		"nickName":"aj","` + e2eAcmeURN + `":{"badge":"B-7"}}`
	first := e.want(e.do("PUT", "/Users/"+id, put), 200, "PUT 1")
	row1 := e.appRow("email = ?", "idem@example.com")
	second := e.want(e.do("PUT", "/Users/"+id, put), 200, "PUT 2")
	row2 := e.appRow("email = ?", "idem@example.com")
	if first.Body["displayName"] != "Ann Smith" || second.Body["displayName"] != "Ann Smith" {
		t.Errorf("displayName: %v then %v, want Ann Smith both times", first.Body["displayName"], second.Body["displayName"])
	}
	if v1, v2 := e2eAt(first.Body, "meta.version"), e2eAt(second.Body, "meta.version"); v1 != v2 {
		t.Errorf("the same PUT twice bumped the version: %v -> %v", v1, v2)
	}
	for _, col := range []string{"display_name", "last_name", "first_name", "updated_at"} {
		if row1.str(col) != row2.str(col) {
			t.Errorf("column %s: %q then %q", col, row1.str(col), row2.str(col))
		}
	}
	if n := e.outboxCount(id, "user.updated"); n != 1 {
		t.Errorf("two identical PUTs made %d user.updated events, want 1", n)
	}
}

func TestE2EWordUnknownAttributesKept(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"keep@example.com","favouriteColour":"teal","` + e2eAcmeURN + `:floor":"3"}`)
	id := e2eStr(u["id"])
	if acme, _ := u[e2eAcmeURN].(map[string]any); u["favouriteColour"] != "teal" || acme["floor"] != "3" {
		t.Errorf("POST answer lost undeclared attributes: %v", u)
	}
	// Entra deactivates and sends an undeclared extension attribute in one PATCH: both apply.
	r := e.patch(id, `[{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"`+e2eAcmeURN+`:badge","value":"B-42"}]`)
	e.want(r, 200, "PATCH active + undeclared badge")
	if row := e.appRow("email = ?", "keep@example.com"); row.str("status") != "3" {
		t.Errorf("the deactivation was not applied: status %s", row.str("status"))
	}
	got := e.getUser(id)
	acme, _ := got[e2eAcmeURN].(map[string]any)
	if got["active"] != false || got["favouriteColour"] != "teal" || acme["badge"] != "B-42" || acme["floor"] != "3" {
		t.Errorf("GET = %v", got)
	}
	if schemas, _ := got["schemas"].([]any); !strings.Contains(strings.ToLower(e2eStr(schemas[len(schemas)-1])), "acme") {
		t.Errorf("schemas do not name the kept extension: %v", got["schemas"])
	}
	e.want(e.patch(id, `[{"op":"remove","path":"`+e2eAcmeURN+`:badge"},{"op":"remove","path":"favouriteColour"}]`), 200, "PATCH remove")
	got = e.getUser(id)
	if _, has := got["favouriteColour"]; has {
		t.Errorf("removed undeclared attributes still there: %v", got)
	}
	if acme, _ := got[e2eAcmeURN].(map[string]any); acme["floor"] != "3" || acme["badge"] != nil {
		t.Errorf("acme after removing badge = %v", acme)
	}
}

func TestE2EWordUnknownAttributesRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{extraTOML: `unknown_attributes = "refuse"`})
	r := e.do("POST", "/Users", `{"userName":"refuse@example.com","favouriteColour":"teal"}`)
	e2eWantError(t, r, 400, "invalidPath")
	if n := len(e.appRows("email = ?", "refuse@example.com")); n != 0 {
		t.Fatalf("a refused POST wrote %d rows", n)
	}
	u := e.createUser(`{"userName":"refuse@example.com"}`)
	id := e2eStr(u["id"])
	r = e.patch(id, `[{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"`+e2eAcmeURN+`:badge","value":"B-42"}]`)
	e2eWantError(t, r, 400, "invalidPath")
	if d := e2eStr(r.Body["detail"]); !strings.Contains(d, "badge") || !strings.Contains(d, "nothing of the request was applied") {
		t.Errorf("the 400 does not say what was refused and that nothing applied: %q", d)
	}
	if row := e.appRow("email = ?", "refuse@example.com"); row.str("status") != "1" {
		t.Errorf("a refused PATCH changed status to %s", row.str("status"))
	}
}

func TestE2EWordManagerEmptyValueClears(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"mgr@example.com","` + e2eEnterprise + `":{"manager":{"value":"boss-1"}}}`)
	id := e2eStr(u["id"])
	for _, clear := range []string{
		`[{"op":"Replace","path":"` + e2eEnterprise + `:manager","value":{"value":""}}]`,
		`[{"op":"Add","path":"` + e2eEnterprise + `:manager","value":""}]`,
		`[{"op":"replace","path":"` + e2eEnterprise + `:manager.value","value":""}]`,
	} {
		e.want(e.patch(id, `[{"op":"add","path":"`+e2eEnterprise+`:manager","value":"boss-1"}]`), 200, "set manager")
		if m := e2eExt(e.getUser(id), "manager"); m == nil {
			t.Fatalf("manager not set")
		}
		e.want(e.patch(id, clear), 200, clear)
		if got := e.getUser(id); e2eExt(got, "manager") != nil {
			t.Errorf("%s left manager %v", clear, e2eExt(got, "manager"))
		}
	}
	put := e.want(e.do("PUT", "/Users/"+id, `{"userName":"mgr@example.com","`+e2eEnterprise+`":{"manager":{"value":""}}}`), 200, "PUT")
	if e2eExt(put.Body, "manager") != nil {
		t.Errorf("PUT with an empty manager kept one: %s", put.Raw)
	}
}

func TestE2EWordRemoveActiveRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"userName":"rmactive@example.com"}`)
	id := e2eStr(u["id"])
	for _, ops := range []string{
		`[{"op":"remove","path":"active"}]`,
		`[{"op":"replace","path":"active","value":null}]`,
		`[{"op":"replace","path":"title","value":"x"},{"op":"remove","path":"active"}]`,
	} {
		r := e.patch(id, ops)
		e2eWantError(t, r, 400, "invalidValue")
		if !strings.Contains(e2eStr(r.Body["detail"]), "active") {
			t.Errorf("%s: detail %q", ops, r.Body["detail"])
		}
	}
	got := e.getUser(id)
	if got["active"] != true || got["title"] != nil {
		t.Errorf("a refused PATCH changed the user: %v", got)
	}
}
