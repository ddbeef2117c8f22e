package bookkeeping_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

// Replicas migrating a fresh database at once, each with its own pool: all succeed, the steps run once.
func TestConcurrentMigrateAllSucceed(t *testing.T) {
	dsn := testdb.New(t)
	var wg sync.WaitGroup
	applied := make([]int, 4)
	for i := range applied {
		wg.Go(func() {
			db, err := bookkeeping.Open(dsn, 2)
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			n, err := bookkeeping.MigrateWith(context.Background(), db, "scim_", bookkeeping.MigrateOptions{Poll: 20 * time.Millisecond})
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			applied[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range applied {
		total += n
	}
	if total != bookkeeping.Latest() {
		t.Fatalf("applied %v: %d steps in all, want each of the %d once", applied, total, bookkeeping.Latest())
	}
}

// Steps whose work is there but not recorded (a run that crashed between a step and its record) are
// recorded and passed over, not failed on: "table exists", "duplicate column" carry on.
func TestMigrateCarriesOnOverDoneSteps(t *testing.T) {
	db := migratedDB(t, 2)
	ctx := context.Background()
	if _, err := db.Exec("DELETE FROM scim_schema_migrations WHERE version >= 7"); err != nil {
		t.Fatal(err)
	}
	n, err := bookkeeping.Migrate(ctx, db, "scim_")
	if err != nil || n != bookkeeping.Latest()-6 {
		t.Fatalf("migrate again: %d applied, %v; want %d", n, err, bookkeeping.Latest()-6)
	}
	if v, err := bookkeeping.Version(ctx, db, "scim_"); err != nil || v != bookkeeping.Latest() {
		t.Fatalf("version %d, %v", v, err)
	}
}

// A migration lease left by a replica that died is waited out, then taken.
func TestMigrateTakesOverADeadReplicasLease(t *testing.T) {
	db, err := bookkeeping.Open(testdb.New(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Exec("CREATE TABLE scim_leases (name VARCHAR(191) NOT NULL PRIMARY KEY, owner VARCHAR(100) NOT NULL," +
		" lease_until DATETIME(6) NOT NULL, taken_at DATETIME(6) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if _, err := db.Exec("INSERT INTO scim_leases VALUES ('scim_migrate', 'dead-replica', ?, ?)", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	polls := 0
	clock := func() time.Time { // each look moves the clock 10s on: the dead lease ends after 6
		mu.Lock()
		defer mu.Unlock()
		polls++
		return now.Add(time.Duration(polls) * 10 * time.Second)
	}
	n, err := bookkeeping.MigrateWith(ctx, db, "scim_", bookkeeping.MigrateOptions{Now: clock, Poll: time.Millisecond})
	if err != nil || n != bookkeeping.Latest() {
		t.Fatalf("%d applied, %v", n, err)
	}
	if polls < 6 {
		t.Fatalf("took the lease after %d looks, before the dead replica's lease ended", polls)
	}
}
