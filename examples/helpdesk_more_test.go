package examples_test

// Helpdesk: filters, deactivation, group roles, atomicity, adoption and projections.

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestHelpdeskFilters(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	ann, _ := create(e, hdAnn()) // work ann@example.com (primary), home ann@home.example; R&D; Engineer
	bob := hdPlain("bob@example.com", "bob@example.com work primary", "bob@gmail.example home")
	bob["title"] = "Agent"
	bob[enterprise] = map[string]any{"department": "Support"}
	bob["schemas"] = []string{userSchema, enterprise}
	bobID, _ := create(e, bob)
	carl, _ := create(e, hdPlain("carl@example.com", "carl@other.example other")) // no profile row
	dora, doraKey := create(e, hdPlain("dora@example.com"))                       // no emails
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
		{`emails[type eq "work"].value eq "ann@example.com"`, ids(ann)}, // Entra's form, off the RFC
		{`emails[type eq "home"].value eq "ann@example.com"`, ids()},
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
		total, got := find(e, c.filter)
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

// (Deactivation in every form is the suite's Deactivate.) DELETE keeps the side tables; a re-POST takes
// the same app row and its list rows again.
func TestHelpdeskDeleteRelink(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())

	e.exec("UPDATE user_emails SET verified_at = '2022-02-02 02:02:02' WHERE address = 'ann@home.example'")
	e.exec("UPDATE user_profiles SET desk_note = 'keep me' WHERE user_id = ?", key)
	side := e.dump("user_emails", "user_phones", "user_profiles")

	e.must(204, "DELETE", "/Users/"+id, nil)
	hdEqual(t, "status after DELETE", hdUsersRow(e, key)["status"], "3")
	hdEqual(t, "side tables after DELETE", e.dump("user_emails", "user_phones", "user_profiles"), side)
	e.must(404, "GET", "/Users/"+id, nil)
	if total, _ := find(e, `emails.value eq "ann@example.com"`); total != 0 {
		t.Errorf("a deleted user is still found by its email: %d", total)
	}

	// The IdP provisions Ann again: the same app row comes back, active, as the POST describes it.
	again := hdAnn()
	again["emails"] = hdEmailList("ann@home.example home primary", "ann@new.example work")
	again["title"] = "Lead"
	delete(again, "phoneNumbers")
	r := e.must(201, "POST", "/Users", again)
	newID, _ := r.Body["id"].(string)
	if newID == id {
		t.Errorf("the re-linked user kept the deleted user's id %s", id)
	}
	hdEqual(t, "re-linked app row", appKey(e, newID), key)
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
	t.Parallel()
	e := start(t, "helpdesk")
	ann, annKey := create(e, hdAnn())
	bob, bobKey := create(e, hdPlain("bob@example.com", "bob@example.com work primary"))
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
	e.must(200, "PATCH", "/Groups/"+agents, patchBody(op("add", "members", []any{map[string]any{"value": ann}, map[string]any{"value": bob}})))
	hdEqual(t, "ann in both groups", flags(annKey), "admin=1 agent=1")
	hdEqual(t, "bob in the agents", flags(bobKey), "admin=0 agent=1")

	e.must(200, "PATCH", "/Groups/"+admins, patchBody(op("remove", `members[value eq "`+ann+`"]`, nil)))
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

// hdBook is scimbridge's bookkeeping, to compare before and after a failed request.
func hdBook(e *example) string {
	e.t.Helper()
	return fmt.Sprint(e.rows("SELECT id, app_id, user_name, active, version, last_modified, deleted_at FROM scim_users ORDER BY id")) +
		fmt.Sprint(e.rows("SELECT COUNT(*) AS n FROM scim_outbox"))
}

var hdAllTables = []string{"users", "user_emails", "user_phones", "user_profiles"}

func TestHelpdeskFailedWriteChangesNothing(t *testing.T) {
	t.Parallel()
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
					op("replace", "name.givenName", "Annie"),
					op("replace", "active", false),
					op("replace", `emails[type eq "work"].value`, "annie@example.com"),
					op("add", "phoneNumbers", []any{map[string]any{"value": "+1 555 0142", "type": "home"}}),
					op("replace", enterprise+":department", "Sales"),
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
			id, _ := create(e, hdAnn())
			create(e, hdPlain("bob@example.com", "bob@example.com work primary"))
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, _ := create(e, hdAnn())
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
		{"PATCH add", "PATCH", "/Users/" + id, patchBody(op("add", "emails", []any{custom}))},
		{"PATCH replace type", "PATCH", "/Users/" + id, patchBody(
			op("replace", "title", "Changed"),
			op("replace", `emails[type eq "home"].type`, "custom"))},
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
// rows are matched by address, its profile row is updated, and what the POST does not send stays (the
// app's other address too: keep_app_rows).
func TestHelpdeskAdoptExistingAppUser(t *testing.T) {
	t.Parallel()
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
	hdEqual(t, "adopted app row", appKey(e, id), "7")
	hdEqual(t, "users rows", len(e.rows("SELECT id FROM users")), 1)
	hdEqual(t, "users row", hdUsersRow(e, "7"), map[string]string{"login": "old@example.com", "first_name": "G",
		"last_name": "F", "status": "1", "is_admin": "0", "is_agent": "0"})
	hdEqual(t, "user_emails", e.rows("SELECT id, address, kind, is_default, verified_at FROM user_emails"),
		[]map[string]string{{"id": "70", "address": "OLD@example.com", "kind": "H", "is_default": "1", "verified_at": "2020-01-02T00:00:00Z"},
			{"id": "71", "address": "old@legacy.example", "kind": "X", "is_default": "0", "verified_at": "NULL"}})
	hdEqual(t, "user_phones (not sent)", e.rows("SELECT id, number, kind FROM user_phones"),
		[]map[string]string{{"id": "700", "number": "123", "kind": "NULL"}})
	hdEqual(t, "user_profiles", hdProfile(e, "7"), map[string]string{"department": "Old dept", "title": "New title",
		"cost_center": "NULL", "employee_no": "NULL", "desk_note": "note"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"OLD@example.com home primary", "old@legacy.example <nil>"})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"123 <nil>"})
	hdEqual(t, "enterprise on the wire", hdExt(r.Body), map[string]any{"department": "Old dept"})

	// The phone without a type (kind IS NULL) is updated in place when the IdP gives it one.
	r = mustPatch(e, id, op("replace", "phoneNumbers", []any{map[string]any{"value": "123", "type": "work"}}))
	hdEqual(t, "user_phones after typing", e.rows("SELECT id, number, kind FROM user_phones"),
		[]map[string]string{{"id": "700", "number": "123", "kind": "work"}})
	hdEqual(t, "phoneNumbers on the wire", hdWire(r.Body, "phoneNumbers"), []string{"123 work"})
}

// An IdP re-sending what the user already has (Entra's periodic sync) writes nothing and keeps the ETag.
func TestHelpdeskUnchangedPatchKeepsVersion(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, _ := create(e, hdAnn())
	before := e.dump(hdAllTables...)
	book := hdBook(e)
	r := mustPatch(e, id,
		op("replace", "emails", hdEmailList("ann@home.example home", "ann@example.com work primary")), // another order
		op("replace", `emails[type eq "work"].value`, "ann@example.com"),
		op("replace", "title", "Engineer"),
		op("replace", enterprise+":department", "R&D"),
		op("add", "phoneNumbers", []any{map[string]any{"value": "+1 555 0100", "type": "work"}}))
	hdEqual(t, "version", r.Body["meta"].(map[string]any)["version"], any(`W/"1"`))
	hdEqual(t, "app tables", e.dump(hdAllTables...), before)
	hdEqual(t, "bookkeeping", hdBook(e), book)
}

// attributes= and excludedAttributes= apply to what the side tables hold as to any attribute.
func TestHelpdeskProjection(t *testing.T) {
	t.Parallel()
	e := start(t, "helpdesk")
	id, _ := create(e, hdAnn())
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
	t.Parallel()
	e := start(t, "helpdesk")
	id, key := create(e, hdAnn())
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
				k = appKey(e, r.Body["id"].(string))
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
	t.Parallel()
	e := start(t, "helpdesk")
	u := hdPlain("cy@example.com")
	u["emails"] = []any{map[string]any{"value": "cy@example.com", "primary": true}}
	r := e.must(201, "POST", "/Users", u)
	key := appKey(e, r.Body["id"].(string))
	hdEqual(t, "user_emails", hdEmailRows(e, key), []string{"cy@example.com W 1"})
	hdEqual(t, "emails on the wire", hdWire(r.Body, "emails"), []string{"cy@example.com work primary"})
}
