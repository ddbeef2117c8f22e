package examples_test

// Tests of examples/json-profile ("Tracker"): SCIM attributes kept as members of the JSON document column
// accounts.profile ([users.json.profile]). Every test asserts both what the app's table holds (the
// document decoded and compared member by member) and what SCIM clients see on the wire.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// appMembers are the members of accounts.profile that belong to the app, not to scimbridge. seats does
// not fit a float64 and ratio has a trailing zero: both must come back exactly as the app wrote them.
const appMembers = `{"preferences":{"theme":"dark","shortcuts":["g i","g p"]},"onboarding":true,
	"limits":{"seats":12345678901234567890,"ratio":1.50},"note":"<b>Tom & Jerry</b>"}`

// jpDecode decodes a JSON object keeping numbers as written (json.Number).
func jpDecode(t *testing.T, text string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %q: %v", text, err)
	}
	return m
}

// jpMerge returns the members of all objects, later ones winning; nested objects are merged as well.
func jpMerge(objs ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, o := range objs {
		for k, v := range o {
			if sub, ok := v.(map[string]any); ok {
				if have, ok := out[k].(map[string]any); ok {
					out[k] = jpMerge(have, sub)
					continue
				}
				out[k] = jpMerge(sub)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// jpAccount is the accounts row of the app user with this username.
func jpAccount(e *example, userName string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT * FROM accounts WHERE username = ?", userName)
	if len(rows) != 1 {
		e.t.Fatalf("accounts rows with username %q: %d, want 1", userName, len(rows))
	}
	return rows[0]
}

// jpProfile is accounts.profile of the app user with this username, decoded; nil for SQL NULL.
func jpProfile(e *example, userName string) map[string]any {
	e.t.Helper()
	raw := jpAccount(e, userName)["profile"]
	if raw == "NULL" {
		return nil
	}
	return jpDecode(e.t, raw)
}

// jpWantProfile fails unless accounts.profile of the user is exactly want (a JSON object literal).
func jpWantProfile(e *example, userName string, want string) {
	e.t.Helper()
	jpWantDoc(e.t, "accounts.profile of "+userName, jpProfile(e, userName), jpDecode(e.t, want))
}

func jpWantDoc(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// jpCreate POSTs a user and returns its id.
func jpCreate(e *example, body map[string]any) string {
	e.t.Helper()
	id, _ := create(e, body)
	return id
}

// jpWantAt fails unless body has want at path; want nil means absent.
func jpWantAt(t *testing.T, body map[string]any, want any, path ...string) {
	t.Helper()
	if got := at(body, path...); !reflect.DeepEqual(got, want) {
		t.Errorf("body %v: got %#v, want %#v", path, got, want)
	}
}

// jpSetApp rewrites accounts.profile as the app would: the mapped members stay, the app adds its own
// members (extra), merged into objects that already exist ($.name).
func jpSetApp(e *example, userName, extra string) map[string]any {
	e.t.Helper()
	doc := jpMerge(jpProfile(e, userName), jpDecode(e.t, extra))
	text, err := json.Marshal(doc)
	if err != nil {
		e.t.Fatal(err)
	}
	e.exec("UPDATE accounts SET profile = ? WHERE username = ?", string(text), userName)
	return doc
}

// ann is the user most tests start from; annProfile is what accounts.profile holds for her.
func ann() map[string]any {
	return map[string]any{
		"schemas": []string{userSchema, enterprise}, "userName": "ann@example.com",
		"name":        map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"displayName": "Ann Lee",
		"title":       "Engineer",
		"emails":      []any{map[string]any{"value": "ann@example.com", "type": "work", "primary": true}},
		"phoneNumbers": []any{
			map[string]any{"value": "+1 555 0100", "type": "work"},
			map[string]any{"value": "+1 555 0199", "type": "mobile"},
		},
		enterprise: map[string]any{"department": "R&D", "employeeNumber": "42", "manager": map[string]any{"value": "m-1"}},
	}
}

const annProfile = `{"name":{"first":"Ann","last":"Lee"},"displayName":"Ann Lee","title":"Engineer","department":"R&D",
	"employeeNo":"42","manager":{"id":"m-1"},"workPhone":"+1 555 0100"}`

// 1. POST writes exactly the mapped members at their paths, and the response has the attributes back.
func TestJSONCreateWritesMembersAtPaths(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	created := e.must(201, "POST", "/Users", ann())
	id, _ := created.Body["id"].(string)

	acc := jpAccount(e, "ann@example.com")
	if acc["email"] != "ann@example.com" || acc["enabled"] != "1" {
		t.Errorf("accounts row: %v, want email ann@example.com, enabled 1", acc)
	}
	jpWantProfile(e, "ann@example.com", annProfile)

	// The members are where the configured paths say, as MariaDB's own JSON functions see them.
	got := e.rows(`SELECT JSON_UNQUOTE(JSON_EXTRACT(profile, '$.name.first')) AS first,
		JSON_UNQUOTE(JSON_EXTRACT(profile, '$.manager.id')) AS manager, JSON_TYPE(JSON_EXTRACT(profile, '$.name')) AS name_type
		FROM accounts WHERE username = 'ann@example.com'`)[0]
	if got["first"] != "Ann" || got["manager"] != "m-1" || got["name_type"] != "OBJECT" {
		t.Errorf("JSON_EXTRACT on accounts.profile: %v", got)
	}

	for how, body := range map[string]map[string]any{"POST response": created.Body, "GET": e.must(200, "GET", "/Users/"+id, nil).Body} {
		t.Run(how, func(t *testing.T) {
			jpWantAt(t, body, "Ann", "name", "givenName")
			jpWantAt(t, body, "Lee", "name", "familyName")
			jpWantAt(t, body, "Ann Lee", "displayName")
			jpWantAt(t, body, "Engineer", "title")
			jpWantAt(t, body, "R&D", enterprise, "department")
			jpWantAt(t, body, "42", enterprise, "employeeNumber")
			jpWantAt(t, body, "m-1", enterprise, "manager", "value")
			jpWantAt(t, body, true, "active")
			phones, _ := body["phoneNumbers"].([]any)
			want := []any{
				map[string]any{"value": "+1 555 0100", "type": "work"},
				map[string]any{"value": "+1 555 0199", "type": "mobile"},
			}
			if !sameElements(phones, want) {
				t.Errorf("phoneNumbers: got %v, want %v", phones, want)
			}
			emails, _ := body["emails"].([]any)
			if len(emails) != 1 || at(emails[0], "value") != "ann@example.com" {
				t.Errorf("emails: got %v", emails)
			}
		})
	}
}

// sameElements compares two lists ignoring order.
func sameElements(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
outer:
	for _, w := range want {
		for i, g := range got {
			if !used[i] && reflect.DeepEqual(g, w) {
				used[i] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// 1b. (The POST response's attributes are the suite's, CreateAndRead.) A user with no mapped attribute
// gets a profile without members.
func TestJSONCreateEmptyProfile(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	e.must(201, "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "bare@example.com"})
	if p := jpProfile(e, "bare@example.com"); len(p) != 0 {
		t.Errorf("profile of a user without mapped attributes: %v, want no members", p)
	}
}

// 2. Members the app owns survive PUT and PATCH exactly, including a sibling inside $.name.
func TestJSONAppMembersKept(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	id := jpCreate(e, ann())
	jpSetApp(e, "ann@example.com", appMembers)
	jpSetApp(e, "ann@example.com", `{"name":{"nick":"annie"}}`)
	app := jpDecode(t, appMembers)

	// The app's members are not SCIM attributes: nothing of them shows on the wire.
	r := e.must(200, "GET", "/Users/"+id, nil)
	for _, k := range []string{"preferences", "onboarding", "limits", "note"} {
		if _, ok := r.Body[k]; ok {
			t.Errorf("GET shows the app's member %s: %s", k, r)
		}
	}
	jpWantAt(t, r.Body, nil, "name", "nick")

	t.Run("PUT", func(t *testing.T) {
		u := ann()
		u["name"] = map[string]any{"givenName": "Anna", "familyName": "Lee"}
		u[enterprise] = map[string]any{"department": "Platform", "employeeNumber": "42", "manager": map[string]any{"value": "m-1"}}
		r := e.must(200, "PUT", "/Users/"+id, u)
		jpWantAt(t, r.Body, "Anna", "name", "givenName")
		jpWantAt(t, r.Body, "Platform", enterprise, "department")
		want := jpMerge(jpDecode(t, annProfile), app, jpDecode(t, `{"name":{"first":"Anna","nick":"annie"},"department":"Platform"}`))
		jpWantDoc(t, "profile after PUT", jpProfile(e, "ann@example.com"), want)
	})

	t.Run("PATCH", func(t *testing.T) {
		r := patch(e, id, op("replace", "name.givenName", "Annie"), op("replace", "title", "Staff Engineer"))
		if r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
		jpWantAt(t, r.Body, "Annie", "name", "givenName")
		jpWantAt(t, r.Body, "Staff Engineer", "title")
		want := jpMerge(jpDecode(t, annProfile), app,
			jpDecode(t, `{"name":{"first":"Annie","nick":"annie"},"department":"Platform","title":"Staff Engineer"}`))
		p := jpProfile(e, "ann@example.com")
		jpWantDoc(t, "profile after PATCH", p, want)
		// The app's members exactly, numbers as written.
		for k, v := range app {
			if !reflect.DeepEqual(p[k], v) {
				t.Errorf("$.%s: got %#v, want %#v", k, p[k], v)
			}
		}
	})

	t.Run("PATCH of a column only leaves the document as it is", func(t *testing.T) {
		before := jpAccount(e, "ann@example.com")["profile"]
		r := patch(e, id, op("replace", `emails[type eq "work"].value`, "ann.lee@example.com"))
		if r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
		acc := jpAccount(e, "ann@example.com")
		if acc["email"] != "ann.lee@example.com" {
			t.Errorf("email: %q", acc["email"])
		}
		if acc["profile"] != before {
			t.Errorf("profile rewritten by a PATCH that does not touch it:\n got %s\nwant %s", acc["profile"], before)
		}
	})
}

// 3. A PUT that no longer has an attribute removes its member; the others, the app's included, stay.
func TestJSONPutDropsMembers(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	id := jpCreate(e, ann())
	jpSetApp(e, "ann@example.com", appMembers)
	jpSetApp(e, "ann@example.com", `{"name":{"nick":"annie"}}`)
	app := jpMerge(jpDecode(t, appMembers), jpDecode(t, `{"name":{"nick":"annie"}}`))

	u := ann()
	delete(u, "title")
	r := e.must(200, "PUT", "/Users/"+id, u)
	jpWantAt(t, r.Body, nil, "title")
	jpWantAt(t, r.Body, "Ann", "name", "givenName")
	want := jpMerge(jpDecode(t, annProfile), app)
	delete(want, "title")
	jpWantDoc(t, "profile after PUT without title", jpProfile(e, "ann@example.com"), want)
	jpWantAt(t, e.must(200, "GET", "/Users/"+id, nil).Body, nil, "title")

	// Without name, the enterprise extension and the work phone: their members go, $.name keeps the
	// app's nick, the app's members stay.
	u = map[string]any{"schemas": []string{userSchema}, "userName": "ann@example.com", "displayName": "Ann Lee",
		"emails": []any{map[string]any{"value": "ann@example.com", "type": "work", "primary": true}}}
	r = e.must(200, "PUT", "/Users/"+id, u)
	for _, k := range []string{"name", "title", enterprise, "phoneNumbers"} {
		if _, ok := r.Body[k]; ok {
			t.Errorf("PUT response still has %s: %s", k, r)
		}
	}
	p := jpProfile(e, "ann@example.com")
	for _, k := range []string{"title", "department", "employeeNo", "workPhone"} {
		if _, ok := p[k]; ok {
			t.Errorf("$.%s kept after a PUT without it: %v", k, p)
		}
	}
	if id := at(p, "manager", "id"); id != nil {
		t.Errorf("$.manager.id kept after a PUT without a manager: %v", p)
	}
	if !reflect.DeepEqual(p["name"], map[string]any{"nick": "annie"}) {
		t.Errorf("$.name: got %v, want only the app's nick", p["name"])
	}
	if p["displayName"] != "Ann Lee" {
		t.Errorf("$.displayName: got %v", p["displayName"])
	}
	for k, v := range jpDecode(t, appMembers) {
		if !reflect.DeepEqual(p[k], v) {
			t.Errorf("$.%s: got %#v, want %#v", k, p[k], v)
		}
	}
}

// 4. PATCH operations as IdPs send them, each checked in the document and on the wire.
func TestJSONPatchOperations(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	id := jpCreate(e, ann())
	jpSetApp(e, "ann@example.com", appMembers)
	app := jpDecode(t, appMembers)
	want := jpMerge(jpDecode(t, annProfile), app)

	steps := []struct {
		name  string
		ops   []map[string]any
		apply func(doc map[string]any) // the change to the expected document
		check func(t *testing.T, body map[string]any)
	}{
		{"replace name.givenName", []map[string]any{op("replace", "name.givenName", "Anne")},
			func(d map[string]any) { d["name"].(map[string]any)["first"] = "Anne" },
			func(t *testing.T, b map[string]any) {
				jpWantAt(t, b, "Anne", "name", "givenName")
				jpWantAt(t, b, "Lee", "name", "familyName")
			}},
		{"remove title", []map[string]any{op("remove", "title", nil)},
			func(d map[string]any) { delete(d, "title") },
			func(t *testing.T, b map[string]any) { jpWantAt(t, b, nil, "title") }},
		{"add title", []map[string]any{op("add", "title", "Lead")},
			func(d map[string]any) { d["title"] = "Lead" },
			func(t *testing.T, b map[string]any) { jpWantAt(t, b, "Lead", "title") }},
		{"replace department by URN path", []map[string]any{op("replace", enterprise+":department", "Sales")},
			func(d map[string]any) { d["department"] = "Sales" },
			func(t *testing.T, b map[string]any) {
				jpWantAt(t, b, "Sales", enterprise, "department")
				jpWantAt(t, b, "42", enterprise, "employeeNumber")
			}},
		{"Entra no-path value with the URN-qualified key", []map[string]any{{"op": "Replace",
			"value": map[string]any{enterprise + ":department": "Support", "title": "Support Lead"}}},
			func(d map[string]any) { d["department"], d["title"] = "Support", "Support Lead" },
			func(t *testing.T, b map[string]any) {
				jpWantAt(t, b, "Support", enterprise, "department")
				jpWantAt(t, b, "Support Lead", "title")
			}},
		{"Entra replaces the manager with a bare id", []map[string]any{op("replace", enterprise+":manager", "m-2")},
			func(d map[string]any) { d["manager"].(map[string]any)["id"] = "m-2" },
			func(t *testing.T, b map[string]any) { jpWantAt(t, b, "m-2", enterprise, "manager", "value") }},
		{"replace the work phone", []map[string]any{op("replace", `phoneNumbers[type eq "work"].value`, "+1 555 0111")},
			func(d map[string]any) { d["workPhone"] = "+1 555 0111" },
			func(t *testing.T, b map[string]any) {
				phones, _ := b["phoneNumbers"].([]any)
				want := []any{
					map[string]any{"value": "+1 555 0111", "type": "work"},
					map[string]any{"value": "+1 555 0199", "type": "mobile"},
				}
				if !sameElements(phones, want) {
					t.Errorf("phoneNumbers: got %v, want %v", phones, want)
				}
			}},
		{"remove department", []map[string]any{op("remove", enterprise+":department", nil)},
			func(d map[string]any) { delete(d, "department") },
			func(t *testing.T, b map[string]any) {
				jpWantAt(t, b, nil, enterprise, "department")
				jpWantAt(t, b, "42", enterprise, "employeeNumber")
				jpWantAt(t, b, "m-2", enterprise, "manager", "value")
			}},
		{"several operations in one request", []map[string]any{
			op("replace", "name.familyName", "Lee-Park"), op("add", "displayName", "Ann Lee-Park"),
			op("replace", enterprise+":employeeNumber", "43")},
			func(d map[string]any) {
				d["name"].(map[string]any)["last"] = "Lee-Park"
				d["displayName"], d["employeeNo"] = "Ann Lee-Park", "43"
			},
			func(t *testing.T, b map[string]any) {
				jpWantAt(t, b, "Lee-Park", "name", "familyName")
				jpWantAt(t, b, "Ann Lee-Park", "displayName")
				jpWantAt(t, b, "43", enterprise, "employeeNumber")
			}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := patch(e, id, s.ops...)
			if r.Status != 200 {
				t.Fatalf("PATCH: %s", r)
			}
			s.apply(want)
			jpWantDoc(t, "profile", jpProfile(e, "ann@example.com"), want)
			s.check(t, r.Body)
			s.check(t, e.must(200, "GET", "/Users/"+id, nil).Body)
		})
	}

	t.Run("remove manager", func(t *testing.T) {
		r := patch(e, id, op("remove", enterprise+":manager", nil))
		if r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
		jpWantAt(t, r.Body, nil, enterprise, "manager")
		p := jpProfile(e, "ann@example.com")
		if v := at(p, "manager", "id"); v != nil {
			t.Errorf("$.manager.id: got %v, want removed", v)
		}
		delete(want, "manager")
		delete(p, "manager") // an emptied $.manager object may stay
		jpWantDoc(t, "profile", p, want)
	})
}

// TestJSONSuite runs the behaviour every example shares (suite_test.go) on json-profile.
func TestJSONSuite(t *testing.T) { runSuite(t, jsonSpec) }

// jpPaths is the JSON path in accounts.profile of each attribute the suite writes.
var jpPaths = map[string]string{
	pGiven: "$.name.first", pFamily: "$.name.last", pTitle: "$.title", pDept: "$.department", pPhone: "$.workPhone",
	"displayName": "$.displayName", enterprise + ":employeeNumber": "$.employeeNo", enterprise + ":manager": "$.manager.id",
}

// jpUserName is the username of the accounts row with this key.
func jpUserName(e *example, key string) string {
	e.t.Helper()
	return e.rows("SELECT username FROM accounts WHERE id = ?", key)[0]["username"]
}

var jsonSpec = exampleSpec{
	dir: "json-profile",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := ann()
		u["userName"] = userName
		u["name"] = map[string]any{"givenName": given, "familyName": family}
		u["displayName"] = "Shown Name"
		u["emails"] = []any{map[string]any{"value": userName, "type": "work", "primary": true}}
		ext := map[string]any{"employeeNumber": "42", "manager": map[string]any{"value": "m-1"}}
		if dept != "" {
			ext["department"] = dept
		}
		u[enterprise] = ext
		delete(u, "title")
		if title != "" {
			u["title"] = title
		}
		return u
	},
	attrs: []suiteAttr{
		{"displayName", []string{"displayName"}, "Shown Name"},
		{enterprise + ":employeeNumber", []string{enterprise, "employeeNumber"}, "42"},
		{enterprise + ":manager", []string{enterprise, "manager", "value"}, "m-1"},
	},
	value: func(e *example, key, path string) string {
		e.t.Helper()
		v := e.rows("SELECT JSON_UNQUOTE(JSON_EXTRACT(profile, ?)) AS v FROM accounts WHERE id = ?", jpPaths[path], key)[0]["v"]
		if v == "NULL" {
			return ""
		}
		return v
	},
	active: func(e *example, key string) bool {
		e.t.Helper()
		enabled := e.rows("SELECT enabled FROM accounts WHERE id = ?", key)[0]["enabled"]
		if enabled != "0" && enabled != "1" {
			e.t.Errorf("accounts.enabled %s, want 0 or 1", enabled)
		}
		return enabled == "1"
	},
	content: func(e *example, key string) string {
		return fmt.Sprint(e.rows("SELECT id, username, email, profile, created_at FROM accounts WHERE id = ?", key))
	},
	seedApp: func(e *example, key string) { jpSetApp(e, jpUserName(e, key), appMembers) },
	appData: func(e *example, key string) string {
		e.t.Helper()
		p, out := jpProfile(e, jpUserName(e, key)), map[string]any{}
		for k := range jpDecode(e.t, appMembers) {
			out[k] = p[k]
		}
		b, _ := json.Marshal(out)
		return string(b)
	},
	appWords: []string{"preferences", "shortcuts", "onboarding", "12345678901234567890"},
	edit: func(e *example, key, path, value string) {
		if value == "" {
			e.exec("UPDATE accounts SET profile = JSON_REMOVE(profile, ?) WHERE id = ?", jpPaths[path], key)
			return
		}
		e.exec("UPDATE accounts SET profile = JSON_SET(profile, ?, ?) WHERE id = ?", jpPaths[path], value, key)
	},
	adopt: func(e *example, userName string) string {
		e.exec(`INSERT INTO accounts (username, email, enabled, profile, created_at) VALUES (?, 'old@example.com', 0, '{"title":"Intern"}', '2020-01-02 03:04:05')`, userName)
		return jpAccount(e, userName)["id"]
	},
	failWrites: []string{
		"CREATE TRIGGER accounts_no_insert BEFORE INSERT ON accounts FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		`CREATE TRIGGER accounts_profile_frozen BEFORE UPDATE ON accounts FOR EACH ROW BEGIN
		IF NOT (NEW.profile <=> OLD.profile) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; END`,
	},
}
