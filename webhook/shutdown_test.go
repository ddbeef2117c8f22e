package webhook

import (
	"sync/atomic"
	"testing"
	"time"
)

// A worker told to stop lets the posts in flight finish (StopGrace) and records them.
func TestStopRecordsDeliveriesInFlight(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	arrived := make(chan struct{}, 1)
	r.setRespond(func(received) int {
		arrived <- struct{}{}
		time.Sleep(200 * time.Millisecond)
		return 200
	})
	_, stop := f.run(f.options(f.endpoint("app", r)))
	f.create("inflight@example.com")
	<-arrived
	stop()
	if n := f.count(StatusDelivered); n != 1 {
		t.Fatalf("%d delivered after a graceful stop, want 1", n)
	}
}

// Past StopGrace, a post is abandoned and its lease released: the next worker sends it at once,
// without waiting for the lease to expire.
func TestStopReleasesAbandonedClaims(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var started atomic.Bool
	r.setRespond(func(received) int {
		if started.CompareAndSwap(false, true) {
			arrived <- struct{}{}
			<-release // the first request hangs until the test ends
		}
		return 200
	})
	defer close(release)
	o := f.options(f.endpoint("app", r))
	o.StopGrace = 10 * time.Millisecond
	_, stop := f.run(o)
	f.create("abandoned@example.com")
	<-arrived
	t0 := time.Now()
	stop()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("stopping took %s", d)
	}
	var owner *string
	if err := f.db.Get(&owner, "SELECT lease_owner FROM scim_webhook_deliveries"); err != nil || owner != nil || f.count(StatusPending) != 1 {
		t.Fatalf("lease %v (%v), pending %d", owner, err, f.count(StatusPending))
	}
	f.run(f.options(f.endpoint("app", r)))
	eventually(t, "sent by the next worker without moving the clock", func() bool { return f.count(StatusDelivered) == 1 })
}
