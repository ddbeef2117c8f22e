package bookkeeping_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

// A lease is one owner's until it ends; then the next owner takes it. Renewing keeps it.
func TestLeaseHeldUntilItEnds(t *testing.T) {
	db := migratedDB(t, 4)
	ctx := context.Background()
	if bookkeeping.IsGalera(db) {
		t.Fatal("the shared server is taken for a Galera node") // cluster/ checks the other way round
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tables := bookkeeping.NewTables("scim_", bookkeeping.MySQL)
	a := bookkeeping.Leases{DB: db, Tables: tables, Owner: "a", Now: clock}
	b := bookkeeping.Leases{DB: db, Tables: tables, Owner: "b", Now: clock}
	hold := func(l bookkeeping.Leases, want bool) {
		t.Helper()
		got, err := l.Hold(ctx, "job", 10*time.Second)
		if err != nil || got != want {
			t.Fatalf("%s Hold at %s: %v, %v; want %v", l.Owner, now.Format(time.TimeOnly), got, err, want)
		}
	}
	hold(a, true)
	hold(b, false)
	now = now.Add(9 * time.Second)
	hold(a, true) // renewed: until 10:00:19
	now = now.Add(9 * time.Second)
	hold(b, false)
	if owner, until, err := a.Leader(ctx, "job"); err != nil || owner != "a" || !until.Equal(now.Add(time.Second)) {
		t.Fatalf("Leader: %q until %s, %v", owner, until, err)
	}
	now = now.Add(time.Second)
	hold(b, true)
	hold(a, false)
	if err := b.Release(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	if owner, _, _ := a.Leader(ctx, "job"); owner != "" {
		t.Fatalf("after Release, Leader %q", owner)
	}
	hold(a, true)
}

// Of many owners racing for one lease at once, one holds it at a time: Run never runs two fns at once.
func TestLeaseRaceHasOneWinner(t *testing.T) {
	db := migratedDB(t, 20)
	ctx := context.Background()
	tables := bookkeeping.NewTables("scim_", bookkeeping.MySQL)
	var mu sync.Mutex
	ran, active, most := 0, 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 12 {
		wg.Go(func() {
			l := bookkeeping.Leases{DB: db, Tables: tables, Owner: string(rune('a' + i))}
			<-start
			_, err := l.Run(ctx, "once", time.Minute, func(context.Context) error {
				mu.Lock()
				ran++
				active++
				most = max(most, active)
				mu.Unlock()
				time.Sleep(30 * time.Millisecond) // long enough for the others to try meanwhile
				mu.Lock()
				active--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", l.Owner, err)
			}
		})
	}
	close(start)
	wg.Wait()
	// Run releases the lease when fn returns, so a late starter may run after the first has finished:
	// at least one ran, and never two at once (the lease row says who holds it).
	if ran < 1 || most != 1 {
		t.Fatalf("%d ran, %d at once", ran, most)
	}
	var holders int
	if err := db.Get(&holders, "SELECT COUNT(*) FROM scim_leases WHERE name = 'once'"); err != nil || holders != 1 {
		t.Fatalf("lease rows %d, %v", holders, err)
	}
}

// migratedDB is a fresh test database with conns connections and scimbridge's tables migrated (prefix
// scim_), closed when the test ends.
func migratedDB(t *testing.T, conns int) *sqlx.DB {
	t.Helper()
	db, err := bookkeeping.Open(testdb.New(t), conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := bookkeeping.Migrate(context.Background(), db, "scim_"); err != nil {
		t.Fatal(err)
	}
	return db
}
