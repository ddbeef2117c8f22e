package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// One replica fans out an endpoint's events: while another holds the lease fanout:<endpoint> (one that
// died, here), a Worker fans out nothing; when that lease ends it takes it over and delivers. A Worker
// that stops gives its lease back, so the next one need not wait.
func TestFanOutWaitsForTheLeaseOfAnotherReplica(t *testing.T) {
	f := newFixture(t)
	rec := newReceiver(t)
	ep := f.endpoint("app", rec)
	dead := bookkeeping.Leases{DB: f.db, Tables: bookkeeping.NewTables("", bookkeeping.MySQL), Owner: "dead-replica", Now: f.clock.Now}
	if ok, err := dead.Hold(context.Background(), "fanout:app", 30*time.Second); err != nil || !ok {
		t.Fatalf("Hold: %v %v", ok, err)
	}
	o := f.options(ep)
	o.Owner = "replica-b"
	w, stop := f.run(o)
	f.create("ann@example.com")
	w.Notify()
	time.Sleep(200 * time.Millisecond) // about 40 polls: time enough to fan out, were it allowed to
	if n := f.count(StatusPending) + f.count(StatusDelivered); n != 0 {
		t.Fatalf("%d deliveries while another replica holds the fan-out lease", n)
	}
	f.clock.Advance(31 * time.Second)
	eventually(t, "the event delivered after the lease ended", func() bool { return len(rec.acked()) == 1 })
	if owner, _, err := dead.Leader(context.Background(), "fanout:app"); err != nil || owner != "replica-b" {
		t.Fatalf("fan-out lease held by %q, %v; want replica-b", owner, err)
	}
	stop()
	if owner, _, err := dead.Leader(context.Background(), "fanout:app"); err != nil || owner != "" {
		t.Fatalf("after the Worker stopped, the lease is held by %q, %v; want it given back", owner, err)
	}
}
