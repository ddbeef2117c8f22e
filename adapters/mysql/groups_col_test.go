package mysql_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// oldGroups is what a user's "groups" were before they came with the user's row: the membership query
// (attachGroups'), run directly.
func oldGroups(t *testing.T, f *roleFixture, id string) []any {
	t.Helper()
	var rows []struct {
		GroupID string `db:"group_id"`
		Name    string `db:"display_name"`
	}
	if err := f.db.Select(&rows, "SELECT gm.group_id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id "+
		"WHERE gm.user_id = ? ORDER BY g.display_name, g.id", id); err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, r := range rows {
		out = append(out, map[string]any{"value": r.GroupID, "display": r.Name, "type": "direct"})
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
