package examples_test

// json-profile: filters, deactivation, broken documents, atomicity, adoption and concurrency.

import (
	"encoding/json"
	"slices"
	"testing"
)

// 5. Filters on members of the document, alone and combined, and on the email column.
func TestJSONFilters(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	user := func(userName, given, title, dept string) string {
		u := map[string]any{"schemas": []string{userSchema, enterprise}, "userName": userName,
			"name":   map[string]any{"givenName": given, "familyName": "Test"},
			"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}}}
		if title != "" {
			u["title"] = title
		}
		if dept != "" {
			u[enterprise] = map[string]any{"department": dept}
		}
		return jpCreate(e, u)
	}
	ann := user("ann@example.com", "Ann", "Engineer", "R&D")
	bob := user("bob@example.com", "Bob", "Manager", "Sales")
	annabel := user("annabel@example.com", "Annabel", "Engineer", "Sales")
	cat := user("cat@example.com", "Cat", "", "")
	// The app's own members are not attributes and do not disturb filters.
	jpSetApp(e, "bob@example.com", `{"title2":"Engineer","name":{"nick":"Ann"}}`)

	ids := func(s ...string) []string { slices.Sort(s); return s }
	cases := []struct {
		filter string
		want   []string
	}{
		{`title eq "Engineer"`, ids(ann, annabel)},
		{`title eq "Nobody"`, nil},
		{`name.givenName sw "Ann"`, ids(ann, annabel)},
		{`name.givenName eq "Ann"`, ids(ann)},
		{`name.givenName co "nab"`, ids(annabel)},
		{`name.givenName ew "at"`, ids(cat)},
		{enterprise + `:department eq "Sales"`, ids(bob, annabel)},
		{enterprise + `:department eq "R&D"`, ids(ann)},
		{`title ne "Engineer"`, ids(bob, cat)},
		{`not (title eq "Engineer")`, ids(bob, cat)},
		{`title pr`, ids(ann, bob, annabel)},
		{`not (title pr)`, ids(cat)},
		{enterprise + `:department pr`, ids(ann, bob, annabel)},
		{`title eq "Engineer" and ` + enterprise + `:department eq "Sales"`, ids(annabel)},
		{`title eq "Manager" or name.givenName sw "Ca"`, ids(bob, cat)},
		{`(title eq "Engineer" or title eq "Manager") and not (name.givenName eq "Ann")`, ids(bob, annabel)},
		{`title pr and not (` + enterprise + `:department eq "R&D")`, ids(bob, annabel)},
		{`emails.value eq "bob@example.com"`, ids(bob)},
		{`emails.value eq "cat@example.com" or title eq "Manager"`, ids(bob, cat)},
		{`userName eq "annabel@example.com" and title eq "Engineer"`, ids(annabel)},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			total, got := find(e, c.filter)
			if total != len(c.want) || !slices.Equal(got, c.want) {
				t.Errorf("totalResults %d, ids %v; want %d, %v", total, got, len(c.want), c.want)
			}
		})
	}

	// title and givenName are not caseExact (RFC 7643 4.1.1): a filter matches them in any case, as it
	// does userName and the email column.
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`emails.value eq "BOB@example.com"`, ids(bob)},
		{`title eq "engineer"`, ids(ann, annabel)},
		{`name.givenName sw "ann"`, ids(ann, annabel)},
		{enterprise + `:department eq "sales"`, ids(bob, annabel)},
	} {
		t.Run("case-insensitive "+c.filter, func(t *testing.T) {
			total, got := find(e, c.filter)
			if total != len(c.want) || !slices.Equal(got, c.want) {
				t.Errorf("totalResults %d, ids %v; want %d, %v", total, got, len(c.want), c.want)
			}
		})
	}

	t.Run("after a PATCH the filter sees the new member", func(t *testing.T) {
		if r := patch(e, cat, op("add", "title", "Engineer")); r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
		total, got := find(e, `title eq "Engineer"`)
		if want := ids(ann, annabel, cat); total != 3 || !slices.Equal(got, want) {
			t.Errorf("totalResults %d, ids %v; want 3, %v", total, got, want)
		}
	})
}

// 7. A document the app broke: NULL reads as empty and can be written; a JSON array or string is not
// overwritten (the write fails and changes nothing), while writes that leave the document alone work.
func TestJSONBrokenProfile(t *testing.T) {
	t.Parallel()
	t.Run("NULL", func(t *testing.T) {
		e := start(t, "json-profile")
		id := jpCreate(e, ann())
		e.exec("UPDATE accounts SET profile = NULL WHERE username = 'ann@example.com'")
		r := e.must(200, "GET", "/Users/"+id, nil)
		for _, k := range []string{"name", "title", "displayName", enterprise} {
			if _, ok := r.Body[k]; ok {
				t.Errorf("GET with a NULL profile shows %s: %s", k, r)
			}
		}
		r = patch(e, id, op("replace", "name.givenName", "Anne"), op("replace", "title", "Lead"))
		if r.Status != 200 {
			t.Fatalf("PATCH: %s", r)
		}
		jpWantAt(t, r.Body, "Anne", "name", "givenName")
		jpWantAt(t, r.Body, "Lead", "title")
		jpWantProfile(e, "ann@example.com", `{"name":{"first":"Anne"},"title":"Lead"}`)
	})

	for _, broken := range []string{`[1,2]`, `"x"`, `42`} {
		t.Run(broken, func(t *testing.T) {
			e := start(t, "json-profile")
			id := jpCreate(e, ann())
			e.exec("UPDATE accounts SET profile = ? WHERE username = 'ann@example.com'", broken)

			r := e.must(200, "GET", "/Users/"+id, nil)
			jpWantAt(t, r.Body, nil, "title")
			jpWantAt(t, r.Body, "ann@example.com", "userName")

			before := e.dumpAll()
			r = patch(e, id, op("replace", "title", "Lead"))
			wantSCIMError(t, r)
			if after := e.dumpAll(); after != before {
				t.Errorf("a failed PATCH changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if got := jpAccount(e, "ann@example.com")["profile"]; got != broken {
				t.Errorf("profile: got %s, want the app's %s", got, broken)
			}

			// A PATCH that touches only the users table's columns does not need the document.
			r = patch(e, id, op("replace", "active", false))
			if r.Status != 200 {
				t.Errorf("PATCH active only, with profile %s: got %s, want 200", broken, r)
			} else {
				jpWantAt(t, r.Body, false, "active")
				acc := jpAccount(e, "ann@example.com")
				if acc["enabled"] != "0" || acc["profile"] != broken {
					t.Errorf("accounts row: enabled %s, profile %s; want 0, %s", acc["enabled"], acc["profile"], broken)
				}
			}

			// Nor does DELETE, which deactivates the account (on_delete = "deactivate").
			if r := e.do("DELETE", "/Users/"+id, nil); r.Status != 204 {
				t.Errorf("DELETE with profile %s: got %s, want 204", broken, r)
			} else if acc := jpAccount(e, "ann@example.com"); acc["enabled"] != "0" || acc["profile"] != broken {
				t.Errorf("accounts row after DELETE: enabled %s, profile %s; want 0, %s", acc["enabled"], acc["profile"], broken)
			}
		})
	}

	t.Run("$.name is not an object", func(t *testing.T) {
		e := start(t, "json-profile")
		id := jpCreate(e, ann())
		e.exec(`UPDATE accounts SET profile = JSON_SET(profile, '$.name', 'Ann Lee') WHERE username = 'ann@example.com'`)
		before := e.dumpAll()
		r := patch(e, id, op("replace", "name.givenName", "Anne"))
		wantSCIMError(t, r)
		if after := e.dumpAll(); after != before {
			t.Errorf("a failed PATCH changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// Members outside $.name are still written, and the app's $.name is left alone.
		r = patch(e, id, op("replace", "title", "Lead"))
		if r.Status != 200 {
			t.Fatalf("PATCH title: %s", r)
		}
		p := jpProfile(e, "ann@example.com")
		if p["title"] != "Lead" || p["name"] != "Ann Lee" {
			t.Errorf("profile: %v, want title Lead and the app's name string", p)
		}
	})
}

// 8. (The write that fails part-way is the suite's, FailedWriteChangesNothing.) With a trigger that
// refuses every change of the document, a PATCH of a users-table column alone goes through: such a
// write does not rewrite the document.
func TestJSONColumnWriteLeavesDocument(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	id := jpCreate(e, ann())
	e.exec(`CREATE TRIGGER accounts_profile_frozen BEFORE UPDATE ON accounts FOR EACH ROW BEGIN
		IF NOT (NEW.profile <=> OLD.profile) THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; END`)
	r := patch(e, id, op("replace", "active", false))
	if r.Status != 200 {
		t.Fatalf("PATCH active only: %s", r)
	}
	if acc := jpAccount(e, "ann@example.com"); acc["enabled"] != "0" {
		t.Errorf("enabled: got %s, want 0", acc["enabled"])
	}
}

// 9. A POST adopts the app's own row with the same username: same key, mapped members written over the
// stale ones, the app's members kept.
func TestJSONAdoption(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	stale := jpMerge(jpDecode(t, appMembers), jpDecode(t, `{"title":"Intern","name":{"nick":"annie","first":"Annie"},"manager":{"id":"m-0","since":"2020"}}`))
	text, _ := json.Marshal(stale)
	e.exec("INSERT INTO accounts (username, email, enabled, profile, created_at) VALUES ('ann@example.com', 'old@example.com', 0, ?, '2020-01-02 03:04:05')", string(text))
	e.exec("INSERT INTO accounts (username, email, enabled, profile, created_at) VALUES ('zed@example.com', 'zed@example.com', 1, '{\"title\":\"Other\"}', '2020-01-02 03:04:05')")
	key := jpAccount(e, "ann@example.com")["id"]

	r := e.must(201, "POST", "/Users", ann())
	jpWantAt(t, r.Body, "Engineer", "title")
	jpWantAt(t, r.Body, "Ann", "name", "givenName")
	jpWantAt(t, r.Body, "m-1", enterprise, "manager", "value")
	jpWantAt(t, r.Body, true, "active")

	if n := len(e.rows("SELECT id FROM accounts")); n != 2 {
		t.Errorf("accounts has %d rows, want 2 (adopted, not inserted)", n)
	}
	acc := jpAccount(e, "ann@example.com")
	if acc["id"] != key || acc["email"] != "ann@example.com" || acc["enabled"] != "1" || acc["created_at"] != "2020-01-02T03:04:05Z" {
		t.Errorf("adopted row: %v; want id %s, email ann@example.com, enabled 1, created_at kept", acc, key)
	}
	want := jpMerge(stale, jpDecode(t, annProfile))
	jpWantDoc(t, "adopted profile", jpProfile(e, "ann@example.com"), want)
	jpWantProfile(e, "zed@example.com", `{"title":"Other"}`)

	book := e.cfg.Database.BookkeepingPrefix + "users"
	if rows := e.rows("SELECT app_id FROM `"+book+"` WHERE id = ?", r.Body["id"]); len(rows) != 1 || rows[0]["app_id"] != key {
		t.Errorf("bookkeeping row links %v, want app_id %s", rows, key)
	}

	// Later writes go to the adopted row.
	if r := patch(e, r.Body["id"].(string), op("replace", "title", "Lead")); r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	want["title"] = "Lead"
	jpWantDoc(t, "profile after PATCH", jpProfile(e, "ann@example.com"), want)
}

// The app is the source of truth for the members scimbridge maps: a change the app makes itself shows on
// the wire and in filters, survives unrelated writes, and a member the app removed is written again when
// the IdP sends the attribute.
func TestJSONAppWritesMappedMembers(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	id := jpCreate(e, ann())
	e.exec(`UPDATE accounts SET profile = JSON_SET(profile, '$.title', 'CTO') WHERE username = 'ann@example.com'`)

	jpWantAt(t, e.must(200, "GET", "/Users/"+id, nil).Body, "CTO", "title")
	if total, got := find(e, `title eq "CTO"`); total != 1 || !slices.Equal(got, []string{id}) {
		t.Errorf(`title eq "CTO": %d %v, want %s`, total, got, id)
	}
	if total, _ := find(e, `title eq "Engineer"`); total != 0 {
		t.Errorf(`title eq "Engineer" still finds %d users after the app changed the title`, total)
	}
	r := patch(e, id, op("replace", "name.givenName", "Anne"))
	if r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	jpWantAt(t, r.Body, "CTO", "title")
	want := jpMerge(jpDecode(t, annProfile), jpDecode(t, `{"title":"CTO","name":{"first":"Anne"}}`))
	jpWantDoc(t, "profile", jpProfile(e, "ann@example.com"), want)

	// The app removes the title; the IdP's next PUT with the original title writes it again.
	e.exec(`UPDATE accounts SET profile = JSON_REMOVE(profile, '$.title') WHERE username = 'ann@example.com'`)
	jpWantAt(t, e.must(200, "GET", "/Users/"+id, nil).Body, nil, "title")
	u := ann()
	u["name"] = map[string]any{"givenName": "Anne", "familyName": "Lee"}
	r = e.must(200, "PUT", "/Users/"+id, u)
	jpWantAt(t, r.Body, "Engineer", "title")
	want["title"] = "Engineer"
	jpWantDoc(t, "profile after PUT", jpProfile(e, "ann@example.com"), want)
}

// Filters agree with what a read shows: a member the app set to JSON null, an object or a list is not a
// value of the attribute (GET leaves it out), so "pr" does not count it and "eq" does not match it.
func TestJSONFilterAgreesWithRead(t *testing.T) {
	t.Parallel()
	e := start(t, "json-profile")
	plain := jpCreate(e, ann())
	odd := map[string]string{}
	for name, member := range map[string]string{"null": `null`, "object": `{"en":"Engineer"}`, "list": `["Engineer"]`} {
		userName := name + "@example.com"
		odd[name] = jpCreate(e, map[string]any{"schemas": []string{userSchema}, "userName": userName, "title": "Engineer"})
		e.exec(`UPDATE accounts SET profile = JSON_SET(profile, '$.title', JSON_EXTRACT(?, '$')) WHERE username = ?`, member, userName)
	}
	for name, id := range odd {
		t.Run(name, func(t *testing.T) {
			jpWantAt(t, e.must(200, "GET", "/Users/"+id, nil).Body, nil, "title")
			for _, f := range []string{`title pr`, `title eq "null"`, `title eq "Engineer"`, `title sw "["`, `title sw "{"`} {
				total, got := find(e, f)
				if slices.Contains(got, id) {
					t.Errorf("%s: finds the user whose GET has no title (totalResults %d)", f, total)
				}
			}
			if _, got := find(e, `not (title pr)`); !slices.Contains(got, id) {
				t.Errorf("not (title pr): misses the user whose GET has no title")
			}
		})
	}
	if total, got := find(e, `title eq "Engineer"`); total != 1 || !slices.Equal(got, []string{plain}) {
		t.Errorf(`title eq "Engineer": %d %v, want only %s`, total, got, plain)
	}
}
