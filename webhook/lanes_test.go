package webhook

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many events about few users, delivered over several lanes: every one arrives once, as committed and
// in order per user, several posts were in flight at once, and one claim took several events of one user.
func TestLanesKeepOrderPerSubjectWithPostsInParallel(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	var inFlight, most atomic.Int32
	r.setRespond(func(received) int {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(3 * time.Millisecond)
		return http.StatusNoContent
	})
	ep := f.endpoint("app", r)
	ep.Concurrency = 4
	o := f.options(ep)
	o.Parallel = 1 // the endpoint's Concurrency wins
	w, err := New(f.db, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		id := f.create("lane" + string(rune('a'+i)) + "@example.com")
		for j := range 5 {
			f.update(id, "title", string(rune('A'+j)))
		}
	}
	rows := f.outbox()
	if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claim(ctx, w.endpoints[0], 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(rows) {
		t.Fatalf("one claim took %d of %d waiting deliveries; want all (each user's chain whole)", len(cs), len(rows))
	}
	// Hand them back, then let the worker deliver.
	if _, err := f.db.Exec("UPDATE scim_webhook_deliveries SET lease_owner = NULL, lease_until = NULL"); err != nil {
		t.Fatal(err)
	}
	f.run(o)
	eventually(t, "all delivered", func() bool { return f.count(StatusDelivered) == len(rows) })
	checkExactlyAsCommitted(t, rows, r.acked())
	if m := most.Load(); m < 2 || m > 4 {
		t.Errorf("at most %d posts in flight; want 2 to 4 (Concurrency 4)", m)
	}
}

// A delivery leased by another replica ends its user's chain: the user's later events are not claimed,
// other users' are.
func TestClaimStopsAUsersChainAtADeliveryLeasedElsewhere(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	oa, ob := f.options(f.endpoint("app", r)), f.options(f.endpoint("app", r))
	oa.Owner, ob.Owner = "replica-a", "replica-b"
	a, err := New(f.db, oa)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(f.db, ob)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ann := f.create("ann@example.com")
	f.update(ann, "title", "x")
	bo := f.create("bo@example.com")
	f.update(bo, "title", "y")
	if _, err := a.fanOut(ctx, a.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	first, err := a.claim(ctx, a.endpoints[0], 1) // ann's first event
	if err != nil || len(first) != 1 || first[0].Subject != "user:"+ann {
		t.Fatalf("a claimed %+v, %v", first, err)
	}
	rest, err := b.claim(ctx, b.endpoints[0], 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 2 || rest[0].Subject != "user:"+bo || rest[1].Subject != "user:"+bo || rest[0].Seq > rest[1].Seq {
		t.Fatalf("b claimed %+v; want bo's two events in order and none of ann's", rest)
	}
}

// When a user's event fails, the user's later events of the same batch are not posted before it.
func TestFailedEventHoldsItsUsersLaterEvents(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	var mu sync.Mutex
	failFirst := map[string]bool{}
	ep := f.endpoint("app", r)
	o := f.options(ep)
	o.ShortRetries = -1
	w, err := New(f.db, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	ann := f.create("held@example.com")
	for _, v := range []string{"a", "b", "c"} {
		f.update(ann, "title", v)
	}
	rows := f.outbox()
	r.setRespond(func(g received) int {
		mu.Lock()
		defer mu.Unlock()
		if g.ID == rows[0].EventID && !failFirst[g.ID] {
			failFirst[g.ID] = true
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	f.run(o)
	eventually(t, "the first event failed", func() bool { return f.count(StatusFailed) == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := len(r.acked()); n != 0 {
		t.Fatalf("%d later events acknowledged while the first had failed", n)
	}
	if r.requests() != 1 {
		t.Fatalf("%d requests; want only the first event's", r.requests())
	}
	f.clock.Advance(time.Minute) // past the backoff
	eventually(t, "all delivered", func() bool { return f.count(StatusDelivered) == len(rows) })
	checkExactlyAsCommitted(t, rows, r.acked())
}

// Notify wakes an idle endpoint at once: with an hour's poll, an event is delivered right after it.
func TestNotifyWakesTheWorker(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	o := f.options(f.endpoint("app", r))
	o.PollInterval = time.Hour
	w, _ := f.run(o)
	time.Sleep(100 * time.Millisecond) // the worker's first round is done: it now waits for its poll
	f.create("woken@example.com")
	time.Sleep(100 * time.Millisecond)
	if r.requests() != 0 {
		t.Fatal("delivered without Notify; the test proves nothing")
	}
	w.Notify()
	eventually(t, "delivered after Notify", func() bool { return f.count(StatusDelivered) == 1 })
	checkExactlyAsCommitted(t, f.outbox(), r.acked())
}

// Backlog counts what is waiting and what is not fanned out yet, with the age of the oldest.
func TestBacklogCountsWaitingAndNotFannedOut(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	w, err := New(f.db, f.options(f.endpoint("app", r)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	id := f.create("backlog@example.com")
	if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	f.update(id, "title", "later")
	f.clock.Advance(90 * time.Second)
	bs, err := w.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Endpoint != "app" || bs[0].Waiting != 1 || bs[0].NotFanned != 1 || bs[0].OldestAge != 90*time.Second {
		t.Fatalf("backlog %+v; want 1 waiting, 1 not fanned out, oldest 90s", bs)
	}
	rep, err := w.List(ctx, ListOptions{})
	if err != nil || rep.Endpoints[0].Backlog.Waiting != 1 {
		t.Fatalf("List: %+v, %v", rep, err)
	}
}

// A user whose first event waits for its retry, with many events behind it, does not starve the
// others: a claim smaller than that queue still finds another user's event.
func TestBlockedUserDoesNotStarveOthers(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	w, err := New(f.db, f.options(f.endpoint("app", r)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ann := f.create("blocked@example.com")
	for i := range 20 {
		f.update(ann, "title", string(rune('a'+i)))
	}
	if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("UPDATE scim_webhook_deliveries SET status = 'failed', next_attempt_at = ? ORDER BY seq LIMIT 1",
		f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	bo := f.create("free@example.com")
	if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claim(ctx, w.endpoints[0], 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Subject != "user:"+bo {
		t.Fatalf("claimed %+v; want bo's one event", cs)
	}
}
