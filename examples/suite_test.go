package examples_test

// The behaviour every example shares, run once per example (as dex runs storage/conformance against
// every storage): runSuite takes an example's description (exampleSpec: its folder, how to read a
// user's app rows, what it maps) and runs each behaviour as a subtest on a fresh database. Each
// example's own test file calls runSuite and keeps only what is its own.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The attributes every example maps, as PATCH paths.
const (
	pGiven  = "name.givenName"
	pFamily = "name.familyName"
	pTitle  = "title"
	pDept   = enterprise + ":department"
	pPhone  = `phoneNumbers[type eq "work"].value`
)

// suiteAttr is an attribute an example maps beyond the common ones: its PATCH path, where a response
// shows it, and the value exampleSpec.user sends.
type suiteAttr struct {
	path  string   // PATCH path
	wire  []string // path in the resource (see at)
	value string
}

// exampleSpec describes one example to runSuite.
type exampleSpec struct {
	dir string // examples/<dir>

	// user is the POST body of a user with the common attributes: userName (also its work email), name,
	// title and department (left out when ""), and the phone numbers +1 555 0100 (work) and +1 555 0199
	// (mobile); and with each of attrs at its value.
	user func(userName, given, family, title, dept string) map[string]any
	// attrs are the attributes the example maps beyond pGiven, pFamily, pTitle, pDept and pPhone.
	attrs []suiteAttr

	// value is the value the app's own tables hold for the attribute at a PATCH path of the user with
	// app key key ("" when they hold none); active is the app's own deactivation state.
	value  func(e *example, key, path string) string
	active func(e *example, key string) bool
	// content is all the app holds for the user but its active state, as text: what a deactivation,
	// a DELETE or an unchanged write must leave as it is.
	content func(e *example, key string) string

	// seedApp writes the app's own, unmapped data for the user; appData reads it back, and appWords are
	// strings of it that must never show on the wire.
	seedApp  func(e *example, key string)
	appData  func(e *example, key string) string
	appWords []string

	// edit changes a mapped attribute as the app itself would ("" removes it).
	edit func(e *example, key, path, value string)
	// kept are the common attributes the app has no column for (Gitea: title, department): scimbridge
	// keeps them in its bookkeeping document, so the app cannot edit them and suiteAppEdits, which edits
	// pTitle and pDept as the app, does not apply.
	kept []string
	// adopt inserts, as the app would, a user scimbridge never provisioned, and returns its key.
	adopt func(e *example, userName string) string
	// failWrites are CREATE TRIGGER statements after which every POST, PUT and PATCH of the suite's
	// users fails part-way (SIGNAL), after the request wrote other rows.
	failWrites []string
}

// commonAttrs are the attributes every example maps, with the values spec.user sends for ann.
var commonAttrs = []suiteAttr{
	{pGiven, []string{"name", "givenName"}, "Ann"},
	{pFamily, []string{"name", "familyName"}, "Lee"},
	{pTitle, []string{"title"}, "Engineer"},
	{pDept, []string{enterprise, "department"}, "R&D"},
	{pPhone, []string{"phoneNumbers", "work"}, "+1 555 0100"},
}

func (s *exampleSpec) all() []suiteAttr { return append(slices.Clip(commonAttrs), s.attrs...) }

// ann is the user most subtests start from.
func (s *exampleSpec) ann() map[string]any {
	return s.user("ann@example.com", "Ann", "Lee", "Engineer", "R&D")
}

// startAnn starts the example with ann created and the app's own data seeded for her: her SCIM id, app
// key and that data (appData).
func (s *exampleSpec) startAnn(t *testing.T) (e *example, id, key, app string) {
	t.Helper()
	e = start(t, s.dir)
	id, key = create(e, s.ann())
	s.seedApp(e, key)
	return e, id, key, s.appData(e, key)
}

// appKey is the app key scimbridge links a SCIM user id to.
func appKey(e *example, id string) string {
	e.t.Helper()
	rows := e.rows("SELECT COALESCE(app_key, CAST(app_id AS CHAR)) AS k FROM `"+e.cfg.Database.BookkeepingPrefix+"users` WHERE id = ?", id)
	if len(rows) != 1 {
		e.t.Fatalf("bookkeeping rows for %s: %v", id, rows)
	}
	return rows[0]["k"]
}

// create POSTs a user, wants 201, and returns its SCIM id and app key.
func create(e *example, body map[string]any) (id, key string) {
	e.t.Helper()
	r := e.must(201, "POST", "/Users", body)
	id, _ = r.Body["id"].(string)
	if id == "" {
		e.t.Fatalf("POST /Users: no id in %s", r)
	}
	return id, appKey(e, id)
}

// version is the version of a resource in a response.
func version(r *response) any { return at(r.Body, "meta", "version") }

// wantValues fails unless the app holds want (path -> value) for the user, and the resource body shows
// the same values ("" absent).
func (s *exampleSpec) wantValues(t *testing.T, e *example, what, key string, body map[string]any, want map[string]string) {
	t.Helper()
	for _, a := range s.all() {
		w, ok := want[a.path]
		if !ok {
			continue
		}
		if got := s.value(e, key, a.path); got != w {
			t.Errorf("%s: the app holds %q for %s, want %q", what, got, a.path, w)
		}
		if body == nil {
			continue
		}
		var wire any
		if w != "" {
			wire = w
		}
		if got := at(body, a.wire...); got != wire {
			t.Errorf("%s: %s on the wire is %#v, want %#v", what, strings.Join(a.wire, "."), got, wire)
		}
	}
}

func (s *exampleSpec) wantActive(t *testing.T, e *example, what, key string, body map[string]any, want bool) {
	t.Helper()
	if got := s.active(e, key); got != want {
		t.Errorf("%s: the app's active state is %v, want %v", what, got, want)
	}
	if body != nil {
		if got := at(body, "active"); got != want {
			t.Errorf("%s: active on the wire is %#v, want %v", what, got, want)
		}
	}
}

func (s *exampleSpec) wantAppData(t *testing.T, e *example, what, key, want string, r *response) {
	t.Helper()
	if got := s.appData(e, key); got != want {
		t.Errorf("%s: the app's own data\n got  %s\n want %s", what, got, want)
	}
	if r == nil {
		return
	}
	for _, w := range s.appWords {
		if bytes.Contains(r.Raw, []byte(w)) {
			t.Errorf("%s: the app's own %q leaks into the response: %s", what, w, r.Raw)
		}
	}
}

// wantFind fails unless the filter finds exactly the users want (any order), on one page.
func wantFind(t *testing.T, e *example, filter string, want ...string) {
	t.Helper()
	total, got := find(e, filter)
	want = slices.Sorted(slices.Values(want))
	if total != len(want) || !slices.Equal(got, want) {
		t.Errorf("filter %s: totalResults %d, ids %v; want %d, %v", filter, total, got, len(want), want)
	}
}

// runSuite runs the shared behaviour on the example s, each subtest in parallel on its own database.
func runSuite(t *testing.T, s exampleSpec) {
	t.Parallel()
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s *exampleSpec)
	}{
		{"CreateAndRead", suiteCreateAndRead},
		{"Put", suitePut},
		{"Patch", suitePatch},
		{"Filters", suiteFilters},
		{"AppEditsAreRead", suiteAppEdits},
		{"Deactivate", suiteDeactivate},
		{"DeleteAndRePost", suiteDeleteAndRePost},
		{"UnchangedWriteIsNoOp", suiteUnchanged},
		{"UnmanagedDataUntouched", suiteUnmanaged},
		{"FailedWriteChangesNothing", suiteAtomicity},
		{"ConcurrentPatches", suiteConcurrent},
		{"Adoption", suiteAdoption},
		{"ConcurrentPosts", suiteConcurrentPosts},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, &s)
		})
	}
}

// A POST writes every attribute into the app's tables; the response and a GET read them back. A user
// with nothing but a userName has no attribute in the app's tables or on the wire.
func suiteCreateAndRead(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	r := e.must(201, "POST", "/Users", s.ann())
	id, _ := r.Body["id"].(string)
	key := appKey(e, id)
	want := map[string]string{pGiven: "Ann", pFamily: "Lee", pTitle: "Engineer", pDept: "R&D", pPhone: "+1 555 0100"}
	for _, a := range s.attrs {
		want[a.path] = a.value
	}
	for what, body := range map[string]map[string]any{"POST response": r.Body, "GET": e.must(200, "GET", "/Users/"+id, nil).Body} {
		s.wantValues(t, e, what, key, body, want)
		s.wantActive(t, e, what, key, body, true)
		if got := at(body, "userName"); got != "ann@example.com" {
			t.Errorf("%s: userName %#v", what, got)
		}
		if got := at(body, "phoneNumbers", "mobile"); got != "+1 555 0199" {
			t.Errorf("%s: the mobile phone on the wire is %#v", what, got)
		}
		if loc, _ := at(body, "meta", "location").(string); !strings.HasSuffix(loc, "/Users/"+id) {
			t.Errorf("%s: meta.location %q", what, loc)
		}
	}

	r = e.must(201, "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "bare@example.com"})
	bare := appKey(e, r.Body["id"].(string))
	s.wantValues(t, e, "a user with only a userName", bare, nil, map[string]string{pGiven: "", pFamily: "", pTitle: "", pDept: "", pPhone: ""})
	for _, k := range []string{"name", "title", enterprise, "phoneNumbers"} {
		if _, ok := r.Body[k]; ok {
			t.Errorf("POST response of a user with only a userName has %s: %s", k, r)
		}
	}
}

// A PUT replaces: a changed attribute is written, one left out is removed, the app's own data stays.
func suitePut(t *testing.T, s *exampleSpec) {
	e, id, key, app := s.startAnn(t)
	r := e.must(200, "PUT", "/Users/"+id, s.user("ann@example.com", "Annie", "Lee", "", "Platform"))
	want := map[string]string{pGiven: "Annie", pFamily: "Lee", pTitle: "", pDept: "Platform", pPhone: "+1 555 0100"}
	for what, resp := range map[string]*response{"PUT response": r, "GET": e.must(200, "GET", "/Users/"+id, nil)} {
		s.wantValues(t, e, what, key, resp.Body, want)
		s.wantActive(t, e, what, key, resp.Body, true)
		s.wantAppData(t, e, what, key, app, resp)
	}
}

// PATCH add, replace and remove, with paths and without (Entra's forms), each checked in the app's
// tables, the response and a GET.
func suitePatch(t *testing.T, s *exampleSpec) {
	e, id, key, app := s.startAnn(t)
	want := map[string]string{pGiven: "Ann", pFamily: "Lee", pTitle: "Engineer", pDept: "R&D", pPhone: "+1 555 0100"}
	for _, step := range []struct {
		name   string
		ops    []map[string]any
		change map[string]string
	}{
		{"replace givenName", []map[string]any{op("replace", pGiven, "Anne")}, map[string]string{pGiven: "Anne"}},
		{"remove title", []map[string]any{op("remove", pTitle, nil)}, map[string]string{pTitle: ""}},
		{"add title", []map[string]any{op("add", pTitle, "Lead")}, map[string]string{pTitle: "Lead"}},
		{"replace department by URN path", []map[string]any{op("replace", pDept, "Sales")}, map[string]string{pDept: "Sales"}},
		{"Entra no-path value with the URN-qualified key", []map[string]any{{"op": "Replace",
			"value": map[string]any{pDept: "Support", "title": "Support Lead"}}}, map[string]string{pDept: "Support", pTitle: "Support Lead"}},
		{"no-path value with a dotted key", []map[string]any{op("replace", "", map[string]any{"title": "X", pFamily: "Y"})},
			map[string]string{pTitle: "X", pFamily: "Y"}},
		{"replace the work phone", []map[string]any{op("replace", pPhone, "+1 555 0111")}, map[string]string{pPhone: "+1 555 0111"}},
		{"remove department", []map[string]any{op("remove", pDept, nil)}, map[string]string{pDept: ""}},
		{"several operations in one request", []map[string]any{op("replace", pFamily, "Lee-Park"), op("add", pTitle, "Staff"),
			op("replace", pDept, "Ops")}, map[string]string{pFamily: "Lee-Park", pTitle: "Staff", pDept: "Ops"}},
		{"remove the work phone", []map[string]any{op("remove", `phoneNumbers[type eq "work"]`, nil)}, map[string]string{pPhone: ""}},
	} {
		r := patch(e, id, step.ops...)
		if r.Status != 200 {
			t.Fatalf("%s: %s", step.name, r)
		}
		for k, v := range step.change {
			want[k] = v
		}
		s.wantValues(t, e, step.name, key, r.Body, want)
		s.wantValues(t, e, step.name+" (GET)", key, e.must(200, "GET", "/Users/"+id, nil).Body, want)
		s.wantAppData(t, e, step.name, key, app, r)
	}
	if got := at(e.must(200, "GET", "/Users/"+id, nil).Body, "phoneNumbers", "mobile"); got != "+1 555 0199" {
		t.Errorf("the mobile phone after the PATCHes: %#v", got)
	}
}

// Filters on the mapped attributes, alone and combined; ne and not count users without the attribute;
// a page of a filtered list; a PATCH shows in the next filter.
func suiteFilters(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	ann, _ := create(e, s.ann())
	bob, _ := create(e, s.user("bob@example.com", "Bob", "Ng", "Manager", "Sales"))
	annabel, _ := create(e, s.user("annabel@example.com", "Annabel", "Berg", "Engineer", "Sales"))
	cat, _ := create(e, s.user("cat@example.com", "Cat", "Test", "", "")) // no title, no department
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`title eq "Engineer"`, []string{ann, annabel}},
		{`title eq "engineer"`, []string{ann, annabel}}, // title is not caseExact
		{`title eq "Nobody"`, nil},
		{`title co "nag"`, []string{bob}},
		{`name.givenName sw "Ann"`, []string{ann, annabel}},
		{`name.givenName sw "ann"`, []string{ann, annabel}},
		{`name.givenName eq "Ann"`, []string{ann}},
		{`name.givenName ew "at"`, []string{cat}},
		{`name.familyName eq "Ng"`, []string{bob}},
		{pDept + ` eq "Sales"`, []string{bob, annabel}},
		{pDept + ` eq "sales"`, []string{bob, annabel}},
		{pDept + ` pr`, []string{ann, bob, annabel}},
		{`title ne "Engineer"`, []string{bob, cat}},
		{`not (title eq "Engineer")`, []string{bob, cat}},
		{`not (title ne "Engineer")`, []string{ann, annabel}},
		{`title pr`, []string{ann, bob, annabel}},
		{`not (title pr)`, []string{cat}},
		{`title eq "Engineer" and ` + pDept + ` eq "Sales"`, []string{annabel}},
		{`title eq "Manager" or name.givenName sw "Ca"`, []string{bob, cat}},
		{`(title eq "Engineer" or title eq "Manager") and not (name.givenName eq "Ann")`, []string{bob, annabel}},
		{`title pr and not (` + pDept + ` eq "R&D")`, []string{bob, annabel}},
		{`userName eq "bob@example.com" and title eq "Manager"`, []string{bob}},
		{`userName eq "bob@example.com" and title eq "Engineer"`, nil},
		{`userName eq "cat@example.com" or title eq "Manager"`, []string{bob, cat}},
		{`phoneNumbers[type eq "work" and value eq "+1 555 0100"]`, []string{ann, bob, annabel, cat}},
	} {
		wantFind(t, e, c.filter, c.want...)
	}

	r := e.must(200, "GET", "/Users?count=1&startIndex=2&filter="+url.QueryEscape(`name.givenName sw "An"`), nil)
	if total, _ := r.Body["totalResults"].(float64); total != 2 || len(resources(t, r)) != 1 {
		t.Errorf("a page of a filtered list: %s", r)
	}

	if r := patch(e, cat, op("add", "title", "Engineer")); r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	wantFind(t, e, `title eq "Engineer"`, ann, annabel, cat)
}

// The app's tables are the source of truth: a value the app changes or removes itself is what GET shows
// and what filters find; the IdP's next write compares with it and writes its value again.
func suiteAppEdits(t *testing.T, s *exampleSpec) {
	if slices.Contains(s.kept, pTitle) || slices.Contains(s.kept, pDept) {
		t.Skipf("examples/%s has no app column for %s or %s: only scimbridge holds them", s.dir, pTitle, pDept)
	}
	e := start(t, s.dir)
	id, key := create(e, s.ann())
	s.edit(e, key, pTitle, "CTO")
	s.edit(e, key, pDept, "")

	get := e.must(200, "GET", "/Users/"+id, nil)
	if at(get.Body, "title") != "CTO" || at(get.Body, enterprise, "department") != nil {
		t.Errorf("GET after the app's changes: %s", get)
	}
	wantFind(t, e, `title eq "CTO"`, id)
	wantFind(t, e, `title eq "Engineer"`)
	wantFind(t, e, pDept+` pr`)

	r := patch(e, id, op("replace", pGiven, "Anne"))
	if r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	s.wantValues(t, e, "after a PATCH of another attribute", key, r.Body, map[string]string{pGiven: "Anne", pTitle: "CTO", pDept: ""})

	r = patch(e, id, op("replace", pTitle, "Engineer"))
	if r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	s.wantValues(t, e, "after the IdP sends the old title back", key, r.Body, map[string]string{pTitle: "Engineer"})

	s.edit(e, key, pTitle, "")
	if got := at(e.must(200, "GET", "/Users/"+id, nil).Body, "title"); got != nil {
		t.Errorf("title on the wire after the app removed it: %#v", got)
	}
	r = e.must(200, "PUT", "/Users/"+id, s.user("ann@example.com", "Anne", "Lee", "Engineer", "R&D"))
	s.wantValues(t, e, "after a PUT with the title the app removed", key, r.Body, map[string]string{pTitle: "Engineer", pDept: "R&D"})
}

// Deactivation in each form IdPs send it: the app's own flag, the wire and filters on active follow,
// and nothing else of the user changes.
func suiteDeactivate(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	ann, key := create(e, s.ann())
	bob, _ := create(e, s.user("bob@example.com", "Bob", "Ng", "Manager", "Sales"))
	s.seedApp(e, key)
	content := s.content(e, key)
	for _, step := range []struct {
		name   string
		op     map[string]any
		active bool
	}{
		{"replace active false", op("replace", "active", false), false},
		{`Entra's no-path {"active": "True"}`, op("Replace", "", map[string]any{"active": "True"}), true},
		{`Entra's Replace active "False"`, op("Replace", "active", "False"), false},
		{`no-path {"active": true}`, op("replace", "", map[string]any{"active": true}), true},
		{"replace active false again", op("replace", "active", false), false},
	} {
		r := patch(e, ann, step.op)
		if r.Status != 200 {
			t.Fatalf("%s: %s", step.name, r)
		}
		s.wantActive(t, e, step.name, key, r.Body, step.active)
		s.wantActive(t, e, step.name+" (GET)", key, e.must(200, "GET", "/Users/"+ann, nil).Body, step.active)
		if got := s.content(e, key); got != content {
			t.Errorf("%s changed more than the active state:\n got  %s\n want %s", step.name, got, content)
		}
		if step.active {
			wantFind(t, e, `active eq false`)
			wantFind(t, e, `active eq true`, ann, bob)
		} else {
			wantFind(t, e, `active eq false`, ann)
			wantFind(t, e, `active eq true`, bob)
			wantFind(t, e, `active eq false and title eq "Engineer"`, ann)
		}
	}
}

// DELETE deactivates: the app's row and data stay, the SCIM user is gone. A later POST with the same
// userName takes the same row again, active, with what that POST sends and nothing of before; the app's
// own data stays.
func suiteDeleteAndRePost(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	id, key := create(e, s.ann())
	s.seedApp(e, key)
	app, content := s.appData(e, key), s.content(e, key)
	users := len(e.rows("SELECT 1 FROM `" + e.cfg.UsersMapping().Table + "`"))

	e.must(204, "DELETE", "/Users/"+id, nil)
	s.wantActive(t, e, "after DELETE", key, nil, false)
	if got := s.content(e, key); got != content {
		t.Errorf("DELETE changed more than the active state:\n got  %s\n want %s", got, content)
	}
	s.wantAppData(t, e, "after DELETE", key, app, nil)
	e.must(404, "GET", "/Users/"+id, nil)
	wantFind(t, e, `userName eq "ann@example.com"`)
	wantFind(t, e, `active eq false`)
	wantFind(t, e, `title eq "Engineer"`)

	r := e.must(201, "POST", "/Users", map[string]any{"schemas": []string{userSchema, enterprise}, "userName": "ann@example.com",
		"name": map[string]any{"givenName": "Ann"}, enterprise: map[string]any{"department": "Sales"}})
	again, _ := r.Body["id"].(string)
	if again == id {
		t.Errorf("the re-created user kept the deleted user's id %s", id)
	}
	if k := appKey(e, again); k != key {
		t.Errorf("the re-created user is linked to %s, want the old row %s", k, key)
	}
	if n := len(e.rows("SELECT 1 FROM `" + e.cfg.UsersMapping().Table + "`")); n != users {
		t.Errorf("%d app rows after the re-POST, want %d", n, users)
	}
	want := map[string]string{pGiven: "Ann", pFamily: "", pTitle: "", pDept: "Sales", pPhone: ""}
	for _, a := range s.attrs {
		want[a.path] = ""
	}
	for what, body := range map[string]map[string]any{"re-POST response": r.Body, "GET": e.must(200, "GET", "/Users/"+again, nil).Body} {
		s.wantValues(t, e, what, key, body, want)
		s.wantActive(t, e, what, key, body, true)
	}
	s.wantAppData(t, e, "after the re-POST", key, app, r)
}

// Re-sending what the user already has (Entra's periodic sync) writes nothing: every table, the app's
// and scimbridge's, byte-identical, and the same version (ETag).
func suiteUnchanged(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	r := e.must(201, "POST", "/Users", s.ann())
	id := r.Body["id"].(string)
	s.seedApp(e, appKey(e, id))
	v, before := version(r), e.dumpAll()

	r = e.must(200, "PUT", "/Users/"+id, s.ann())
	if got := version(r); got != v {
		t.Errorf("version after the same PUT: %v, want %v", got, v)
	}
	same := []map[string]any{op("replace", pTitle, "Engineer"), op("replace", pDept, "R&D"), op("replace", pGiven, "Ann"),
		op("add", "phoneNumbers", []any{map[string]any{"value": "+1 555 0100", "type": "work"}}), op("replace", "active", true)}
	for _, a := range s.attrs {
		same = append(same, op("replace", a.path, a.value))
	}
	r = patch(e, id, same...)
	if r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	if got := version(r); got != v {
		t.Errorf("version after an unchanged PATCH: %v, want %v", got, v)
	}
	if after := e.dumpAll(); after != before {
		t.Errorf("an unchanged write changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// The app's own data is never read, written, deleted or shown, whatever the request.
func suiteUnmanaged(t *testing.T, s *exampleSpec) {
	e, id, key, want := s.startAnn(t)
	s.wantAppData(t, e, "GET", key, want, e.must(200, "GET", "/Users/"+id, nil))
	s.wantAppData(t, e, "list", key, want, e.must(200, "GET", "/Users", nil))
	s.wantAppData(t, e, "filtered list", key, want, e.must(200, "GET", "/Users?filter="+url.QueryEscape(`title eq "Engineer"`), nil))
	s.wantAppData(t, e, "PUT", key, want, e.must(200, "PUT", "/Users/"+id, s.user("ann@example.com", "Annie", "Lee-Park", "", "")))
	ops := []map[string]any{op("replace", pTitle, "Staff Engineer"), op("remove", pGiven, nil), op("remove", pDept, nil)}
	values := map[string]string{pGiven: "", pFamily: "Lee-Park", pTitle: "Staff Engineer", pDept: "", pPhone: "+1 555 0100"}
	for _, a := range s.attrs {
		ops = append(ops, op("remove", a.path, nil))
		values[a.path] = ""
	}
	r := patch(e, id, ops...)
	if r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	s.wantAppData(t, e, "PATCH", key, want, r)
	s.wantValues(t, e, "PATCH", key, r.Body, values)
	content := s.content(e, key)
	e.must(204, "DELETE", "/Users/"+id, nil)
	s.wantAppData(t, e, "DELETE", key, want, nil)
	if got := s.content(e, key); got != content {
		t.Errorf("DELETE changed more than the active state:\n got  %s\n want %s", got, content)
	}
}

// When the app's database refuses a statement part-way through a request, the whole request is undone:
// a dump of every table is byte-identical before and after, the client gets a SCIM error without the
// database's words, and once the app lets go the same requests go through.
func suiteAtomicity(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	ann, key := create(e, s.ann())
	create(e, s.user("bob@example.com", "Bob", "Ng", "Manager", "Sales"))
	cat, _ := create(e, s.user("cat@example.com", "Cat", "Test", "", "")) // no title: a PATCH adds it
	s.seedApp(e, key)
	requests := []struct {
		name, method, path string
		body               any
	}{
		{"POST", "POST", "/Users", s.user("new@example.com", "New", "User", "Boss", "Ops")},
		{"PUT", "PUT", "/Users/" + ann, s.user("ann@example.com", "Annie", "Lee-Park", "Boss", "Ops")},
		{"PATCH", "PATCH", "/Users/" + ann, patchBody(op("replace", pGiven, "Annie"), op("replace", "active", false),
			op("replace", pTitle, "Boss"), op("replace", pDept, "Ops"), op("replace", pPhone, "+1 555 0142"))},
		{"PATCH adding an attribute", "PATCH", "/Users/" + cat, patchBody(op("replace", "active", false), op("add", pTitle, "Boss"))},
	}
	for _, trigger := range s.failWrites {
		e.exec(trigger)
	}
	before := e.dumpAll()
	for _, rq := range requests {
		r := e.do(rq.method, rq.path, rq.body)
		wantSCIMError(t, r)
		if bytes.Contains(r.Raw, []byte("boom")) || bytes.Contains(r.Raw, []byte("SIGNAL")) || bytes.Contains(r.Raw, []byte("INSERT")) {
			t.Errorf("%s: the database's error reaches the client: %s", rq.name, r.Raw)
		}
		if after := e.dumpAll(); after != before {
			t.Errorf("the failed %s changed the database:\nbefore:\n%s\nafter:\n%s", rq.name, before, after)
		}
	}
	get := e.must(200, "GET", "/Users/"+ann, nil)
	s.wantValues(t, e, "GET after the failures", key, get.Body, map[string]string{pGiven: "Ann", pTitle: "Engineer", pDept: "R&D"})
	s.wantActive(t, e, "GET after the failures", key, get.Body, true)

	for _, name := range e.rows("SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()") {
		e.exec("DROP TRIGGER `" + name["n"] + "`")
	}
	for _, rq := range requests {
		if r := e.do(rq.method, rq.path, rq.body); r.Status >= 300 {
			t.Errorf("%s once the app dropped its triggers: %s", rq.name, r)
		}
	}
	s.wantValues(t, e, "after the requests went through", key, nil, map[string]string{pGiven: "Annie", pTitle: "Boss", pDept: "Ops"})
}

// PATCHes of different attributes of one user, sent at once, all land.
func suiteConcurrent(t *testing.T, s *exampleSpec) {
	e, id, key, app := s.startAnn(t)
	values := map[string]string{pGiven: "G", pFamily: "F", pTitle: "T", pDept: "Dep", pPhone: "+1 555 0999"}
	for i, a := range s.attrs {
		values[a.path] = a.value + strconv.Itoa(i)
	}
	ops := map[string]map[string]any{"active (a column)": op("replace", "active", false)}
	for path, v := range values {
		ops[path] = op("replace", path, v)
	}
	type result struct {
		name   string
		status int
		err    error
	}
	results := make(chan result, len(ops))
	var wg sync.WaitGroup
	for name, o := range ops {
		wg.Go(func() {
			body, _ := json.Marshal(patchBody(o))
			req, err := http.NewRequest("PATCH", e.base+"/Users/"+id, bytes.NewReader(body))
			if err != nil {
				results <- result{name, 0, err}
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/scim+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{name, 0, err}
				return
			}
			resp.Body.Close()
			results <- result{name, resp.StatusCode, nil}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || r.status != 200 {
			t.Errorf("PATCH %s: status %d, %v", r.name, r.status, r.err)
		}
	}
	get := e.must(200, "GET", "/Users/"+id, nil)
	s.wantValues(t, e, "after concurrent PATCHes", key, get.Body, values)
	s.wantActive(t, e, "after concurrent PATCHes", key, get.Body, false)
	s.wantAppData(t, e, "after concurrent PATCHes", key, app, get)
	if v := e.rows("SELECT version FROM `"+e.cfg.Database.BookkeepingPrefix+"users` WHERE id = ?", id)[0]["version"]; v != strconv.Itoa(1+len(ops)) {
		t.Errorf("version: %s, want %d (one per PATCH)", v, 1+len(ops))
	}
}

// A POST whose userName the app already has takes over the app's row: the same key, no new row, the
// POST's values written, the app's own data kept. A second POST for it is a conflict and changes nothing.
func suiteAdoption(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	key := s.adopt(e, "dana@example.com")
	s.seedApp(e, key)
	app := s.appData(e, key)
	users := len(e.rows("SELECT 1 FROM `" + e.cfg.UsersMapping().Table + "`"))

	r := e.must(201, "POST", "/Users", s.user("dana@example.com", "Dana", "Smith", "Director", "R&D"))
	id, _ := r.Body["id"].(string)
	if got := appKey(e, id); got != key {
		t.Fatalf("the adopted user is linked to %q, want the app's %q", got, key)
	}
	if n := len(e.rows("SELECT 1 FROM `" + e.cfg.UsersMapping().Table + "`")); n != users {
		t.Errorf("%d app rows after the adoption, want %d", n, users)
	}
	want := map[string]string{pGiven: "Dana", pFamily: "Smith", pTitle: "Director", pDept: "R&D", pPhone: "+1 555 0100"}
	for what, resp := range map[string]*response{"POST response": r, "GET": e.must(200, "GET", "/Users/"+id, nil)} {
		s.wantValues(t, e, what, key, resp.Body, want)
		s.wantActive(t, e, what, key, resp.Body, true)
		s.wantAppData(t, e, what, key, app, resp)
	}

	dump := e.dumpAll()
	e.must(409, "POST", "/Users", s.user("dana@example.com", "Dana", "Other", "Other", ""))
	if after := e.dumpAll(); after != dump {
		t.Errorf("the refused POST changed the database:\n%s", dumpDiff(dump, after))
	}
}
