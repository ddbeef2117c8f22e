package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// listTable fills a fixture with users whose list is not simply "every row": several created at the
// same instant (the order falls back to id), deleted through SCIM (tombstones), re-created after DELETE,
// deactivated, and removed from the app behind scimbridge's back.
func listTable(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, 0, 30)
	for i := range 30 {
		if i%3 == 0 {
			*f.clock = f.clock.Add(time.Second)
		}
		r, err := f.store.CreateUser(ctx, resource(t, fmt.Sprintf(`{"userName":"u%02d@example.com","name":{"givenName":"G%d","familyName":"F%d"}}`, i, i, i%4)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r["id"].(string))
	}
	*f.clock = f.clock.Add(time.Second)
	for _, i := range []int{2, 7, 8, 20} {
		if err := f.store.DeleteUser(ctx, ids[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"u07@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 5, 11, 12, 29} {
		if _, err := f.store.UpdateUser(ctx, ids[i], func(cur scim.Resource) (scim.Resource, error) {
			cur["active"] = false
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.Exec("DELETE FROM users WHERE email IN ('u14@example.com', 'u15@example.com')"); err != nil {
		t.Fatal(err)
	}
}

// oldOrder is what the list returned before keyset and deferred-join paging: the ids of the old single
// OFFSET query (ListUsersSQL's page query), run directly.
func oldOrder(t *testing.T, f *fixture, filter scim.Expr) []string {
	t.Helper()
	_, page, args, err := f.store.ListUsersSQL(filter, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.Query(page, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var ids []string
	for rows.Next() {
		dest := make([]any, len(cols))
		var id string
		dest[0] = &id
		for i := 1; i < len(dest); i++ {
			dest[i] = new(any)
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func pageIDs(p scim.Page) []string {
	ids := make([]string, 0, len(p.Resources))
	for _, r := range p.Resources {
		ids = append(ids, r["id"].(string))
	}
	return ids
}

// Index pages (now a deferred join) and cursor pages return exactly the users, order and totals of the
// old OFFSET query, for every page size and start, with and without filters.
func TestListPagesMatchTheOldQuery(t *testing.T) {
	f := newFixture(t, usersTOML)
	listTable(t, f)
	ctx := context.Background()
	filters := map[string]string{"all": "", "active": "active eq true", "inactive": "active eq false", "family": `name.familyName eq "F1"`,
		"or": `userName sw "u1" or active eq false`}
	for name, text := range filters {
		t.Run(name, func(t *testing.T) {
			var filter scim.Expr
			if text != "" {
				var err error
				if filter, err = scim.ParseFilter(text); err != nil {
					t.Fatal(err)
				}
			}
			want := oldOrder(t, f, filter)
			if name == "all" && len(want) != 30-4+1-2 {
				t.Fatalf("the table lists %d users; want 25 (30, 4 deleted, 1 re-created, 2 gone from the app)", len(want))
			}
			for _, count := range []int{0, 1, 4, 7, 100} {
				for start := 1; start <= len(want)+1; start++ {
					p, err := f.store.ListUsers(ctx, scim.ListQuery{Filter: filter, StartIndex: start, Count: count})
					if err != nil {
						t.Fatal(err)
					}
					end := min(len(want), start-1+count)
					if exp := want[min(start-1, len(want)):end]; p.Total != len(want) || !slices.Equal(pageIDs(p), exp) {
						t.Fatalf("startIndex=%d count=%d: total %d, %v; want %d, %v", start, count, p.Total, pageIDs(p), len(want), exp)
					}
				}
				if count == 0 {
					continue // a cursor page of none has no next cursor
				}
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					p, err := f.store.ListUsers(ctx, scim.ListQuery{Filter: filter, Count: count, ByCursor: true, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					if p.Total != len(want) || pages > len(want) {
						t.Fatalf("cursor page %d: total %d; want %d", pages, p.Total, len(want))
					}
					got = append(got, pageIDs(p)...)
					if p.NextCursor == "" {
						break
					}
					cursor = p.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Fatalf("count=%d by cursor: %v; want %v", count, got, want)
				}
			}
		})
	}
}

func TestListRejectsCursorsItDidNotIssue(t *testing.T) {
	f := newFixture(t, usersTOML)
	for _, c := range []string{"nope!", "bm9wZQ", "MjAyNi0xMS0yM1QxMjowMDowMFo"} {
		_, err := f.store.ListUsers(context.Background(), scim.ListQuery{Count: 10, ByCursor: true, Cursor: c})
		var se *scim.Error
		if !errors.As(err, &se) || se.ScimType != scim.TypeInvalidCursor || se.Status != 400 {
			t.Fatalf("cursor %q: %v; want 400 invalidCursor", c, err)
		}
	}
}

// A cursor listing counts its total once, on the first page; a user created while it runs is listed at
// its end (created last), and a user deleted behind the cursor is not listed again.
func TestCursorListingWhileUsersChange(t *testing.T) {
	f := newFixture(t, usersTOML)
	listTable(t, f)
	ctx := context.Background()
	want := oldOrder(t, f, nil)
	p, err := f.store.ListUsers(ctx, scim.ListQuery{Count: 10, ByCursor: true})
	if err != nil {
		t.Fatal(err)
	}
	got := pageIDs(p)
	*f.clock = f.clock.Add(time.Minute)
	added, err := f.store.CreateUser(ctx, resource(t, `{"userName":"late@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteUser(ctx, want[3], nil); err != nil {
		t.Fatal(err)
	}
	for p.NextCursor != "" {
		if p, err = f.store.ListUsers(ctx, scim.ListQuery{Count: 10, ByCursor: true, Cursor: p.NextCursor}); err != nil {
			t.Fatal(err)
		}
		if p.Total != len(want) {
			t.Fatalf("later page total %d; want the first page's %d", p.Total, len(want))
		}
		got = append(got, pageIDs(p)...)
	}
	if exp := append(slices.Clone(want), added["id"].(string)); !slices.Equal(got, exp) {
		t.Fatalf("listing %v; want %v", got, exp)
	}
}

// Group lists page the same way: index pages and cursor pages give the groups of the plain ordered
// query, with its total, after deletions and with several groups created at the same instant.
func TestListGroupsPagesMatchTheOrderedQuery(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	var ids []string
	for i := range 11 {
		if i%4 == 0 {
			*f.clock = f.clock.Add(time.Second)
		}
		g, err := f.store.CreateGroup(ctx, resource(t, fmt.Sprintf(`{"displayName":"G%d"}`, i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g["id"].(string))
	}
	for _, i := range []int{1, 6} {
		if err := f.store.DeleteGroup(ctx, ids[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	if err := f.db.Select(&want, "SELECT id FROM scim_groups ORDER BY created, id"); err != nil || len(want) != 9 {
		t.Fatalf("%d groups, %v", len(want), err)
	}
	for _, count := range []int{1, 2, 5, 100} {
		for start := 1; start <= len(want)+1; start++ {
			p, err := f.store.ListGroups(ctx, scim.ListQuery{StartIndex: start, Count: count}, false)
			if err != nil {
				t.Fatal(err)
			}
			if exp := want[min(start-1, len(want)):min(len(want), start-1+count)]; p.Total != len(want) || !slices.Equal(pageIDs(p), exp) {
				t.Fatalf("startIndex=%d count=%d: total %d, %v; want %d, %v", start, count, p.Total, pageIDs(p), len(want), exp)
			}
		}
		var got []string
		p := scim.Page{NextCursor: ""}
		for first := true; first || p.NextCursor != ""; first = false {
			var err error
			if p, err = f.store.ListGroups(ctx, scim.ListQuery{Count: count, ByCursor: true, Cursor: p.NextCursor}, false); err != nil {
				t.Fatal(err)
			}
			if p.Total != len(want) {
				t.Fatalf("cursor page total %d; want %d", p.Total, len(want))
			}
			got = append(got, pageIDs(p)...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("count=%d by cursor: %v; want %v", count, got, want)
		}
	}
}
