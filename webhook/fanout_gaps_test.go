package webhook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// isFanOutRead tells the fan-out's outbox reads (they list event ids) from payload loads.
func isFanOutRead(q string) bool {
	return strings.Contains(q, "`scim_outbox`") && strings.Contains(q, "event_id") && strings.HasPrefix(q, "SELECT")
}

// One transaction's two events about a user (seqs a and c) around another transaction's event (b).
// Replica A fans out while the transaction is open (b is seen, a is a gap); replica B's fan-out then
// has the transaction commit right after its first outbox statement has started. Reading in two
// statements, B saw c but not a, and delivered c first; in one snapshot it sees neither, and the next
// round both. Every event must reach the receiver in commit order per subject.
func TestOneTransactionIsNeverSplitAcrossFanOutSnapshots(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ep := f.endpoint("app", r)
	var mu sync.Mutex
	var onRead func()
	tp := &tap{started: func(q string) {
		if !isFanOutRead(q) {
			return
		}
		mu.Lock()
		fn := onRead
		onRead = nil
		mu.Unlock()
		if fn != nil {
			fn()
		}
	}}
	db := tappedDB(t, f.dsn, tp)
	a, b := f.options(ep), f.options(ep)
	a.Owner, b.Owner = "replica-a", "replica-b"
	wa, err := New(db, a)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := New(db, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := wa.Register(ctx); err != nil {
		t.Fatal(err)
	}
	insert := func(exec func(string, ...any) error, subject, typ string) {
		t.Helper()
		id := uuid.NewString()
		if err := exec("INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, ?, ?, ?, ?)",
			id, typ, subject, f.clock.Now(), fmt.Sprintf(`{"id":%q,"type":%q}`, id, typ)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := f.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	txExec := func(q string, args ...any) error { _, err := tx.Exec(q, args...); return err }
	dbExec := func(q string, args ...any) error { _, err := f.db.Exec(q, args...); return err }
	insert(txExec, "user:x", "user.updated")     // a
	insert(dbExec, "user:y", "user.created")     // b, committed first
	insert(txExec, "user:x", "user.deactivated") // c

	step := func(w *Worker) {
		t.Helper()
		if _, err := w.step(ctx, w.endpoints[0]); err != nil {
			t.Fatal(err)
		}
	}
	step(wa) // fans out b; a is missing
	mu.Lock()
	onRead = func() {
		if err := tx.Commit(); err != nil {
			t.Error(err)
		}
	}
	mu.Unlock()
	step(wb) // the transaction commits while B's fan-out reads
	for range 20 {
		step(wa)
		step(wb)
		if f.count(StatusDelivered) == 3 {
			break
		}
	}
	rows := f.outbox()
	if len(rows) != 3 {
		t.Fatalf("%d outbox rows", len(rows))
	}
	checkExactlyAsCommitted(t, rows, r.acked())
}

// A rolled-back transaction leaves a missing seq; the rounds after it must read what is new (and the
// rows of the gaps), not every event since the gap again. Rows read are counted at the driver.
func TestFanOutReadsDoNotGrowWithEventsAfterAGap(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	var mu sync.Mutex
	var perRound []int
	tp := &tap{read: func(q string, n int) {
		if isFanOutRead(q) {
			mu.Lock()
			perRound[len(perRound)-1] += n
			mu.Unlock()
		}
	}}
	db := tappedDB(t, f.dsn, tp)
	o := f.options(f.endpoint("app", r))
	o.FanOutBatch = 50
	w, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, 'user.updated', 'user:gone', ?, '{}')",
		uuid.NewString(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	const events = 500
	for i := range events {
		id := uuid.NewString()
		if _, err := f.db.Exec("INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, 'user.updated', ?, ?, '{}')",
			id, fmt.Sprintf("user:%d", i), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 3*events/o.FanOutBatch; round++ {
		mu.Lock()
		perRound = append(perRound, 0)
		mu.Unlock()
		if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := f.db.Get(&n, "SELECT COUNT(*) FROM scim_webhook_deliveries"); err != nil || n != events {
		t.Fatalf("%d deliveries (%v), want %d", n, err, events)
	}
	for i, got := range perRound {
		if got > o.FanOutBatch {
			t.Fatalf("round %d read %d outbox rows, more than a batch (%d): a round re-reads the events after the gap\nper round: %v",
				i+1, got, o.FanOutBatch, perRound)
		}
	}
}
