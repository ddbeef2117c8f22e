package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/scim"
)

// checkUnfiltered compares every unfiltered index page (several sizes, every start), the count-only
// total and a cursor listing with the old queries (a plain OFFSET and a COUNT over the join), run now.
func checkUnfiltered(t *testing.T, f *fixture, stage string) {
	t.Helper()
	ctx := context.Background()
	want := oldOrder(t, f, nil)
	var count int
	if err := f.db.Get(&count, "SELECT COUNT(*) FROM scim_users b JOIN users u ON u.id = b.app_id WHERE b.deleted_at IS NULL"); err != nil || count != len(want) {
		t.Fatalf("%s: old COUNT %d, %v; old page query %d rows", stage, count, err, len(want))
	}
	for _, size := range []int{0, 1, 3, 4, 7, 100} {
		for start := 1; start <= len(want)+2; start++ {
			p, err := f.store.ListUsers(ctx, scim.ListQuery{StartIndex: start, Count: size})
			if err != nil {
				t.Fatal(err)
			}
			exp := want[min(start-1, len(want)):min(len(want), start-1+size)]
			if p.Total != len(want) || !slices.Equal(pageIDs(p), exp) {
				t.Fatalf("%s: startIndex=%d count=%d: total %d, %v; want %d, %v", stage, start, size, p.Total, pageIDs(p), len(want), exp)
			}
		}
	}
	p, err := f.store.ListUsers(ctx, scim.ListQuery{Count: 5, ByCursor: true})
	if err != nil || p.Total != len(want) || !slices.Equal(pageIDs(p), want[:min(5, len(want))]) {
		t.Fatalf("%s: first cursor page total %d, %v, %v; want %d, %v", stage, p.Total, pageIDs(p), err, len(want), want[:min(5, len(want))])
	}
}

// Unfiltered lists take their totals from user_counts and seek index pages from the snapshot's keys (every
// 4th here): they return what the old queries return (same users, order and totals) on a table with
// tombstones, a re-created user, inactive users and app rows deleted behind scimbridge's back, and keep
// doing so as users are created (the snapshot is kept), created out of order, deleted and revived
// through SCIM (it is taken again), imported with SQL and recounted, or deleted in the app (seen once the
// snapshot is older than its maximum age).
func TestUnfilteredListsFromTheSnapshotMatchTheOldQueries(t *testing.T) {
	f := newFixture(t, usersTOML)
	listTable(t, f)
	mysql.SnapshotStep(f.store, 4)
	ctx := context.Background()
	checkUnfiltered(t, f, "start")
	if n := mysql.SnapshotPasses(f.store); n != 1 {
		t.Fatalf("%d passes over the list for one table state; want 1", n)
	}

	create := func(name string) string {
		t.Helper()
		r, err := f.store.CreateUser(ctx, resource(t, fmt.Sprintf(`{"userName":%q}`, name)))
		if err != nil {
			t.Fatal(err)
		}
		return r["id"].(string)
	}
	*f.clock = f.clock.Add(time.Second)
	for i := range 5 {
		create(fmt.Sprintf("late%d@example.com", i))
	}
	checkUnfiltered(t, f, "after creates at the end")
	if n := mysql.SnapshotPasses(f.store); n != 1 {
		t.Fatalf("%d passes after users were only added at the end; want the first one kept", n)
	}

	// A user whose created sorts before the snapshot's last key moves the users after it.
	// (The clock comes back to where it was: the snapshot stays young enough to be kept otherwise.)
	base := *f.clock
	*f.clock = base.Add(-time.Hour)
	early := create("early@example.com")
	*f.clock = base
	passes := mysql.SnapshotPasses(f.store)
	checkUnfiltered(t, f, "after a create that sorts early")
	if n := mysql.SnapshotPasses(f.store); n != passes+1 {
		t.Fatalf("%d passes after a create that sorts early; want %d", n, passes+1)
	}

	want := oldOrder(t, f, nil)
	for _, id := range []string{want[1], want[9], early} { // early sorts first
		if err := f.store.DeleteUser(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkUnfiltered(t, f, "after deletes")
	create("u08@example.com") // deleted in listTable: revives its tombstone
	checkUnfiltered(t, f, "after a revived tombstone")
	passes = mysql.SnapshotPasses(f.store)

	bulkUsers(t, f, 6)
	if err := mysql.Reindex(ctx, f.db, "scim_", nil); err != nil {
		t.Fatal(err)
	}
	checkUnfiltered(t, f, "after an SQL import and reindex")
	if n := mysql.SnapshotPasses(f.store); n != passes+1 {
		t.Fatalf("%d passes after the recount; want %d", n, passes+1)
	}

	if _, err := f.db.Exec("DELETE FROM users WHERE email = 'u03@example.com'"); err != nil {
		t.Fatal(err)
	}
	// user_counts cannot see it: the snapshot, older than its maximum age, is served while a new one is
	// taken in the background, which then sees it.
	stale := len(oldOrder(t, f, nil)) + 1
	*f.clock = f.clock.Add(6 * time.Minute)
	p, err := f.store.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 0})
	if err != nil || p.Total != stale {
		t.Fatalf("first list after the app's delete: total %d, %v; want the old snapshot's %d", p.Total, err, stale)
	}
	mysql.WaitSnapshotRefresh(f.store)
	checkUnfiltered(t, f, "after an app row deleted behind scimbridge's back, 6 minutes on")
}

// user_counts follows concurrent creates and deletes: its sum is the users not deleted, as COUNT says.
func TestUserCountsFollowConcurrentWrites(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 6 {
				r, err := f.store.CreateUser(ctx, resource(t, fmt.Sprintf(`{"userName":"w%d-%d@example.com"}`, w, i)))
				if err == nil && i%3 == 0 {
					err = f.store.DeleteUser(ctx, r["id"].(string), nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var live, counted int
	if err := f.db.Get(&live, "SELECT COUNT(*) FROM scim_users WHERE deleted_at IS NULL"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&counted, "SELECT SUM(live) FROM scim_user_counts"); err != nil {
		t.Fatal(err)
	}
	if live != 8*4 || counted != live {
		t.Fatalf("user_counts says %d, COUNT %d; want 32", counted, live)
	}
	p, err := f.store.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 0})
	if err != nil || p.Total != live {
		t.Fatalf("count-only list: total %d, %v; want %d", p.Total, err, live)
	}
}
