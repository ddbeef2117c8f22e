package examples_test

// HTTP-level tests of examples/kv-meta: the "Community" forum whose members are keyed by a random string
// scimbridge generates, whose profile lives one row per attribute in the key-value table `keys`, whose
// deactivation is the timestamp deactivated_at and whose roles are the comma-separated members.roles.
// Every test asserts both the app's rows and what goes over the wire.

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// kvMemberKey is what a key made by key_generation = { random_length = 24, alphabet = ... } looks like.
var kvMemberKey = regexp.MustCompile(`^[abcdefghijkmnopqrstuvwxyz23456789]{24}$`)

// kvRow is one row of `keys`: its id (to tell an update in place from a delete and insert) and value.
type kvRow struct{ ID, Value string }

// kvUser is the POST body of a member with every attribute the example maps, but locale.
func kvUser(userName, given, family, title string) map[string]any {
	u := map[string]any{
		"schemas":  []string{userSchema, enterprise},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": userName, "type": "work", "primary": true}},
		"phoneNumbers": []any{
			map[string]any{"value": "+1 555 0199", "type": "mobile"},
			map[string]any{"value": "+1 555 0100", "type": "work"},
		},
		enterprise: map[string]any{"department": "R&D"},
	}
	if title != "" {
		u["title"] = title
	}
	return u
}

// kvMember is the members row with this key.
func kvMember(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT * FROM members WHERE member_key = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("members rows for %s: %v", key, rows)
	}
	return rows[0]
}

// kvKeys is every row of `keys` for a member, managed or not: key -> row.
func kvKeys(e *example, member string) map[string]kvRow {
	e.t.Helper()
	out := map[string]kvRow{}
	for _, r := range e.rows("SELECT id, `key`, `value` FROM `keys` WHERE member_key = ?", member) {
		out[r["key"]] = kvRow{ID: r["id"], Value: r["value"]}
	}
	return out
}

// kvValues is kvKeys without the ids.
func kvValues(e *example, member string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for k, r := range kvKeys(e, member) {
		out[k] = r.Value
	}
	return out
}

// kvWantValues fails unless got and want hold the same keys and values.
func kvWantValues(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: got %v, want %v", what, got, want)
			return
		}
	}
}

// kvPhone is the value of the phone number of this type in a resource, "" when there is none.
func kvPhone(m map[string]any, typ string) string {
	list, _ := m["phoneNumbers"].([]any)
	for _, x := range list {
		if p, _ := x.(map[string]any); p["type"] == typ {
			s, _ := p["value"].(string)
			return s
		}
	}
	return ""
}

// kvWantAt fails unless the resource has want at path (nil: the attribute is absent).
func kvWantAt(t *testing.T, what string, m map[string]any, want any, path ...string) {
	t.Helper()
	if got := at(m, path...); got != want {
		t.Errorf("%s: %s is %#v, want %#v", what, strings.Join(path, "."), got, want)
	}
}

func kvSorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestKVCreate: a POST makes a members row with a generated key and one `keys` row per attribute sent.
func TestKVCreate(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	r := e.must(201, "POST", "/Users", kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	id, _ := r.Body["id"].(string)
	key := appKey(e, id)

	if !kvMemberKey.MatchString(key) {
		t.Errorf("member_key %q is not 24 characters of the configured alphabet", key)
	}
	m := kvMember(e, key)
	if m["email"] != "ann@example.com" || m["display_name"] != "Ann Lee" || m["roles"] != "" ||
		m["deactivated_at"] != "NULL" || m["joined_at"] == "NULL" {
		t.Errorf("members row: %v", m)
	}
	kvWantValues(t, "keys", kvValues(e, key), map[string]string{
		"first_name": "Ann", "last_name": "Lee", "job_title": "Engineer", "phone": "+1 555 0100", "department": "R&D",
	})

	// The response, and a GET, show the user as the app now has it.
	get := e.must(200, "GET", "/Users/"+id, nil)
	for what, body := range map[string]map[string]any{"POST response": r.Body, "GET": get.Body} {
		kvWantAt(t, what, body, "ann@example.com", "userName")
		kvWantAt(t, what, body, "Ann", "name", "givenName")
		kvWantAt(t, what, body, "Lee", "name", "familyName")
		kvWantAt(t, what, body, "Ann Lee", "displayName")
		kvWantAt(t, what, body, "Engineer", "title")
		kvWantAt(t, what, body, "R&D", enterprise, "department")
		kvWantAt(t, what, body, true, "active")
		kvWantAt(t, what, body, nil, "locale")
		if kvPhone(body, "work") != "+1 555 0100" || kvPhone(body, "mobile") != "+1 555 0199" {
			t.Errorf("%s: phoneNumbers %v", what, body["phoneNumbers"])
		}
		if loc, _ := at(body, "meta", "location").(string); !strings.HasSuffix(loc, "/Users/"+id) {
			t.Errorf("%s: meta.location %q", what, loc)
		}
	}

	// A second member gets another key, and locale, sent this time, gets its row.
	body := kvUser("bob@example.com", "Bob", "Ng", "")
	body["locale"] = "en-GB"
	_, key2 := create(e, body)
	if key2 == key || !kvMemberKey.MatchString(key2) {
		t.Errorf("second member_key %q (first %q)", key2, key)
	}
	kvWantValues(t, "keys of the second member", kvValues(e, key2), map[string]string{
		"first_name": "Bob", "last_name": "Ng", "phone": "+1 555 0100", "department": "R&D", "locale": "en-GB",
	})
}

// TestKVPutDropsTitle: a PUT without title deletes the job_title row; a changed givenName updates its row in place.
func TestKVPutDropsTitle(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	id, key := create(e, kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	before := kvKeys(e, key)

	r := e.must(200, "PUT", "/Users/"+id, kvUser("ann@example.com", "Annie", "Lee", ""))
	after := kvKeys(e, key)
	if _, ok := after["job_title"]; ok {
		t.Errorf("job_title row kept after a PUT without title: %v", after)
	}
	if after["first_name"] != (kvRow{ID: before["first_name"].ID, Value: "Annie"}) {
		t.Errorf("first_name: before %v, after %v; want the same row, updated", before["first_name"], after["first_name"])
	}
	for _, k := range []string{"last_name", "phone", "department"} {
		if after[k] != before[k] {
			t.Errorf("%s: before %v, after %v; want it untouched", k, before[k], after[k])
		}
	}
	if len(after) != 4 {
		t.Errorf("keys after PUT: %v", after)
	}
	// displayName was never sent: its default is rendered again from the new name.
	if m := kvMember(e, key); m["display_name"] != "Annie Lee" || m["deactivated_at"] != "NULL" {
		t.Errorf("members row after PUT: %v", m)
	}
	get := e.must(200, "GET", "/Users/"+id, nil)
	for what, body := range map[string]map[string]any{"PUT response": r.Body, "GET": get.Body} {
		kvWantAt(t, what, body, nil, "title")
		kvWantAt(t, what, body, "Annie", "name", "givenName")
		kvWantAt(t, what, body, "Lee", "name", "familyName")
		kvWantAt(t, what, body, "Annie Lee", "displayName")
		kvWantAt(t, what, body, "R&D", enterprise, "department")
		kvWantAt(t, what, body, true, "active")
	}
}

// TestKVPatch: PATCH add, replace and remove on attributes kept in `keys`, with paths and without.
func TestKVPatch(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	id, key := create(e, kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	before := kvKeys(e, key)

	t.Run("replace givenName", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "replace", "path": "name.givenName", "value": "Annie"})
		kvWantAt(t, "response", r.Body, "Annie", "name", "givenName")
		if got := kvKeys(e, key)["first_name"]; got != (kvRow{ID: before["first_name"].ID, Value: "Annie"}) {
			t.Errorf("first_name row %v, want id %s updated to Annie", got, before["first_name"].ID)
		}
		if m := kvMember(e, key); m["display_name"] != "Annie Lee" {
			t.Errorf("display_name %q, want the default rendered again", m["display_name"])
		}
	})
	t.Run("remove title", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "remove", "path": "title"})
		kvWantAt(t, "response", r.Body, nil, "title")
		if got, ok := kvKeys(e, key)["job_title"]; ok {
			t.Errorf("job_title row %v kept after remove", got)
		}
	})
	t.Run("add locale", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "add", "path": "locale", "value": "en-US"})
		kvWantAt(t, "response", r.Body, "en-US", "locale")
		if got := kvKeys(e, key)["locale"]; got.Value != "en-US" {
			t.Errorf("locale row %v", got)
		}
	})
	t.Run("replace work phone", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "replace", "path": `phoneNumbers[type eq "work"].value`, "value": "+1 555 0142"})
		if kvPhone(r.Body, "work") != "+1 555 0142" || kvPhone(r.Body, "mobile") != "+1 555 0199" {
			t.Errorf("response phoneNumbers %v", r.Body["phoneNumbers"])
		}
		if got := kvKeys(e, key)["phone"]; got != (kvRow{ID: before["phone"].ID, Value: "+1 555 0142"}) {
			t.Errorf("phone row %v", got)
		}
	})
	t.Run("replace department", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "replace", "path": enterprise + ":department", "value": "Sales"})
		kvWantAt(t, "response", r.Body, "Sales", enterprise, "department")
		if got := kvKeys(e, key)["department"]; got != (kvRow{ID: before["department"].ID, Value: "Sales"}) {
			t.Errorf("department row %v", got)
		}
	})
	t.Run("no-path value", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "replace", "value": map[string]any{"title": "X", "name.familyName": "Y"}})
		kvWantAt(t, "response", r.Body, "X", "title")
		kvWantAt(t, "response", r.Body, "Y", "name", "familyName")
		kvWantAt(t, "response", r.Body, "Annie", "name", "givenName")
		got := kvKeys(e, key)
		if got["job_title"].Value != "X" || got["last_name"] != (kvRow{ID: before["last_name"].ID, Value: "Y"}) {
			t.Errorf("keys %v", got)
		}
	})
	t.Run("no-path value with the extension URN (Entra)", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "Replace", "value": map[string]any{enterprise + ":department": "Ops", "locale": "fr-FR"}})
		kvWantAt(t, "response", r.Body, "Ops", enterprise, "department")
		kvWantAt(t, "response", r.Body, "fr-FR", "locale")
		if got := kvKeys(e, key); got["department"].Value != "Ops" || got["locale"].Value != "fr-FR" {
			t.Errorf("keys %v", got)
		}
	})
	t.Run("remove work phone", func(t *testing.T) {
		r := mustPatch(e, id, map[string]any{"op": "remove", "path": `phoneNumbers[type eq "work"]`})
		if kvPhone(r.Body, "work") != "" || kvPhone(r.Body, "mobile") != "+1 555 0199" {
			t.Errorf("response phoneNumbers %v", r.Body["phoneNumbers"])
		}
		if got, ok := kvKeys(e, key)["phone"]; ok {
			t.Errorf("phone row %v kept after the work phone was removed", got)
		}
	})

	kvWantValues(t, "keys at the end", kvValues(e, key), map[string]string{
		"first_name": "Annie", "last_name": "Y", "job_title": "X", "department": "Ops", "locale": "fr-FR",
	})
	get := e.must(200, "GET", "/Users/"+id, nil)
	kvWantAt(t, "GET", get.Body, "Annie Y", "displayName")
	kvWantAt(t, "GET", get.Body, "X", "title")
	kvWantAt(t, "GET", get.Body, "fr-FR", "locale")
	kvWantAt(t, "GET", get.Body, "Ops", enterprise, "department")
	if m := kvMember(e, key); m["display_name"] != "Annie Y" || m["email"] != "ann@example.com" {
		t.Errorf("members row %v", m)
	}
}

// TestKVFilters: filters on attributes kept in `keys` are semi-joins; ne and not count users without the row.
func TestKVFilters(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	annBody := kvUser("ann@example.com", "Ann", "Lee", "Engineer")
	annBody["locale"] = "en-US"
	ann, _ := create(e, annBody)
	bobBody := kvUser("bob@example.com", "Bob", "Ng", "Manager")
	bobBody[enterprise] = map[string]any{"department": "Sales"}
	bob, _ := create(e, bobBody)
	anna, annaKey := create(e, kvUser("anna@example.com", "Anna", "Berg", "")) // no title
	// The app's own keys never match: a job title some app feature stored under another key.
	e.exec("INSERT INTO `keys` (member_key, `key`, `value`) VALUES (?, 'legacy_title', 'Engineer')", annaKey)

	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`title eq "Engineer"`, []string{ann}},
		{`title eq "engineer"`, []string{ann}}, // title is not caseExact
		{`title co "nag"`, []string{bob}},
		{`name.givenName sw "An"`, []string{ann, anna}},
		{`name.familyName eq "Ng"`, []string{bob}},
		{enterprise + `:department eq "R&D"`, []string{ann, anna}},
		{enterprise + `:department eq "Sales"`, []string{bob}},
		{`title ne "Engineer"`, []string{bob, anna}},
		{`not (title eq "Engineer")`, []string{bob, anna}},
		{`not (title ne "Engineer")`, []string{ann}},
		{`title pr`, []string{ann, bob}},
		{`not (title pr)`, []string{anna}},
		{`locale pr`, []string{ann}},
		{`locale eq "en-US"`, []string{ann}},
		{`userName eq "bob@example.com" and title eq "Manager"`, []string{bob}},
		{`userName eq "bob@example.com" and title eq "Engineer"`, nil},
		{`userName eq "anna@example.com" or title eq "Engineer"`, []string{ann, anna}},
		{`userName sw "an" and title ne "Engineer"`, []string{anna}},
		{`title eq "Engineer" or name.givenName eq "Bob"`, []string{ann, bob}},
		{`(title eq "Manager" or locale pr) and ` + enterprise + `:department eq "R&D"`, []string{ann}},
		{`phoneNumbers[type eq "work" and value eq "+1 555 0100"]`, []string{ann, bob, anna}},
	} {
		total, ids := find(e, c.filter)
		if want := kvSorted(c.want...); total != len(want) || !slices.Equal(ids, want) {
			t.Errorf("filter %s: totalResults %d, ids %v; want %v (ann %s, bob %s, anna %s)", c.filter, total, ids, want, ann, bob, anna)
		}
	}

	// Paging over a filter on a key: totalResults counts all matches, the page holds one.
	r := e.must(200, "GET", "/Users?count=1&startIndex=2&filter="+url.QueryEscape(`name.givenName sw "An"`), nil)
	if total, _ := r.Body["totalResults"].(float64); total != 2 || len(resources(t, r)) != 1 {
		t.Errorf("paged filter: %s", r)
	}
}

// TestKVFilterPhoneValue: phoneNumbers.value eq <a number that is not the work one> must find the user,
// whose resource shows that number; only the work number is kept in `keys`.
func TestKVFilterPhoneValue(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	ann, _ := create(e, kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	get := e.must(200, "GET", "/Users/"+ann, nil)
	if kvPhone(get.Body, "mobile") != "+1 555 0199" {
		t.Fatalf("the resource has no mobile phone: %s", get)
	}
	for _, f := range []string{`phoneNumbers.value eq "+1 555 0100"`, `phoneNumbers.value eq "+1 555 0199"`, `phoneNumbers eq "+1 555 0199"`} {
		if total, ids := find(e, f); total != 1 || !slices.Equal(ids, []string{ann}) {
			t.Errorf("filter %s: totalResults %d, ids %v; want [%s]", f, total, ids, ann)
		}
	}
}

// TestKVDeactivatedAtKept: active maps to the timestamp deactivated_at (the suite's Deactivate and
// DeleteAndRePost); it is when the account was deactivated, so later updates leave it.
func TestKVDeactivatedAtKept(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	ann, annKey := create(e, kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	mustPatch(e, ann, map[string]any{"op": "replace", "path": "active", "value": false})
	e.exec("UPDATE members SET deactivated_at = '2020-01-02 03:04:05' WHERE member_key = ?", annKey)
	mustPatch(e, ann, map[string]any{"op": "replace", "path": "title", "value": "Former Engineer"})
	e.must(200, "PUT", "/Users/"+ann, map[string]any{"schemas": []string{userSchema}, "userName": "ann@example.com",
		"active": false, "name": map[string]any{"givenName": "Ann", "familyName": "Lee"}, "title": "Former Engineer"})
	if m := kvMember(e, annKey); m["deactivated_at"] != "2020-01-02T03:04:05Z" {
		t.Errorf("deactivated_at rewritten by an update of a deactivated user: %v", m)
	}
}

// TestKVRoles: group memberships grant roles in members.roles, next to the app's own "founder".
func TestKVRoles(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	ann, annKey := create(e, kvUser("ann@example.com", "Ann", "Lee", "Engineer"))
	bob, bobKey := create(e, kvUser("bob@example.com", "Bob", "Ng", "Manager"))
	e.exec("UPDATE members SET roles = 'founder' WHERE member_key = ?", annKey)
	roles := func(key string) string { t.Helper(); return kvMember(e, key)["roles"] }
	has := func(key string, want ...string) {
		t.Helper()
		got := strings.Split(roles(key), ",")
		if roles(key) == "" {
			got = nil
		}
		slices.Sort(got)
		if w := kvSorted(want...); !slices.Equal(got, w) {
			t.Errorf("roles of %s: %q, want %v", key, roles(key), w)
		}
	}

	g := e.must(201, "POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Community Moderators",
		"members":     []any{map[string]any{"value": ann}},
	})
	mods, _ := g.Body["id"].(string)
	has(annKey, "founder", "moderator")
	has(bobKey)
	if !strings.HasPrefix(roles(annKey), "founder,") {
		t.Errorf("the app's own role lost its place: %q", roles(annKey))
	}

	e.must(201, "POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Community Members",
		"members":     []any{map[string]any{"value": ann}, map[string]any{"value": bob}},
	})
	has(annKey, "founder", "moderator", "member")
	has(bobKey, "member")

	groupPatch := func(ops ...any) {
		t.Helper()
		e.must(200, "PATCH", "/Groups/"+mods, map[string]any{"schemas": []string{patchOp}, "Operations": ops})
	}
	groupPatch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": bob}}})
	has(bobKey, "member", "moderator")
	groupPatch(map[string]any{"op": "remove", "path": `members[value eq "` + ann + `"]`})
	has(annKey, "founder", "member")
	has(bobKey, "member", "moderator")

	// Deleting the group takes its role away; deleting a user takes all its managed roles away.
	e.must(204, "DELETE", "/Groups/"+mods, nil)
	has(bobKey, "member")
	e.must(204, "DELETE", "/Users/"+ann, nil)
	has(annKey, "founder")

	// Profile updates leave roles alone.
	mustPatch(e, bob, map[string]any{"op": "replace", "path": "title", "value": "Director"})
	has(bobKey, "member")
}

// TestKVAdoption: a POST for an email the app already has takes over its members row and key.
func TestKVAdoption(t *testing.T) {
	t.Parallel()
	e := start(t, "kv-meta")
	const legacy = "legacy-dana-000000000001" // the app's own key, not from scimbridge's alphabet
	e.exec("INSERT INTO members (member_key, email, display_name, roles, deactivated_at, joined_at) VALUES (?, 'dana@example.com', 'Dana (app)', 'founder', '2021-05-06 07:08:09', '2020-01-01 00:00:00')", legacy)
	e.exec("INSERT INTO `keys` (member_key, `key`, `value`) VALUES (?, 'theme', 'light'), (?, 'job_title', 'Intern'), (?, 'locale', 'de-DE')", legacy, legacy, legacy)
	before := kvKeys(e, legacy)

	body := kvUser("dana@example.com", "Dana", "Smith", "Director")
	body["displayName"] = "Dana Smith"
	r := e.must(201, "POST", "/Users", body)
	id, _ := r.Body["id"].(string)
	if got := appKey(e, id); got != legacy {
		t.Fatalf("adopted user linked to key %q, want %q", got, legacy)
	}
	if n := len(e.rows("SELECT 1 FROM members")); n != 1 {
		t.Errorf("%d members rows, want the adopted one only", n)
	}
	m := kvMember(e, legacy)
	if m["email"] != "dana@example.com" || m["display_name"] != "Dana Smith" || m["roles"] != "founder" ||
		m["deactivated_at"] != "NULL" || m["joined_at"] != "2020-01-01T00:00:00Z" {
		t.Errorf("members row after adoption: %v", m)
	}
	after := kvKeys(e, legacy)
	if after["theme"] != before["theme"] {
		t.Errorf("theme: before %v, after %v", before["theme"], after["theme"])
	}
	if after["job_title"] != (kvRow{ID: before["job_title"].ID, Value: "Director"}) {
		t.Errorf("job_title: before %v, after %v; want the stale row updated", before["job_title"], after["job_title"])
	}
	// locale was not sent: an adoption leaves what the request lacks as the app has it.
	kvWantValues(t, "keys", kvValues(e, legacy), map[string]string{
		"first_name": "Dana", "last_name": "Smith", "job_title": "Director", "phone": "+1 555 0100",
		"department": "R&D", "theme": "light", "locale": "de-DE",
	})
	get := e.must(200, "GET", "/Users/"+id, nil)
	for what, resp := range map[string]*response{"POST response": r, "GET": get} {
		kvWantAt(t, what, resp.Body, "Director", "title")
		kvWantAt(t, what, resp.Body, "Dana", "name", "givenName")
		kvWantAt(t, what, resp.Body, "de-DE", "locale")
		kvWantAt(t, what, resp.Body, true, "active")
		if bytes.Contains(resp.Raw, []byte("light")) || bytes.Contains(resp.Raw, []byte(legacy)) {
			t.Errorf("%s: the app's own key or row key leaks: %s", what, resp.Raw)
		}
	}
	// (A second POST for the row is a conflict that changes nothing: the suite's Adoption.)
}

// TestKVSuite runs the behaviour every example shares (suite_test.go) on kv-meta.
func TestKVSuite(t *testing.T) { runSuite(t, kvSpec) }

// kvNames is the `keys`.`key` of each attribute the suite writes.
var kvNames = map[string]string{pGiven: "first_name", pFamily: "last_name", pTitle: "job_title", pDept: "department",
	pPhone: "phone", "locale": "locale"}

var kvSpec = exampleSpec{
	dir: "kv-meta",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := kvUser(userName, given, family, title)
		u["locale"] = "en-GB"
		if dept == "" {
			delete(u, enterprise)
		} else {
			u[enterprise] = map[string]any{"department": dept}
		}
		return u
	},
	attrs: []suiteAttr{{"locale", []string{"locale"}, "en-GB"}},
	value: func(e *example, key, path string) string { return kvKeys(e, key)[kvNames[path]].Value },
	active: func(e *example, key string) bool {
		return kvMember(e, key)["deactivated_at"] == "NULL"
	},
	content: func(e *example, key string) string {
		return fmt.Sprint(e.rows("SELECT member_key, email, display_name, roles, joined_at FROM members WHERE member_key = ?", key),
			e.rows("SELECT id, `key`, `value` FROM `keys` WHERE member_key = ? ORDER BY id", key))
	},
	seedApp: func(e *example, key string) {
		e.exec("INSERT INTO `keys` (member_key, `key`, `value`) VALUES (?, 'theme', 'dark-solarized'), (?, 'signature', 'Cheers, Ann')", key, key)
	},
	appData: func(e *example, key string) string {
		all := kvKeys(e, key)
		return fmt.Sprint(all["theme"], all["signature"])
	},
	appWords: []string{"dark-solarized", "Cheers, Ann", "theme", "signature"},
	edit: func(e *example, key, path, value string) {
		if value == "" {
			e.exec("DELETE FROM `keys` WHERE member_key = ? AND `key` = ?", key, kvNames[path])
			return
		}
		e.exec("INSERT INTO `keys` (member_key, `key`, `value`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)", key, kvNames[path], value)
	},
	adopt: func(e *example, userName string) string {
		const legacy = "legacy-dana-000000000001" // the app's own key, not from scimbridge's alphabet
		e.exec("INSERT INTO members (member_key, email, display_name, roles, deactivated_at, joined_at) VALUES (?, ?, 'Dana (app)', 'founder', '2021-05-06 07:08:09', '2020-01-01 00:00:00')", legacy, userName)
		return legacy
	},
	failWrites: []string{
		"CREATE TRIGGER keys_no_insert BEFORE INSERT ON `keys` FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER keys_no_update BEFORE UPDATE ON `keys` FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}
