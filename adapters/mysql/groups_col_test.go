package mysql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// oldGroups is what a user's "groups" were before they came with the user's row: the membership query
// (attachGroups'), run directly.
func oldGroups(t *testing.T, f *roleFixture, id string) []any {
	t.Helper()
	var rows []struct {
		GroupID string         `db:"group_id"`
		Name    sql.NullString `db:"display_name"`
	}
	if err := f.db.Select(&rows, "SELECT gm.group_id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id "+
		"WHERE gm.user_id = ? ORDER BY g.display_name, g.id", id); err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, r := range rows {
		out = append(out, map[string]any{"value": r.GroupID, "display": r.Name.String, "type": "direct"})
	}
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Lists (index and cursor pages, filtered or not), GET and a write's answer give exactly the groups, in
// the order, of the membership query run directly: names that differ in case,
// accents, a trailing tab or space (PAD SPACE), two groups of one name (then by id), and users in no group.
func TestUserGroupsInTheReadMatchTheMembershipQuery(t *testing.T) {
	f := newRoleFixture(t, appSchema, usersTOML, "")
	ctx := context.Background()
	var users []string
	for _, n := range []string{"ann", "bob", "cy", "dee"} {
		id, _ := f.user(t, n)
		users = append(users, id)
	}
	for i, name := range []string{"beta", "Beta", "alpha", "a\t", "a", "a ", "é", "e", "Same", "Same", "Z"} {
		members := users[:1+i%3] // dee is in no group
		f.group(t, name, members...)
	}
	all, _ := scim.ParseFilter(`userName pr`) // every user, as a filter
	for _, q := range []scim.ListQuery{{StartIndex: 1, Count: 10}, {StartIndex: 2, Count: 2}, {Count: 3, ByCursor: true}, {Filter: all, StartIndex: 1, Count: 10}} {
		p, err := f.store.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Resources) == 0 {
			t.Fatalf("%+v: no users", q)
		}
		for _, r := range p.Resources {
			id := r["id"].(string)
			if want := oldGroups(t, f, id); !sameJSON(r["groups"], want) {
				t.Fatalf("%+v: user %s groups %v; want %v", q, r["userName"], r["groups"], want)
			}
		}
	}
	for _, id := range users {
		r, err := f.store.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := oldGroups(t, f, id)
		if !sameJSON(r["groups"], want) {
			t.Fatalf("GET %s: groups %v; want %v", r["userName"], r["groups"], want)
		}
		if id == users[0] && len(want) != 11 {
			t.Fatalf("ann is in %d groups; want 11", len(want))
		}
		// A write answers with the user as it reads back, groups in the same read.
		out, err := f.store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) {
			cur["title"] = "changed"
			return cur, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(out["groups"], want) {
			t.Fatalf("PATCH %s: groups %v; want %v", out["userName"], out["groups"], want)
		}
	}
}

// Any display name reads back as it is: colons and digits (which a length-prefixed encoding could take
// for its own), a newline, NUL, multibyte letters, trailing spaces, an empty name and (with the column
// made nullable, as an app's DBA might) NULL, which reads as "". Every read path gives what the
// membership query run directly gives.
func TestUserGroupsColumnCarriesAnyDisplayName(t *testing.T) {
	store, db, _ := testfix.Store(t, 4, appSchema, usersTOML, mysql.Options{})
	f := &roleFixture{store: store, db: db}
	ctx := context.Background()
	ann, _ := f.user(t, "ann")
	bob, _ := f.user(t, "bob")
	names := []string{"12:", "3:abc", ":", "0:", "36:x", "9", "a:1:b", "line\nbreak", "nul\x00inside", "日本語", "émoji 🎉",
		"trailing  ", " ", "", "NULL"}
	if _, err := db.Exec("ALTER TABLE scim_groups MODIFY display_name VARCHAR(255) NULL"); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		members := []string{ann}
		if i%2 == 0 {
			members = append(members, bob)
		}
		id := f.group(t, fmt.Sprintf("group %d", i), members...)
		// Written directly: what a display name may hold is the column's business here, not the
		// SCIM validation's.
		var v any = name
		if name == "NULL" {
			v = nil
		}
		if _, err := db.Exec("UPDATE scim_groups SET display_name = ? WHERE id = ?", v, id); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := scim.ParseFilter(`userName pr`)
	byName, _ := scim.ParseFilter(`userName eq "ann@example.com"`)
	seen := 0
	for _, q := range []scim.ListQuery{{StartIndex: 1, Count: 10}, {Count: 1, ByCursor: true}, {Filter: all, StartIndex: 1, Count: 10}, {Filter: byName, StartIndex: 1, Count: 10}} {
		p, err := store.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Resources {
			seen++
			if want := oldGroups(t, f, r["id"].(string)); !sameJSON(r["groups"], want) {
				t.Fatalf("%+v: user %s groups %q; want %q", q, r["userName"], r["groups"], want)
			}
		}
	}
	for _, id := range []string{ann, bob} {
		r, err := store.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := oldGroups(t, f, id)
		if !sameJSON(r["groups"], want) {
			t.Fatalf("GET %s: groups %q; want %q", r["userName"], r["groups"], want)
		}
		if id == ann && len(want) != len(names) {
			t.Fatalf("ann is in %d groups; want %d", len(want), len(names))
		}
	}
	if seen < 6 {
		t.Fatalf("the lists read %d users; want at least 6", seen)
	}
}

// A user's read asks the membership query only when its row says it may be in a group (in_groups, set
// by the add that makes it a member): a user in no group is one statement, a member two, with exactly
// the groups of the membership query; one who left its groups reads with none. Memberships an import
// wrote with SQL show once Reindex has set in_groups again, and Reindex clears it for those who left.
func TestUserReadsAskForGroupsOnlyForMembers(t *testing.T) {
	store, db, dsn := testfix.Store(t, 4, appSchema, usersTOML, mysql.Options{})
	f := &roleFixture{store: store, db: db}
	ctx := context.Background()
	none, _ := f.user(t, "none")
	member, _ := f.user(t, "member")
	left, _ := f.user(t, "left")
	imported, _ := f.user(t, "imported")
	f.group(t, "one", member)
	g := f.group(t, "two", member, left)
	keep := func(cur scim.Resource) (scim.Resource, error) { return cur, nil }
	if _, err := store.UpdateGroup(ctx, g, keep, scim.MemberChange{Remove: []string{left}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO scim_group_members (group_id, user_id) VALUES (?, ?)", g, imported); err != nil {
		t.Fatal(err)
	}
	small, rec := openRecording(t, dsn)
	s := mysql.New(small, testfix.Users(t, usersTOML), mysql.Options{})
	check := func(when string, want map[string]int) {
		t.Helper()
		for id, stmts := range want {
			rec.take()
			r, err := s.GetUser(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.take()
			if exp := oldGroups(t, f, id); !sameJSON(r["groups"], exp) {
				t.Errorf("%s: GET %s: groups %v; want %v", when, r["userName"], r["groups"], exp)
			}
			if len(got) != stmts {
				t.Errorf("%s: GET %s sent %d statements; want %d: %v", when, r["userName"], len(got), stmts, got)
			}
		}
		p, err := s.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Resources {
			if u["id"] == imported && when == "before reindex" {
				continue // its membership is not known yet, as its values would not be
			}
			if w := oldGroups(t, f, u["id"].(string)); !sameJSON(u["groups"], w) {
				t.Errorf("%s: list: user %s groups %v; want %v", when, u["userName"], u["groups"], w)
			}
		}
	}
	check("before reindex", map[string]int{none: 1, member: 2, left: 2})
	if r, err := s.GetUser(ctx, imported); err != nil || r["groups"] != nil {
		t.Fatalf("before reindex: the imported membership shows already (%v, %v): in_groups is not what the read asks", r["groups"], err)
	}
	if err := mysql.Reindex(ctx, db, "scim_", nil); err != nil {
		t.Fatal(err)
	}
	check("after reindex", map[string]int{none: 1, member: 2, left: 1, imported: 2})
}
