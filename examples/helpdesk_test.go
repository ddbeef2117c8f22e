package examples_test

// The helpdesk example (examples/helpdesk) over HTTP: emails and phone numbers kept one row per value in
// user_emails and user_phones, the HR profile in the one-to-one user_profiles, roles as flag columns.
// Every test asserts the app's own rows and what the server answers.

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// hdAnn is a user with every attribute the helpdesk mapping keeps outside the users row.
func hdAnn() map[string]any {
	return map[string]any{
		"schemas":  []string{userSchema, enterprise},
		"userName": "ann@example.com",
		"name":     map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"title":    "Engineer",
		"emails": []any{
			map[string]any{"value": "ann@example.com", "type": "work", "primary": true},
			map[string]any{"value": "ann@home.example", "type": "home"},
		},
		"phoneNumbers": []any{
			map[string]any{"value": "+1 555 0100", "type": "work"},
			map[string]any{"value": "+1 555 0199", "type": "mobile"},
		},
		enterprise: map[string]any{"department": "R&D", "costCenter": "CC-7", "employeeNumber": "42"},
	}
}

// hdPlain is a user with nothing but a userName, names and the given emails (value/type/primary triples).
func hdPlain(userName string, emails ...string) map[string]any {
	u := map[string]any{"schemas": []string{userSchema}, "userName": userName,
		"name": map[string]any{"givenName": "G", "familyName": "F"}}
	if len(emails) > 0 {
		u["emails"] = hdEmailList(emails...)
	}
	return u
}

// hdEmailList builds emails from "value type [primary]" strings.
func hdEmailList(emails ...string) []any {
	var list []any
	for _, s := range emails {
		f := strings.Fields(s)
		m := map[string]any{"value": f[0], "type": f[1]}
		if len(f) > 2 && f[2] == "primary" {
			m["primary"] = true
		}
		list = append(list, m)
	}
	return list
}

// hdCreate POSTs a user and returns its SCIM id and its users.id.
func hdCreate(e *example, body map[string]any) (id, key string) {
	e.t.Helper()
	r := e.must(201, "POST", "/Users", body)
	id, _ = r.Body["id"].(string)
	return id, hdKey(e, id)
}

// hdKey is the users.id the SCIM user id is linked to.
func hdKey(e *example, id string) string {
	e.t.Helper()
	rows := e.rows("SELECT app_id FROM scim_users WHERE id = ?", id)
	if len(rows) != 1 {
		e.t.Fatalf("scim_users has %d rows for %s", len(rows), id)
	}
	return rows[0]["app_id"]
}

// hdEmailRows is the user's user_emails rows as "address kind is_default", sorted.
func hdEmailRows(e *example, key string) []string {
	e.t.Helper()
	return hdStrings(e.rows("SELECT address, kind, is_default FROM user_emails WHERE user_id = ?", key), "address", "kind", "is_default")
}

// hdPhoneRows is the user's user_phones rows as "number kind", sorted.
func hdPhoneRows(e *example, key string) []string {
	e.t.Helper()
	return hdStrings(e.rows("SELECT number, kind FROM user_phones WHERE user_id = ?", key), "number", "kind")
}

// hdProfile is the user's user_profiles row, nil when there is none.
func hdProfile(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT department, title, cost_center, employee_no, desk_note FROM user_profiles WHERE user_id = ?", key)
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

// hdUsersRow is the user's users row.
func hdUsersRow(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT login, first_name, last_name, status, is_admin, is_agent FROM users WHERE id = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("users has %d rows with id %s", len(rows), key)
	}
	return rows[0]
}

// hdStrings joins the named columns of each row with spaces and sorts the result.
func hdStrings(rows []map[string]string, cols ...string) []string {
	out := []string{}
	for _, r := range rows {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = r[c]
		}
		out = append(out, strings.Join(parts, " "))
	}
	sort.Strings(out)
	return out
}

// hdWire is a multi-valued attribute of a response body as "value type [primary]" strings, in order.
func hdWire(body map[string]any, attr string) []string {
	list, _ := body[attr].([]any)
	out := []string{}
	for _, x := range list {
		m, _ := x.(map[string]any)
		s := fmt.Sprintf("%v %v", m["value"], m["type"])
		if p, _ := m["primary"].(bool); p {
			s += " primary"
		}
		out = append(out, s)
	}
	return out
}

// hdExt is the enterprise extension of a response body.
func hdExt(body map[string]any) map[string]any {
	m, _ := body[enterprise].(map[string]any)
	return m
}

func hdEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func hdOp(op, path string, value any) map[string]any {
	m := map[string]any{"op": op}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// hdPatch sends a PATCH with the given operations and wants 200.
func hdPatch(e *example, id string, ops ...map[string]any) *response {
	e.t.Helper()
	return e.must(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{patchOp}, "Operations": ops})
}

// hdFind lists the users matching filter and returns totalResults and the ids returned, sorted.
func hdFind(e *example, filter string) (int, []string) {
	e.t.Helper()
	r := e.must(200, "GET", "/Users?count=100&filter="+url.QueryEscape(filter), nil)
	total, _ := r.Body["totalResults"].(float64)
	ids := []string{}
	for _, u := range resources(e.t, r) {
		ids = append(ids, u["id"].(string))
	}
	sort.Strings(ids)
	return int(total), ids
}

func TestHelpdeskCreateWritesEveryTable(t *testing.T) {
	e := start(t, "helpdesk")
	r := e.must(201, "POST", "/Users", hdAnn())
	id, _ := r.Body["id"].(string)
	key := hdKey(e, id)

	hdEqual(t, "users row", hdUsersRow(e, key), map[string]string{"login": "ann@example.com", "first_name": "Ann",
		"last_name": "Lee", "status": "1", "is_admin": "0", "is_agent": "0"})
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@example.com W 1", "ann@home.example H 0"})
	hdEqual(t, "user_emails.verified_at", hdStrings(e.rows("SELECT verified_at FROM user_emails"), "verified_at"), []string{"NULL", "NULL"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{"+1 555 0100 work", "+1 555 0199 mobile"})
	hdEqual(t, "user_profiles", hdProfile(e, key), map[string]string{"department": "R&D", "title": "Engineer",
		"cost_center": "CC-7", "employee_no": "42", "desk_note": "NULL"})

	// The response, and a GET, read it all back from the app's tables.
	for what, body := range map[string]map[string]any{"POST response": r.Body, "GET": e.must(200, "GET", "/Users/"+id, nil).Body} {
		hdEqual(t, what+" emails", hdWire(body, "emails"), []string{"ann@example.com work primary", "ann@home.example home"})
		hdEqual(t, what+" phoneNumbers", hdWire(body, "phoneNumbers"), []string{"+1 555 0100 work", "+1 555 0199 mobile"})
		hdEqual(t, what+" title", body["title"], any("Engineer"))
		hdEqual(t, what+" enterprise", hdExt(body), map[string]any{"department": "R&D", "costCenter": "CC-7", "employeeNumber": "42"})
		hdEqual(t, what+" userName", body["userName"], any("ann@example.com"))
		hdEqual(t, what+" active", body["active"], any(true))
		schemas, _ := body["schemas"].([]any)
		hdEqual(t, what+" schemas", schemas, []any{userSchema, enterprise})
	}

	// The lists are the app's: scimbridge's own document does not keep a copy of them.
	doc := e.rows("SELECT doc FROM scim_users WHERE id = ?", id)[0]["doc"]
	for _, s := range []string{"ann@home.example", "+1 555 0199"} {
		if strings.Contains(doc, s) {
			t.Errorf("scim_users.doc keeps %q: %s", s, doc)
		}
	}
}

// An element without a value is no row: it is dropped, and the rest of the request is written.
func TestHelpdeskElementWithoutValueDropped(t *testing.T) {
	t.Run("POST", func(t *testing.T) {
		e := start(t, "helpdesk")
		u := hdPlain("bob@example.com")
		u["emails"] = []any{
			map[string]any{"type": "work", "primary": true}, // a type and a flag, but no address
			map[string]any{"value": "bob@example.com", "type": "home"},
		}
		r := e.do("POST", "/Users", u)
		if r.Status != 201 {
			t.Fatalf("POST with an email element without a value: got %s, want 201 with the element dropped", r)
		}
		key := hdKey(e, r.Body["id"].(string))
		hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bob@example.com H 0"})
		hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"bob@example.com home"})
	})
	t.Run("PATCH add", func(t *testing.T) {
		e := start(t, "helpdesk")
		id, key := hdCreate(e, hdPlain("bob@example.com", "bob@example.com home primary"))
		r := e.do("PATCH", "/Users/"+id, hdGroupPatch(
			hdOp("add", "emails", []any{map[string]any{"type": "work"}}),
			hdOp("add", "title", "Agent")))
		if r.Status != 200 {
			t.Fatalf("PATCH adding an email element without a value: got %s, want 200 with the element dropped", r)
		}
		hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bob@example.com H 1"})
		hdEqual(t, "title", hdProfile(e, key)["title"], "Agent")
	})
	t.Run("PATCH primary of a missing element", func(t *testing.T) {
		// The element Entra aims at does not exist: the server creates {type: work, primary: true}.
		e := start(t, "helpdesk")
		id, key := hdCreate(e, hdPlain("bob@example.com", "bob@example.com home primary"))
		r := e.do("PATCH", "/Users/"+id, hdGroupPatch(hdOp("replace", `phoneNumbers[type eq "work"].primary`, true)))
		if r.Status != 200 {
			t.Fatalf("PATCH of phoneNumbers[type eq \"work\"].primary on a user without phones: got %s, want 200", r)
		}
		hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	})
}

// The same for an element that has nothing but a primary flag, which is dropped today.
func TestHelpdeskCreateDropsFlagOnlyElement(t *testing.T) {
	e := start(t, "helpdesk")
	u := hdPlain("bea@example.com", "bea@example.com work")
	u["phoneNumbers"] = []any{map[string]any{"primary": true}}
	u["emails"] = append(u["emails"].([]any), map[string]any{"primary": true})
	r := e.must(201, "POST", "/Users", u)
	key := hdKey(e, r.Body["id"].(string))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bea@example.com W 0"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"bea@example.com work"})
}

func TestHelpdeskProfileRowCreatedOnFirstValue(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdPlain("carl@example.com", "carl@example.com work primary"))
	if p := hdProfile(e, key); p != nil {
		t.Fatalf("user_profiles row for a user without profile attributes: %v", p)
	}
	got := e.must(200, "GET", "/Users/"+id, nil)
	if _, ok := got.Body["title"]; ok {
		t.Errorf("title on a user without a profile row: %s", got)
	}
	if _, ok := got.Body[enterprise]; ok {
		t.Errorf("enterprise extension on a user without a profile row: %s", got)
	}

	// A PATCH that changes something else does not create the row either.
	hdPatch(e, id, hdOp("replace", "name.givenName", "Carlos"))
	if p := hdProfile(e, key); p != nil {
		t.Fatalf("user_profiles row after a PATCH of name.givenName: %v", p)
	}

	r := hdPatch(e, id, hdOp("add", "title", "Agent"))
	hdEqual(t, "user_profiles after adding title", hdProfile(e, key), map[string]string{"department": "NULL", "title": "Agent",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "NULL"})
	hdEqual(t, "title on the wire", r.Body["title"], any("Agent"))
	hdEqual(t, "users.first_name", hdUsersRow(e, key)["first_name"], "Carlos")

	// The app's desk_note survives scimbridge's later writes to the row.
	e.exec("UPDATE user_profiles SET desk_note = 'prefers phone' WHERE user_id = ?", key)
	r = hdPatch(e, id, hdOp("replace", enterprise+":department", "Support"))
	hdEqual(t, "user_profiles after adding department", hdProfile(e, key), map[string]string{"department": "Support", "title": "Agent",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "prefers phone"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Support"})
	hdEqual(t, "user_profiles rows", len(e.rows("SELECT * FROM user_profiles")), 1)
}

func TestHelpdeskPutReplacesOnlyManagedEmailRows(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	// Dora shares Ann's home address: her row must not be taken for Ann's.
	_, otherKey := hdCreate(e, hdPlain("dora@example.com", "dora@example.com work primary", "ann@home.example home"))
	otherRows := func() string {
		return fmt.Sprint(e.rows("SELECT * FROM user_emails WHERE user_id = ? ORDER BY id", otherKey))
	}
	otherWant := otherRows()

	// The app verified both of Ann's addresses.
	e.exec("UPDATE user_emails SET verified_at = '2024-01-02 03:04:05' WHERE user_id = ?", key)
	ids := map[string]string{}
	for _, row := range e.rows("SELECT id, address FROM user_emails WHERE user_id = ?", key) {
		ids[row["address"]] = row["id"]
	}

	// The home address becomes the primary work one, the work address is dropped, a new one comes.
	put := hdAnn()
	put["emails"] = hdEmailList("ann@home.example work primary", "ann@other.example other")
	r := e.must(200, "PUT", "/Users/"+id, put)

	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@home.example W 1", "ann@other.example O 0"})
	kept := e.rows("SELECT id, verified_at FROM user_emails WHERE address = 'ann@home.example' AND user_id = ?", key)
	hdEqual(t, "kept row", kept, []map[string]string{{"id": ids["ann@home.example"], "verified_at": "2024-01-02T03:04:05Z"}})
	added := e.rows("SELECT verified_at FROM user_emails WHERE address = 'ann@other.example'")
	hdEqual(t, "new row", added, []map[string]string{{"verified_at": "NULL"}})
	if n := len(e.rows("SELECT id FROM user_emails WHERE address = 'ann@example.com'")); n != 0 {
		t.Errorf("the dropped address still has %d rows", n)
	}
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"ann@home.example work primary", "ann@other.example other"})
	hdEqual(t, "the other user's rows", otherRows(), otherWant)

	// The same PUT again changes nothing: no row is rewritten, the version stays.
	before := e.dump("user_emails", "user_phones", "user_profiles")
	version := r.Body["meta"].(map[string]any)["version"]
	r = e.must(200, "PUT", "/Users/"+id, put)
	hdEqual(t, "tables after the same PUT", e.dump("user_emails", "user_phones", "user_profiles"), before)
	hdEqual(t, "version after the same PUT", r.Body["meta"].(map[string]any)["version"], version)

	// An address sent in another case is the same address: the row keeps its id and verified_at.
	put["emails"] = hdEmailList("ANN@Home.Example home primary")
	r = e.must(200, "PUT", "/Users/"+id, put)
	kept = e.rows("SELECT id, address, kind, is_default, verified_at FROM user_emails WHERE user_id = ?", key)
	hdEqual(t, "row after a change of case", kept, []map[string]string{{"id": ids["ann@home.example"], "address": "ANN@Home.Example",
		"kind": "H", "is_default": "1", "verified_at": "2024-01-02T03:04:05Z"}})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"ANN@Home.Example home primary"})

	// A PUT without emails removes them all; the other user's rows stay as they were.
	delete(put, "emails")
	r = e.must(200, "PUT", "/Users/"+id, put)
	hdEqual(t, "user_emails after a PUT without emails", hdEmailRows(e, key), []string{})
	if _, ok := r.Body["emails"]; ok {
		t.Errorf("emails on the wire after a PUT without emails: %s", r)
	}
	hdEqual(t, "the other user's rows", otherRows(), otherWant)
}

// A PUT that leaves out the profile attributes clears them; the row and desk_note stay.
func TestHelpdeskPutClearsProfileColumns(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	e.exec("UPDATE user_profiles SET desk_note = 'VIP' WHERE user_id = ?", key)
	put := hdAnn()
	delete(put, "title")
	put[enterprise] = map[string]any{"department": "Ops"}
	delete(put, "phoneNumbers")
	r := e.must(200, "PUT", "/Users/"+id, put)
	hdEqual(t, "user_profiles", hdProfile(e, key), map[string]string{"department": "Ops", "title": "NULL",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "VIP"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Ops"})
	if _, ok := r.Body["title"]; ok {
		t.Errorf("title on the wire after a PUT without it: %s", r)
	}
}

func TestHelpdeskPatchEmails(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	_, otherKey := hdCreate(e, hdPlain("eve@example.com", "eve@example.com work primary", "eve@home.example home"))
	otherWant := hdEmailRows(e, otherKey)
	e.exec("UPDATE user_emails SET verified_at = '2024-05-06 07:08:09' WHERE address = 'ann@home.example'")
	homeID := e.rows("SELECT id FROM user_emails WHERE address = 'ann@home.example'")[0]["id"]

	steps := []struct {
		name     string
		ops      []map[string]any
		rows     []string // user_emails of Ann afterwards
		wire     []string // emails in the PATCH response
		homeKept bool     // the home address is still its first row, with the app's verified_at
	}{
		{"Entra's replace of the work address",
			[]map[string]any{hdOp("replace", `emails[type eq "work"].value`, "ann.lee@example.com")},
			[]string{"ann.lee@example.com W 1", "ann@home.example H 0"},
			[]string{"ann.lee@example.com work primary", "ann@home.example home"}, true},
		{"add a new element",
			[]map[string]any{hdOp("add", "emails", hdEmailList("ann@other.example other"))},
			[]string{"ann.lee@example.com W 1", "ann@home.example H 0", "ann@other.example O 0"},
			[]string{"ann.lee@example.com work primary", "ann@home.example home", "ann@other.example other"}, true},
		{"replace the primary flag of the home address",
			[]map[string]any{
				hdOp("replace", `emails[type eq "work"].primary`, false),
				hdOp("replace", `emails[type eq "home"].primary`, true),
			},
			[]string{"ann.lee@example.com W 0", "ann@home.example H 1", "ann@other.example O 0"},
			[]string{"ann@home.example home primary", "ann.lee@example.com work", "ann@other.example other"}, true},
		{"remove the home element",
			[]map[string]any{hdOp("remove", `emails[type eq "home"]`, nil)},
			[]string{"ann.lee@example.com W 0", "ann@other.example O 0"},
			[]string{"ann.lee@example.com work", "ann@other.example other"}, false},
		{"replace the whole list",
			[]map[string]any{hdOp("replace", "emails", hdEmailList("ann.lee@example.com work primary"))},
			[]string{"ann.lee@example.com W 1"},
			[]string{"ann.lee@example.com work primary"}, false},
		{"remove every email",
			[]map[string]any{hdOp("remove", "emails", nil)},
			[]string{},
			[]string{}, false},
	}
	for _, s := range steps {
		r := hdPatch(e, id, s.ops...)
		hdEqual(t, s.name+": user_emails", hdEmailRows(e, key), s.rows)
		hdEqual(t, s.name+": emails on the wire", hdWire(r.Body, "emails"), s.wire)
		hdEqual(t, s.name+": GET emails", hdWire(e.must(200, "GET", "/Users/"+id, nil).Body, "emails"), s.wire)
		hdEqual(t, s.name+": the other user's rows", hdEmailRows(e, otherKey), otherWant)
		if s.homeKept {
			row := e.rows("SELECT id, verified_at FROM user_emails WHERE address = 'ann@home.example'")
			hdEqual(t, s.name+": home row", row, []map[string]string{{"id": homeID, "verified_at": "2024-05-06T07:08:09Z"}})
		}
	}
	// Emails are not the profile: nothing else moved.
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{"+1 555 0100 work", "+1 555 0199 mobile"})
	hdEqual(t, "user_profiles.title", hdProfile(e, key)["title"], "Engineer")
}

// A new type for an address, or the same address in another case, updates its row in place: the row keeps
// its id and the app's verified_at.
func TestHelpdeskPatchEmailTypeKeepsRow(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	e.exec("UPDATE user_emails SET verified_at = '2023-03-03 03:03:03' WHERE user_id = ?", key)
	before := e.rows("SELECT id, address FROM user_emails WHERE user_id = ? ORDER BY address", key)

	r := hdPatch(e, id, hdOp("replace", `emails[value eq "ann@home.example"].type`, "other"))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@example.com W 1", "ann@home.example O 0"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"ann@example.com work primary", "ann@home.example other"})
	after := e.rows("SELECT id, address FROM user_emails WHERE user_id = ? ORDER BY address", key)
	hdEqual(t, "row ids", after, before)

	// Entra re-sending the work address in another case: the same address, updated in place.
	r = hdPatch(e, id, hdOp("replace", `emails[type eq "work"].value`, "Ann@Example.com"))
	hdEqual(t, "user_emails after a change of case", hdEmailRows(e, key), []string{"Ann@Example.com W 1", "ann@home.example O 0"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"Ann@Example.com work primary", "ann@home.example other"})
	hdEqual(t, "row ids after a change of case", hdStrings(e.rows("SELECT id FROM user_emails WHERE user_id = ?", key), "id"),
		hdStrings(before, "id"))
	hdEqual(t, "verified_at", hdStrings(e.rows("SELECT verified_at FROM user_emails WHERE user_id = ?", key), "verified_at"),
		[]string{"2023-03-03T03:03:03Z", "2023-03-03T03:03:03Z"})
}

// Entra aims replace at an element the user does not have yet (emails[type eq "work"].value on a user
// with only a home address): the element is created, and becomes a row.
func TestHelpdeskPatchCreatesMissingElement(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdPlain("fay@example.com", "fay@home.example home primary"))
	r := hdPatch(e, id,
		hdOp("replace", `emails[type eq "work"].value`, "fay@example.com"),
		hdOp("replace", `phoneNumbers[type eq "mobile"].value`, "+1 555 0111"))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"fay@example.com W 0", "fay@home.example H 1"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{"+1 555 0111 mobile"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"fay@home.example home primary", "fay@example.com work"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"+1 555 0111 mobile"})
}

func TestHelpdeskPatchPhonesAndDepartment(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	e.exec("UPDATE user_profiles SET desk_note = 'left-handed' WHERE user_id = ?", key)

	r := hdPatch(e, id, hdOp("replace", enterprise+":department", "Sales"))
	hdEqual(t, "department", hdProfile(e, key)["department"], "Sales")
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Sales", "costCenter": "CC-7", "employeeNumber": "42"})

	// Entra's form: the extension's attributes as the value of a path-less replace.
	r = hdPatch(e, id, hdOp("replace", "", map[string]any{enterprise + ":department": "Support"}))
	hdEqual(t, "department after a path-less replace", hdProfile(e, key)["department"], "Support")
	hdEqual(t, "department on the wire", hdExt(r.Body)["department"], any("Support"))

	r = hdPatch(e, id, hdOp("remove", enterprise+":department", nil))
	hdEqual(t, "user_profiles after removing department", hdProfile(e, key), map[string]string{"department": "NULL", "title": "Engineer",
		"cost_center": "CC-7", "employee_no": "42", "desk_note": "left-handed"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"costCenter": "CC-7", "employeeNumber": "42"})

	r = hdPatch(e, id, hdOp("remove", "phoneNumbers", nil))
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	if _, ok := r.Body["phoneNumbers"]; ok {
		t.Errorf("phoneNumbers on the wire after removing them: %s", r)
	}
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@example.com W 1", "ann@home.example H 0"})

	// phoneNumbers' type has no value map: any type the IdP sends is kept as is.
	r = hdPatch(e, id, hdOp("add", "phoneNumbers", []any{map[string]any{"value": "+44 20 7946 0000", "type": "pager"}}))
	hdEqual(t, "user_phones after add", hdPhoneRows(e, key), []string{"+44 20 7946 0000 pager"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"+44 20 7946 0000 pager"})

	// Removing every profile attribute leaves the row (desk_note is the app's) with NULLs.
	hdPatch(e, id,
		hdOp("remove", "title", nil),
		hdOp("remove", enterprise+":costCenter", nil),
		hdOp("remove", enterprise+":employeeNumber", nil))
	hdEqual(t, "user_profiles after removing everything", hdProfile(e, key), map[string]string{"department": "NULL", "title": "NULL",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "left-handed"})
	got := e.must(200, "GET", "/Users/"+id, nil)
	if _, ok := got.Body["title"]; ok {
		t.Errorf("title on the wire after removing it: %s", got)
	}
	if ext := hdExt(got.Body); len(ext) > 0 {
		t.Errorf("enterprise on the wire after removing every attribute: %v", ext)
	}
}

func TestHelpdeskFilters(t *testing.T) {
	e := start(t, "helpdesk")
	ann, _ := hdCreate(e, hdAnn()) // work ann@example.com (primary), home ann@home.example; R&D; Engineer
	bob := hdPlain("bob@example.com", "bob@example.com work primary", "bob@gmail.example home")
	bob["title"] = "Agent"
	bob[enterprise] = map[string]any{"department": "Support"}
	bob["schemas"] = []string{userSchema, enterprise}
	bobID, _ := hdCreate(e, bob)
	carl, _ := hdCreate(e, hdPlain("carl@example.com", "carl@other.example other")) // no profile row
	dora, doraKey := hdCreate(e, hdPlain("dora@example.com"))                       // no emails
	e.exec("INSERT INTO user_profiles (user_id, desk_note) VALUES (?, 'app row, no title')", doraKey)

	ids := func(ids ...string) []string {
		sort.Strings(ids)
		if ids == nil {
			return []string{}
		}
		return ids
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{`emails.value eq "ann@example.com"`, ids(ann)},
		{`emails.value eq "ann@home.example"`, ids(ann)}, // a non-primary address
		{`emails.value eq "ANN@HOME.EXAMPLE"`, ids(ann)}, // emails.value is not caseExact
		{`emails eq "bob@gmail.example"`, ids(bobID)},
		{`emails.value eq "nobody@example.com"`, ids()},
		{`emails[type eq "work" and value sw "ann@"]`, ids(ann)},
		{`emails[type eq "home" and value sw "ann@example"]`, ids()}, // both, but on one element
		{`emails[type eq "work" and value co "example.com"]`, ids(ann, bobID)},
		{`emails[type eq "other"]`, ids(carl)},
		{`emails.type eq "home"`, ids(ann, bobID)},
		{`emails.type eq "WORK"`, ids(ann, bobID)}, // type is not caseExact either
		{`emails[not (type eq "work")]`, ids(ann, bobID, carl)},
		{`emails.primary eq false`, ids(ann, bobID, carl)}, // each has an address that is not primary
		{`not (emails pr)`, ids(dora)},
		{`emails.primary eq true`, ids(ann, bobID)},
		{`emails pr`, ids(ann, bobID, carl)},
		{`emails.value ew ".example"`, ids(ann, bobID, carl)},
		{`phoneNumbers.value co "555 0199"`, ids(ann)},
		{`phoneNumbers[type eq "mobile"]`, ids(ann)},
		{enterprise + `:department eq "Support"`, ids(bobID)},
		{enterprise + `:department eq "support"`, ids(bobID)},
		{enterprise + `:employeeNumber eq "42"`, ids(ann)},
		{`title eq "Engineer"`, ids(ann)},
		{`title ne "Engineer"`, ids(bobID, carl, dora)}, // carl has no profile row, dora one without a title
		{`not (title eq "Engineer")`, ids(bobID, carl, dora)},
		{`title pr`, ids(ann, bobID)},
		{`not (emails.value eq "ann@home.example")`, ids(bobID, carl, dora)},
		{`userName eq "bob@example.com" and emails.value eq "bob@gmail.example"`, ids(bobID)},
		{`userName eq "bob@example.com" and emails.value eq "ann@example.com"`, ids()},
		{`userName eq "carl@example.com" or emails[type eq "home"]`, ids(ann, bobID, carl)},
		{`userName sw "dora" or title eq "Agent"`, ids(bobID, dora)},
		{`(emails.value eq "ann@example.com" or emails.value eq "carl@other.example") and not (title pr)`, ids(carl)},
		{enterprise + `:department eq "R&D" or phoneNumbers pr`, ids(ann)},
	}
	for _, c := range cases {
		total, got := hdFind(e, c.filter)
		if total != len(c.want) || !reflect.DeepEqual(got, c.want) {
			t.Errorf("filter %s: totalResults %d, ids %v; want %d, %v", c.filter, total, got, len(c.want), c.want)
		}
	}

	// A page of users matching a list filter reads back every user's lists.
	r := e.must(200, "GET", "/Users?count=1&startIndex=2&filter="+url.QueryEscape(`emails.value ew "example.com"`), nil)
	list := resources(t, r)
	hdEqual(t, "second page totalResults", r.Body["totalResults"], any(float64(2)))
	if len(list) != 1 {
		t.Fatalf("second page: %s", r)
	}
	hdEqual(t, "second page's user", list[0]["id"], any(bobID))
	hdEqual(t, "second page's emails", hdWire(list[0], "emails"), []string{"bob@example.com work primary", "bob@gmail.example home"})
}

func TestHelpdeskDeactivateDeleteRelink(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())

	r := hdPatch(e, id, hdOp("Replace", "active", "False")) // as Entra sends it
	hdEqual(t, "status after active=false", hdUsersRow(e, key)["status"], "3")
	hdEqual(t, "active on the wire", r.Body["active"], any(false))
	r = hdPatch(e, id, hdOp("replace", "", map[string]any{"active": true}))
	hdEqual(t, "status after active=true", hdUsersRow(e, key)["status"], "1")
	hdEqual(t, "active on the wire", r.Body["active"], any(true))

	e.exec("UPDATE user_emails SET verified_at = '2022-02-02 02:02:02' WHERE address = 'ann@home.example'")
	e.exec("UPDATE user_profiles SET desk_note = 'keep me' WHERE user_id = ?", key)
	side := e.dump("user_emails", "user_phones", "user_profiles")

	e.must(204, "DELETE", "/Users/"+id, nil)
	hdEqual(t, "status after DELETE", hdUsersRow(e, key)["status"], "3")
	hdEqual(t, "side tables after DELETE", e.dump("user_emails", "user_phones", "user_profiles"), side)
	e.must(404, "GET", "/Users/"+id, nil)
	if total, _ := hdFind(e, `emails.value eq "ann@example.com"`); total != 0 {
		t.Errorf("a deleted user is still found by its email: %d", total)
	}

	// The IdP provisions Ann again: the same app row comes back, active, as the POST describes it.
	again := hdAnn()
	again["emails"] = hdEmailList("ann@home.example home primary", "ann@new.example work")
	again["title"] = "Lead"
	delete(again, "phoneNumbers")
	r = e.must(201, "POST", "/Users", again)
	newID, _ := r.Body["id"].(string)
	if newID == id {
		t.Errorf("the re-linked user kept the deleted user's id %s", id)
	}
	hdEqual(t, "re-linked app row", hdKey(e, newID), key)
	hdEqual(t, "users rows", len(e.rows("SELECT id FROM users")), 1)
	hdEqual(t, "users row", hdUsersRow(e, key), map[string]string{"login": "ann@example.com", "first_name": "Ann",
		"last_name": "Lee", "status": "1", "is_admin": "0", "is_agent": "0"})
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@home.example H 1", "ann@new.example W 0"})
	hdEqual(t, "kept home address's verified_at",
		e.rows("SELECT verified_at FROM user_emails WHERE address = 'ann@home.example'"), []map[string]string{{"verified_at": "2022-02-02T02:02:02Z"}})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	hdEqual(t, "user_profiles", hdProfile(e, key), map[string]string{"department": "R&D", "title": "Lead",
		"cost_center": "CC-7", "employee_no": "42", "desk_note": "keep me"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"ann@home.example home primary", "ann@new.example work"})
	hdEqual(t, "active on the wire", r.Body["active"], any(true))
	if _, ok := r.Body["phoneNumbers"]; ok {
		t.Errorf("phoneNumbers on the wire after a re-POST without them: %s", r)
	}
}

func TestHelpdeskGroupRoleFlags(t *testing.T) {
	e := start(t, "helpdesk")
	ann, annKey := hdCreate(e, hdAnn())
	bob, bobKey := hdCreate(e, hdPlain("bob@example.com", "bob@example.com work primary"))
	flags := func(key string) string {
		row := hdUsersRow(e, key)
		return "admin=" + row["is_admin"] + " agent=" + row["is_agent"]
	}

	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Helpdesk Admins", "members": []any{map[string]any{"value": ann}}})
	admins, _ := g.Body["id"].(string)
	hdEqual(t, "ann after joining the admins", flags(annKey), "admin=1 agent=0")
	hdEqual(t, "bob, in no group", flags(bobKey), "admin=0 agent=0")
	groups, _ := e.must(200, "GET", "/Users/"+ann, nil).Body["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["value"] != admins {
		t.Errorf("ann's groups on the wire: %v", groups)
	}

	a := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Helpdesk Agents"})
	agents, _ := a.Body["id"].(string)
	e.must(200, "PATCH", "/Groups/"+agents, hdGroupPatch(hdOp("add", "members", []any{map[string]any{"value": ann}, map[string]any{"value": bob}})))
	hdEqual(t, "ann in both groups", flags(annKey), "admin=1 agent=1")
	hdEqual(t, "bob in the agents", flags(bobKey), "admin=0 agent=1")

	e.must(200, "PATCH", "/Groups/"+admins, hdGroupPatch(hdOp("remove", `members[value eq "`+ann+`"]`, nil)))
	hdEqual(t, "ann after leaving the admins", flags(annKey), "admin=0 agent=1")

	e.must(204, "DELETE", "/Groups/"+agents, nil)
	hdEqual(t, "ann after the agents group is deleted", flags(annKey), "admin=0 agent=0")
	hdEqual(t, "bob after the agents group is deleted", flags(bobKey), "admin=0 agent=0")

	// A group without a rule changes no flag.
	e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Everyone", "members": []any{map[string]any{"value": ann}, map[string]any{"value": bob}}})
	hdEqual(t, "ann in a group without a rule", flags(annKey), "admin=0 agent=0")
	// Roles are not user attributes: the side tables are not touched by memberships.
	hdEqual(t, "ann's emails", hdEmailRows(e, annKey), []string{"ann@example.com W 1", "ann@home.example H 0"})
}

// hdGroupPatch is a PATCH body for a group.
func hdGroupPatch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{patchOp}, "Operations": ops}
}

// hdBook is scimbridge's bookkeeping, to compare before and after a failed request.
func hdBook(e *example) string {
	e.t.Helper()
	return fmt.Sprint(e.rows("SELECT id, app_id, user_name, active, version, last_modified, deleted_at FROM scim_users ORDER BY id")) +
		fmt.Sprint(e.rows("SELECT COUNT(*) AS n FROM scim_outbox"))
}

var hdAllTables = []string{"users", "user_emails", "user_phones", "user_profiles"}

func TestHelpdeskFailedWriteChangesNothing(t *testing.T) {
	cases := []struct {
		name    string
		trigger string // fails the request after other tables were written
		request func(e *example, id string) *response
	}{
		{"POST, profile insert fails",
			"CREATE TRIGGER boom BEFORE INSERT ON user_profiles FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
			func(e *example, _ string) *response {
				u := hdAnn()
				u["userName"] = "new@example.com"
				u["emails"] = hdEmailList("new@example.com work primary")
				return e.do("POST", "/Users", u)
			}},
		{"POST, phone insert fails after emails and profile",
			"CREATE TRIGGER boom BEFORE INSERT ON user_phones FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
			func(e *example, _ string) *response {
				u := hdAnn()
				u["userName"] = "new@example.com"
				u["emails"] = hdEmailList("new@example.com work primary")
				return e.do("POST", "/Users", u)
			}},
		{"PATCH, profile update fails",
			"CREATE TRIGGER boom BEFORE UPDATE ON user_profiles FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
			func(e *example, id string) *response {
				return e.do("PATCH", "/Users/"+id, map[string]any{"schemas": []string{patchOp}, "Operations": []any{
					hdOp("replace", "name.givenName", "Annie"),
					hdOp("replace", "active", false),
					hdOp("replace", `emails[type eq "work"].value`, "annie@example.com"),
					hdOp("add", "phoneNumbers", []any{map[string]any{"value": "+1 555 0142", "type": "home"}}),
					hdOp("replace", enterprise+":department", "Sales"),
				}})
			}},
		{"PUT, email insert fails after the users row and profile",
			"CREATE TRIGGER boom BEFORE INSERT ON user_emails FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
			func(e *example, id string) *response {
				u := hdAnn()
				u["name"] = map[string]any{"givenName": "Annie", "familyName": "Lee"}
				u["title"] = "Boss"
				u["emails"] = hdEmailList("ann@home.example work primary", "ann@third.example other")
				return e.do("PUT", "/Users/"+id, u)
			}},
		{"re-POST after DELETE, profile update fails",
			"CREATE TRIGGER boom BEFORE UPDATE ON user_profiles FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
			func(e *example, id string) *response {
				e.must(204, "DELETE", "/Users/"+id, nil)
				before := hdBook(e) + e.dump(hdAllTables...)
				u := hdAnn()
				u["title"] = "Returned"
				u["emails"] = hdEmailList("ann@back.example work primary")
				r := e.do("POST", "/Users", u)
				hdEqual(e.t, "after the failed re-POST", hdBook(e)+e.dump(hdAllTables...), before)
				return r
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, "helpdesk")
			id, _ := hdCreate(e, hdAnn())
			hdCreate(e, hdPlain("bob@example.com", "bob@example.com work primary"))
			e.exec(c.trigger)
			tables, book := e.dump(hdAllTables...), hdBook(e)

			r := c.request(e, id)
			if r.Status < 400 {
				t.Fatalf("the request succeeded despite the trigger: %s", r)
			}
			if !strings.Contains(fmt.Sprint(r.Body["schemas"]), "urn:ietf:params:scim:api:messages:2.0:Error") {
				t.Errorf("not a SCIM error: %s", r)
			}
			if strings.HasPrefix(c.name, "re-POST") {
				return // compared inside, after the DELETE
			}
			hdEqual(t, "app tables after the failed request", e.dump(hdAllTables...), tables)
			hdEqual(t, "bookkeeping after the failed request", hdBook(e), book)

			// Once the app drops its trigger, the same user is writable again and reads as before.
			e.exec("DROP TRIGGER boom")
			hdEqual(t, "GET after the failure", hdWire(e.must(200, "GET", "/Users/"+id, nil).Body, "emails"),
				[]string{"ann@example.com work primary", "ann@home.example home"})
		})
	}
}

func TestHelpdeskUnmappedEmailTypeRejected(t *testing.T) {
	e := start(t, "helpdesk")
	id, _ := hdCreate(e, hdAnn())
	custom := map[string]any{"value": "ann@custom.example", "type": "custom"}

	post := hdAnn()
	post["userName"] = "zed@example.com"
	post["emails"] = []any{map[string]any{"value": "zed@example.com", "type": "work", "primary": true}, custom}
	put := hdAnn()
	put["emails"] = []any{custom}
	requests := []struct {
		name, method, path string
		body               any
	}{
		{"POST", "POST", "/Users", post},
		{"PUT", "PUT", "/Users/" + id, put},
		{"PATCH add", "PATCH", "/Users/" + id, hdGroupPatch(hdOp("add", "emails", []any{custom}))},
		{"PATCH replace type", "PATCH", "/Users/" + id, hdGroupPatch(
			hdOp("replace", "title", "Changed"),
			hdOp("replace", `emails[type eq "home"].type`, "custom"))},
	}
	for _, rq := range requests {
		tables, book := e.dump(hdAllTables...), hdBook(e)
		r := e.do(rq.method, rq.path, rq.body)
		if r.Status != 400 {
			t.Errorf("%s with email type \"custom\": got %s, want 400", rq.name, r)
		} else if !strings.Contains(string(r.Raw), "urn:ietf:params:scim:api:messages:2.0:Error") || r.Body["status"] != "400" {
			t.Errorf("%s: not a SCIM error: %s", rq.name, r)
		} else {
			t.Logf("%s: %s", rq.name, r)
		}
		hdEqual(t, rq.name+": app tables", e.dump(hdAllTables...), tables)
		hdEqual(t, rq.name+": bookkeeping", hdBook(e), book)
	}
}

// A POST whose userName matches an app user scimbridge never provisioned adopts the app's row: its email
// rows are matched by address, its profile row is updated, and what the POST does not send stays.
func TestHelpdeskAdoptExistingAppUser(t *testing.T) {
	e := start(t, "helpdesk")
	e.exec("INSERT INTO users (id, login, first_name, status, created_at) VALUES (7, 'old@example.com', 'Old', 3, '2020-01-01')")
	e.exec(`INSERT INTO user_emails (id, user_id, address, kind, is_default, verified_at) VALUES
		(70, 7, 'old@example.com', 'W', 1, '2020-01-02'), (71, 7, 'old@legacy.example', 'X', 0, NULL)`)
	e.exec("INSERT INTO user_profiles (user_id, title, department, desk_note) VALUES (7, 'Old title', 'Old dept', 'note')")
	e.exec("INSERT INTO user_phones (id, user_id, number, kind) VALUES (700, 7, '123', NULL)")

	u := hdPlain("old@example.com", "OLD@example.com home primary")
	u["title"] = "New title"
	r := e.must(201, "POST", "/Users", u)
	id, _ := r.Body["id"].(string)
	hdEqual(t, "adopted app row", hdKey(e, id), "7")
	hdEqual(t, "users rows", len(e.rows("SELECT id FROM users")), 1)
	hdEqual(t, "users row", hdUsersRow(e, "7"), map[string]string{"login": "old@example.com", "first_name": "G",
		"last_name": "F", "status": "1", "is_admin": "0", "is_agent": "0"})
	hdEqual(t, "user_emails", e.rows("SELECT id, address, kind, is_default, verified_at FROM user_emails"),
		[]map[string]string{{"id": "70", "address": "OLD@example.com", "kind": "H", "is_default": "1", "verified_at": "2020-01-02T00:00:00Z"}})
	hdEqual(t, "user_phones (not sent)", e.rows("SELECT id, number, kind FROM user_phones"),
		[]map[string]string{{"id": "700", "number": "123", "kind": "NULL"}})
	hdEqual(t, "user_profiles", hdProfile(e, "7"), map[string]string{"department": "Old dept", "title": "New title",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "note"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"OLD@example.com home primary"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"123 <nil>"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Old dept"})

	// The phone without a type (kind IS NULL) is updated in place when the IdP gives it one.
	r = hdPatch(e, id, hdOp("replace", "phoneNumbers", []any{map[string]any{"value": "123", "type": "work"}}))
	hdEqual(t, "user_phones after typing", e.rows("SELECT id, number, kind FROM user_phones"),
		[]map[string]string{{"id": "700", "number": "123", "kind": "work"}})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"123 work"})
}

// An IdP re-sending what the user already has (Entra's periodic sync) writes nothing and keeps the ETag.
func TestHelpdeskUnchangedPatchKeepsVersion(t *testing.T) {
	e := start(t, "helpdesk")
	id, _ := hdCreate(e, hdAnn())
	before := e.dump(hdAllTables...)
	book := hdBook(e)
	r := hdPatch(e, id,
		hdOp("replace", "emails", hdEmailList("ann@home.example home", "ann@example.com work primary")), // another order
		hdOp("replace", `emails[type eq "work"].value`, "ann@example.com"),
		hdOp("replace", "title", "Engineer"),
		hdOp("replace", enterprise+":department", "R&D"),
		hdOp("add", "phoneNumbers", []any{map[string]any{"value": "+1 555 0100", "type": "work"}}))
	hdEqual(t, "version", r.Body["meta"].(map[string]any)["version"], any(`W/"1"`))
	hdEqual(t, "app tables", e.dump(hdAllTables...), before)
	hdEqual(t, "bookkeeping", hdBook(e), book)
}

// attributes= and excludedAttributes= apply to what the side tables hold as to any attribute.
func TestHelpdeskProjection(t *testing.T) {
	e := start(t, "helpdesk")
	id, _ := hdCreate(e, hdAnn())
	r := e.must(200, "GET", "/Users/"+id+"?attributes=emails,title", nil)
	hdEqual(t, "emails", hdWire(r.Body, "emails"), []string{"ann@example.com work primary", "ann@home.example home"})
	hdEqual(t, "title", r.Body["title"], any("Engineer"))
	for _, a := range []string{"phoneNumbers", enterprise, "name"} {
		if _, ok := r.Body[a]; ok {
			t.Errorf("%s returned with attributes=emails,title: %s", a, r)
		}
	}
	r = e.must(200, "GET", "/Users?excludedAttributes=emails,phoneNumbers&filter="+url.QueryEscape(`emails.value eq "ann@home.example"`), nil)
	list := resources(t, r)
	if len(list) != 1 {
		t.Fatalf("list: %s", r)
	}
	for _, a := range []string{"emails", "phoneNumbers"} {
		if _, ok := list[0][a]; ok {
			t.Errorf("%s returned with excludedAttributes: %s", a, r)
		}
	}
	hdEqual(t, "title", list[0]["title"], any("Engineer"))

	// A filter on a sub-attribute emails do not have, or an order operator on the mapped type column, is
	// the client's error.
	for _, f := range []string{`emails[foo eq "x"]`, `emails.type sw "wo"`} {
		r = e.must(400, "GET", "/Users?filter="+url.QueryEscape(f), nil)
		hdEqual(t, f+": scimType", r.Body["scimType"], any("invalidFilter"))
	}
}

// RFC 7643 section 2.4: primary true appears at most once. A POST or PUT with two primary emails is either
// refused (400, nothing written) or stored with one default address, never two is_default = 1 rows.
func TestHelpdeskAtMostOnePrimary(t *testing.T) {
	e := start(t, "helpdesk")
	id, key := hdCreate(e, hdAnn())
	two := hdEmailList("gus@example.com work primary", "gus@home.example home primary")

	post := hdPlain("gus@example.com")
	post["emails"] = two
	put := hdAnn()
	put["emails"] = hdEmailList("ann@example.com work primary", "ann@home.example home primary")
	for _, rq := range []struct {
		method, path string
		body         map[string]any
	}{{"POST", "/Users", post}, {"PUT", "/Users/" + id, put}} {
		before := e.dump(hdAllTables...)
		r := e.do(rq.method, rq.path, rq.body)
		switch {
		case r.Status == 400:
			hdEqual(t, rq.method+" refused: app tables", e.dump(hdAllTables...), before)
		case r.Status < 300:
			k := key
			if rq.method == "POST" {
				k = hdKey(e, r.Body["id"].(string))
			}
			n := len(e.rows("SELECT id FROM user_emails WHERE user_id = ? AND is_default = 1", k))
			if n > 1 {
				t.Errorf("%s with two primary emails: %d rows with is_default = 1; response %s", rq.method, n, r)
			}
		default:
			t.Errorf("%s with two primary emails: %s", rq.method, r)
		}
	}
}

// An email sent without a type leaves user_emails.kind to its column default (W, read back as work)
// rather than writing NULL into the NOT NULL column.
func TestHelpdeskElementWithoutTypeGetsColumnDefault(t *testing.T) {
	e := start(t, "helpdesk")
	u := hdPlain("cy@example.com")
	u["emails"] = []any{map[string]any{"value": "cy@example.com", "primary": true}}
	r := e.must(201, "POST", "/Users", u)
	key := hdKey(e, r.Body["id"].(string))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"cy@example.com W 1"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"cy@example.com work primary"})
}
