package mysql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"

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

// Lists (index and cursor pages, filtered or not), GET and a write's answer read a user's groups in the user's own query;
// they give exactly the groups, in the order, of the old membership query: names that differ in case,
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

// The groups column carries each name by its length, so no byte of a display name can be taken for
// structure: colons and digits (which look like the column's own "<length>:"), a newline, NUL,
// multibyte letters, trailing spaces, an empty name and (with the column made nullable, as an app's
// DBA might) NULL, which the membership query reads as "". Every read path gives what that query gives.
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

// A user in more groups than the session's group_concat_max_len can list (GROUP_CONCAT truncates with
// a warning, not an error) still reads with all of them: the column's count says the list is short,
// and the membership query gives them. A user whose groups fit is one statement as before.
func TestUserGroupsPastGroupConcatMaxLenComeFromTheMembershipQuery(t *testing.T) {
	store, db, dsn := testfix.Store(t, 4, appSchema, usersTOML, mysql.Options{})
	f := &roleFixture{store: store, db: db}
	ctx := context.Background()
	many, _ := f.user(t, "many")
	few, _ := f.user(t, "few")
	for i := range 12 {
		members := []string{many}
		if i == 0 {
			members = append(members, few)
		}
		f.group(t, fmt.Sprintf("group %02d", i), members...)
	}
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["group_concat_max_len"] = "200" // 12 groups take about 12 * 50 bytes
	small, rec := openRecording(t, cfg.FormatDSN())
	var maxLen int
	if err := small.Get(&maxLen, "SELECT @@group_concat_max_len"); err != nil || maxLen != 200 {
		t.Fatalf("group_concat_max_len %d, %v; want 200", maxLen, err)
	}
	s := mysql.New(small, testfix.Users(t, usersTOML), mysql.Options{})
	for _, c := range []struct {
		id    string
		n     int
		stmts int
	}{{many, 12, 2}, {few, 1, 1}} {
		rec.take()
		r, err := s.GetUser(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		want := oldGroups(t, f, c.id)
		if len(want) != c.n || !sameJSON(r["groups"], want) {
			t.Fatalf("GET %s: groups %v; want the %d of %v", r["userName"], r["groups"], c.n, want)
		}
		var lines []string
		for _, st := range got {
			lines = append(lines, st.query)
		}
		if len(got) != c.stmts {
			t.Fatalf("GET %s sent %d statements; want %d:\n%s", r["userName"], len(got), c.stmts, strings.Join(lines, "\n"))
		}
		p, err := s.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Resources {
			if w := oldGroups(t, f, u["id"].(string)); !sameJSON(u["groups"], w) {
				t.Fatalf("list: user %s groups %v; want %v", u["userName"], u["groups"], w)
			}
		}
	}
}
