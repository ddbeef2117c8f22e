package examples_test

// The helpdesk example (examples/helpdesk) over HTTP: emails and phone numbers kept one row per value in
// user_emails and user_phones, the HR profile in the one-to-one user_profiles, roles as flag columns.
// Every test asserts the app's own rows and what the server answers.

import (
	"fmt"
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

func TestHelpdeskCreateWritesEveryTable(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	r := e.must(201, "POST", "/Users", hdAnn())
	id, _ := r.Body["id"].(string)
	key := appKey(e, id)

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
	t.Parallel()
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
		key := appKey(e, r.Body["id"].(string))
		hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bob@example.com H 0"})
		hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"bob@example.com home"})
	})
	t.Run("PATCH add", func(t *testing.T) {
		e := start(t, "helpdesk")
		id, key := create(e, hdPlain("bob@example.com", "bob@example.com home primary"))
		r := e.do("PATCH", "/Users/"+id, patchBody(
			op("add", "emails", []any{map[string]any{"type": "work"}}),
			op("add", "title", "Agent")))
		if r.Status != 200 {
			t.Fatalf("PATCH adding an email element without a value: got %s, want 200 with the element dropped", r)
		}
		hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bob@example.com H 1"})
		hdEqual(t, "title", hdProfile(e, key)["title"], "Agent")
	})
	t.Run("PATCH primary of a missing element", func(t *testing.T) {
		// The element Entra aims at does not exist: the server creates {type: work, primary: true}.
		e := start(t, "helpdesk")
		id, key := create(e, hdPlain("bob@example.com", "bob@example.com home primary"))
		r := e.do("PATCH", "/Users/"+id, patchBody(op("replace", `phoneNumbers[type eq "work"].primary`, true)))
		if r.Status != 200 {
			t.Fatalf("PATCH of phoneNumbers[type eq \"work\"].primary on a user without phones: got %s, want 200", r)
		}
		hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	})
}

// The same for an element that has nothing but a primary flag, which is dropped today.
func TestHelpdeskCreateDropsFlagOnlyElement(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	u := hdPlain("bea@example.com", "bea@example.com work")
	u["phoneNumbers"] = []any{map[string]any{"primary": true}}
	u["emails"] = append(u["emails"].([]any), map[string]any{"primary": true})
	r := e.must(201, "POST", "/Users", u)
	key := appKey(e, r.Body["id"].(string))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"bea@example.com W 0"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"bea@example.com work"})
}

func TestHelpdeskProfileRowCreatedOnFirstValue(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdPlain("carl@example.com", "carl@example.com work primary"))
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
	mustPatch(e, id, op("replace", "name.givenName", "Carlos"))
	if p := hdProfile(e, key); p != nil {
		t.Fatalf("user_profiles row after a PATCH of name.givenName: %v", p)
	}

	r := mustPatch(e, id, op("add", "title", "Agent"))
	hdEqual(t, "user_profiles after adding title", hdProfile(e, key), map[string]string{"department": "NULL", "title": "Agent",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "NULL"})
	hdEqual(t, "title on the wire", r.Body["title"], any("Agent"))
	hdEqual(t, "users.first_name", hdUsersRow(e, key)["first_name"], "Carlos")

	// The app's desk_note survives scimbridge's later writes to the row.
	e.exec("UPDATE user_profiles SET desk_note = 'prefers phone' WHERE user_id = ?", key)
	r = mustPatch(e, id, op("replace", enterprise+":department", "Support"))
	hdEqual(t, "user_profiles after adding department", hdProfile(e, key), map[string]string{"department": "Support", "title": "Agent",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "prefers phone"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Support"})
	hdEqual(t, "user_profiles rows", len(e.rows("SELECT * FROM user_profiles")), 1)
}

func TestHelpdeskPutReplacesOnlyManagedEmailRows(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
	// Dora shares Ann's home address: her row must not be taken for Ann's.
	_, otherKey := create(e, hdPlain("dora@example.com", "dora@example.com work primary", "ann@home.example home"))
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
	_, otherKey := create(e, hdPlain("eve@example.com", "eve@example.com work primary", "eve@home.example home"))
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
			[]map[string]any{op("replace", `emails[type eq "work"].value`, "ann.lee@example.com")},
			[]string{"ann.lee@example.com W 1", "ann@home.example H 0"},
			[]string{"ann.lee@example.com work primary", "ann@home.example home"}, true},
		{"add a new element",
			[]map[string]any{op("add", "emails", hdEmailList("ann@other.example other"))},
			[]string{"ann.lee@example.com W 1", "ann@home.example H 0", "ann@other.example O 0"},
			[]string{"ann.lee@example.com work primary", "ann@home.example home", "ann@other.example other"}, true},
		{"replace the primary flag of the home address",
			[]map[string]any{
				op("replace", `emails[type eq "work"].primary`, false),
				op("replace", `emails[type eq "home"].primary`, true),
			},
			[]string{"ann.lee@example.com W 0", "ann@home.example H 1", "ann@other.example O 0"},
			[]string{"ann@home.example home primary", "ann.lee@example.com work", "ann@other.example other"}, true},
		{"remove the home element",
			[]map[string]any{op("remove", `emails[type eq "home"]`, nil)},
			[]string{"ann.lee@example.com W 0", "ann@other.example O 0"},
			[]string{"ann.lee@example.com work", "ann@other.example other"}, false},
		{"replace the whole list",
			[]map[string]any{op("replace", "emails", hdEmailList("ann.lee@example.com work primary"))},
			[]string{"ann.lee@example.com W 1"},
			[]string{"ann.lee@example.com work primary"}, false},
		{"remove every email",
			[]map[string]any{op("remove", "emails", nil)},
			[]string{},
			[]string{}, false},
	}
	for _, s := range steps {
		r := mustPatch(e, id, s.ops...)
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
	e.exec("UPDATE user_emails SET verified_at = '2023-03-03 03:03:03' WHERE user_id = ?", key)
	before := e.rows("SELECT id, address FROM user_emails WHERE user_id = ? ORDER BY address", key)

	r := mustPatch(e, id, op("replace", `emails[value eq "ann@home.example"].type`, "other"))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@example.com W 1", "ann@home.example O 0"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"ann@example.com work primary", "ann@home.example other"})
	after := e.rows("SELECT id, address FROM user_emails WHERE user_id = ? ORDER BY address", key)
	hdEqual(t, "row ids", after, before)

	// Entra re-sending the work address in another case: the same address, updated in place.
	r = mustPatch(e, id, op("replace", `emails[type eq "work"].value`, "Ann@Example.com"))
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdPlain("fay@example.com", "fay@home.example home primary"))
	r := mustPatch(e, id,
		op("replace", `emails[type eq "work"].value`, "fay@example.com"),
		op("replace", `phoneNumbers[type eq "mobile"].value`, "+1 555 0111"))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"fay@example.com W 0", "fay@home.example H 1"})
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{"+1 555 0111 mobile"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"fay@home.example home primary", "fay@example.com work"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"+1 555 0111 mobile"})
}

func TestHelpdeskPatchPhonesAndDepartment(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
	e.exec("UPDATE user_profiles SET desk_note = 'left-handed' WHERE user_id = ?", key)

	r := mustPatch(e, id, op("replace", enterprise+":department", "Sales"))
	hdEqual(t, "department", hdProfile(e, key)["department"], "Sales")
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Sales", "costCenter": "CC-7", "employeeNumber": "42"})

	// Entra's form: the extension's attributes as the value of a path-less replace.
	r = mustPatch(e, id, op("replace", "", map[string]any{enterprise + ":department": "Support"}))
	hdEqual(t, "department after a path-less replace", hdProfile(e, key)["department"], "Support")
	hdEqual(t, "department on the wire", hdExt(r.Body)["department"], any("Support"))

	r = mustPatch(e, id, op("remove", enterprise+":department", nil))
	hdEqual(t, "user_profiles after removing department", hdProfile(e, key), map[string]string{"department": "NULL", "title": "Engineer",
		"cost_center": "CC-7", "employee_no": "42", "desk_note": "left-handed"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"costCenter": "CC-7", "employeeNumber": "42"})

	r = mustPatch(e, id, op("remove", "phoneNumbers", nil))
	hdEqual(t, "user_phones", hdPhoneRows(e, key), []string{})
	if _, ok := r.Body["phoneNumbers"]; ok {
		t.Errorf("phoneNumbers on the wire after removing them: %s", r)
	}
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"ann@example.com W 1", "ann@home.example H 0"})

	// phoneNumbers' type has no value map: any type the IdP sends is kept as is.
	r = mustPatch(e, id, op("add", "phoneNumbers", []any{map[string]any{"value": "+44 20 7946 0000", "type": "pager"}}))
	hdEqual(t, "user_phones after add", hdPhoneRows(e, key), []string{"+44 20 7946 0000 pager"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"+44 20 7946 0000 pager"})

	// Removing every profile attribute leaves the row (desk_note is the app's) with NULLs.
	mustPatch(e, id,
		op("remove", "title", nil),
		op("remove", enterprise+":costCenter", nil),
		op("remove", enterprise+":employeeNumber", nil))
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

// A PUT that sends an address again without its type writes the column's default (SQL DEFAULT) into the
// same row, rather than NULL into the NOT NULL column.
func TestHelpdeskTypeRemovedFallsBackToColumnDefault(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	u := hdPlain("di@example.com", "di@example.com home")
	id, key := create(e, u)
	before := e.rows("SELECT id FROM user_emails WHERE user_id = ?", key)
	u["emails"] = []any{map[string]any{"value": "di@example.com"}}
	r := e.must(200, "PUT", "/Users/"+id, u)
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"di@example.com W 0"})
	hdEqual(t, "same row", e.rows("SELECT id FROM user_emails WHERE user_id = ?", key), before)
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"di@example.com work"})
}

// TestHelpdeskSuite runs the behaviour every example shares (suite_test.go) on helpdesk.
func TestHelpdeskSuite(t *testing.T) { runSuite(t, helpdeskSpec) }

// hdColumns is where helpdesk keeps each attribute the suite writes: table and column.
var hdColumns = map[string][2]string{
	pGiven: {"users", "first_name"}, pFamily: {"users", "last_name"},
	pTitle: {"user_profiles", "title"}, pDept: {"user_profiles", "department"},
	enterprise + ":costCenter": {"user_profiles", "cost_center"}, enterprise + ":employeeNumber": {"user_profiles", "employee_no"},
}

var helpdeskSpec = exampleSpec{
	dir: "helpdesk",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := hdPlain(userName, userName+" work primary")
		u["schemas"] = []string{userSchema, enterprise}
		u["name"] = map[string]any{"givenName": given, "familyName": family}
		u["phoneNumbers"] = []any{map[string]any{"value": "+1 555 0100", "type": "work"}, map[string]any{"value": "+1 555 0199", "type": "mobile"}}
		ext := map[string]any{"costCenter": "CC-7", "employeeNumber": "42"}
		if dept != "" {
			ext["department"] = dept
		}
		u[enterprise] = ext
		if title != "" {
			u["title"] = title
		}
		return u
	},
	attrs: []suiteAttr{
		{enterprise + ":costCenter", []string{enterprise, "costCenter"}, "CC-7"},
		{enterprise + ":employeeNumber", []string{enterprise, "employeeNumber"}, "42"},
	},
	value: func(e *example, key, path string) string {
		e.t.Helper()
		var rows []map[string]string
		if path == pPhone {
			rows = e.rows("SELECT number AS v FROM user_phones WHERE user_id = ? AND kind = 'work'", key)
		} else {
			c := hdColumns[path]
			id := "user_id"
			if c[0] == "users" {
				id = "id"
			}
			rows = e.rows("SELECT "+c[1]+" AS v FROM "+c[0]+" WHERE "+id+" = ?", key)
		}
		if len(rows) == 0 || rows[0]["v"] == "NULL" {
			return ""
		}
		return rows[0]["v"]
	},
	active: func(e *example, key string) bool {
		e.t.Helper()
		status := hdUsersRow(e, key)["status"]
		if status != "1" && status != "3" {
			e.t.Errorf("users.status %s, want 1 (active) or 3 (suspended)", status)
		}
		return status == "1"
	},
	content: func(e *example, key string) string {
		e.t.Helper()
		return fmt.Sprint(e.rows("SELECT id, login, first_name, last_name, is_admin, is_agent, created_at FROM users WHERE id = ?", key),
			e.rows("SELECT * FROM user_emails WHERE user_id = ? ORDER BY id", key),
			e.rows("SELECT * FROM user_phones WHERE user_id = ? ORDER BY id", key),
			e.rows("SELECT * FROM user_profiles WHERE user_id = ?", key))
	},
	seedApp: func(e *example, key string) {
		e.exec("INSERT INTO user_profiles (user_id, desk_note) VALUES (?, 'prefers phone') ON DUPLICATE KEY UPDATE desk_note = 'prefers phone'", key)
	},
	appData: func(e *example, key string) string {
		return fmt.Sprint(e.rows("SELECT desk_note FROM user_profiles WHERE user_id = ?", key))
	},
	appWords: []string{"prefers phone"},
	edit: func(e *example, key, path, value string) {
		var v any
		if value != "" {
			v = value
		}
		e.exec("UPDATE user_profiles SET "+hdColumns[path][1]+" = ? WHERE user_id = ?", v, key)
	},
	adopt: func(e *example, userName string) string {
		e.exec("INSERT INTO users (id, login, first_name, status, created_at) VALUES (7, ?, 'Old', 3, '2020-01-01')", userName)
		return "7"
	},
	failWrites: []string{
		"CREATE TRIGGER boom_insert BEFORE INSERT ON user_profiles FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER boom_update BEFORE UPDATE ON user_profiles FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}
