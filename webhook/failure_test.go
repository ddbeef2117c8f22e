package webhook

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Receivers that are down for hours get everything once they are back, in order per user, while an
// endpoint that works is not held back by them; the long waits are in the database, so the test moves
// the clock instead of sleeping.
func TestReceiversDownThenUpGetEverything(t *testing.T) {
	f := newFixture(t)
	failing := newReceiver(t)
	failing.setRespond(func(received) int { return http.StatusServiceUnavailable })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := ln.Addr().String()
	refused := startReceiver(t, ln)
	refused.srv.Close() // connection refused from now on
	healthy := newReceiver(t)
	o := f.options(f.endpoint("failing", failing), f.endpoint("refused", refused), f.endpoint("healthy", healthy))
	f.run(o)

	script(t, f, "down", 4)
	rows := f.outbox()
	eventually(t, "the healthy endpoint served", func() bool { return len(healthy.acked()) == len(rows) })
	checkExactlyAsCommitted(t, rows, healthy.acked())
	// One delivery per user is attempted (the first of each); the rest wait behind it.
	eventually(t, "first attempts failed", func() bool { return f.count(StatusFailed) == 2*4 })
	eventually(t, "the healthy endpoint's deliveries recorded", func() bool { return f.count(StatusDelivered) == len(rows) })
	if n := len(failing.acked()) + len(refused.acked()); n != 0 {
		t.Fatalf("%d acknowledged by endpoints that are down", n)
	}

	// Hours of outage: each attempt fails and the wait doubles, up to BackoffMax.
	// Each step waits (in real time) for the attempt it makes due, at both endpoints that are down, so
	// that a slow machine neither merges two steps into one nor has an attempt still in flight (and
	// failing, which schedules the next one after the clock's last move) when the receivers come back.
	var attempts int
	for i := range 6 {
		f.clock.Advance(30 * time.Minute)
		eventually(t, "the next attempt", func() bool {
			if err := f.db.Get(&attempts, "SELECT MIN(a) FROM (SELECT MAX(attempts) AS a FROM scim_webhook_deliveries"+
				" WHERE endpoint IN ('failing', 'refused') GROUP BY endpoint) per_endpoint"); err != nil {
				t.Fatal(err)
			}
			return attempts >= i+2
		})
	}
	if attempts < 4 {
		t.Errorf("after 3 hours, %d attempts; want several", attempts)
	}

	// Back up.
	failing.setRespond(nil)
	ln, err = net.Listen("tcp", refusedAddr)
	if err != nil {
		t.Fatal(err)
	}
	refused = startReceiver(t, ln)
	f.clock.Advance(90 * time.Minute) // more than BackoffMax + jitter
	t.Cleanup(func() {
		if t.Failed() {
			var rows []struct {
				Endpoint string     `db:"endpoint"`
				Seq      int64      `db:"seq"`
				Subject  string     `db:"subject"`
				Status   string     `db:"status"`
				Attempts int        `db:"attempts"`
				Next     *time.Time `db:"next_attempt_at"`
				Lease    *time.Time `db:"lease_until"`
			}
			err := f.db.Select(&rows, "SELECT endpoint, seq, subject, status, attempts, next_attempt_at, lease_until FROM scim_webhook_deliveries WHERE status <> 'delivered' ORDER BY endpoint, seq")
			t.Logf("now %s; undelivered (%v):", f.clock.Now(), err)
			for _, r := range rows {
				t.Logf("  %+v", r)
			}
		}
	})
	eventually(t, "everything delivered", func() bool { return f.count(StatusDelivered) == 3*len(rows) })
	checkExactlyAsCommitted(t, rows, failing.acked())
	checkExactlyAsCommitted(t, rows, refused.acked())
}

func TestDeadAfterGiveUpThenRetried(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	r.setRespond(func(received) int { return http.StatusInternalServerError })
	ep := f.endpoint("app", r)
	ep.GiveUpAfter = time.Hour
	w, _ := f.run(f.options(ep))

	id := f.create("dead@example.com")
	f.update(id, "title", "x")
	eventually(t, "a failed attempt", func() bool { return f.count(StatusFailed) == 1 })
	for i := 0; f.count(StatusDead) == 0; i++ {
		if i > 200 {
			t.Fatal("never dead")
		}
		f.clock.Advance(10 * time.Minute)
		time.Sleep(20 * time.Millisecond)
	}
	// Dead does not hold the user's next event back: it is attempted, and dies in turn.
	eventually(t, "the second event dead too", func() bool {
		f.clock.Advance(10 * time.Minute)
		return f.count(StatusDead) == 2
	})
	rep, err := w.List(context.Background(), ListOptions{Endpoint: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Endpoints) != 1 || rep.Endpoints[0].Counts[StatusDead] != 2 || len(rep.Deliveries) != 2 ||
		rep.Deliveries[0].LastStatus == nil || *rep.Deliveries[0].LastStatus != 500 || rep.Deliveries[0].Attempts < 3 {
		t.Fatalf("list: %+v %+v", rep.Endpoints, rep.Deliveries)
	}

	r.setRespond(nil)
	if err := w.Retry(context.Background(), rep.Deliveries[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried delivery", func() bool { return f.count(StatusDelivered) == 1 })
	if err := w.Retry(context.Background(), rep.Deliveries[0].ID); err == nil {
		t.Error("retrying a delivered delivery should say to replay")
	}
	if n, err := w.RetryDead(context.Background(), "app"); err != nil || n != 1 {
		t.Fatalf("RetryDead: %d, %v", n, err)
	}
	eventually(t, "both delivered", func() bool { return f.count(StatusDelivered) == 2 })
	checkExactlyAsCommitted(t, f.outbox(), r.acked())
}

func TestMaxAttempts(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	r.setRespond(func(received) int { return http.StatusBadRequest }) // not retried quickly
	ep := f.endpoint("app", r)
	ep.MaxAttempts = 2
	f.run(f.options(ep))
	f.create("max@example.com")
	eventually(t, "first attempt", func() bool { return f.count(StatusFailed) == 1 })
	f.clock.Advance(time.Minute)
	eventually(t, "dead after 2 attempts", func() bool { return f.count(StatusDead) == 1 })
	if n := r.requests(); n != 2 {
		t.Errorf("%d requests, want 2 (a 400 is not retried at once)", n)
	}
}

func TestGoneDisablesTheEndpointUntilEnabled(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	r.setRespond(func(received) int { return http.StatusGone })
	other := newReceiver(t)
	w, _ := f.run(f.options(f.endpoint("app", r), f.endpoint("other", other)))

	a := f.create("gone-a@example.com")
	f.create("gone-b@example.com")
	f.update(a, "title", "x")
	eventually(t, "disabled", func() bool { return f.count(StatusDisabled) == 3 })
	f.create("gone-c@example.com") // fanned out as disabled
	eventually(t, "the new event kept, disabled", func() bool { return f.count(StatusDisabled) == 4 })
	eventually(t, "the other endpoint served", func() bool { return len(other.acked()) == 4 })
	f.clock.Advance(48 * time.Hour)
	time.Sleep(50 * time.Millisecond)
	if n := r.requests(); n > 2 {
		t.Errorf("%d requests to a disabled endpoint (at most the 2 in flight when it answered 410)", n)
	}
	rep, err := w.List(context.Background(), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Endpoints[0]; e.Name != "app" || !e.Disabled || e.DisabledReason == "" || e.Counts[StatusDisabled] != 4 {
		t.Fatalf("list: %+v", rep.Endpoints)
	}

	r.setRespond(nil)
	if n, err := w.Enable(context.Background(), "app"); err != nil || n != 4 {
		t.Fatalf("Enable: %d, %v", n, err)
	}
	eventually(t, "all delivered after enabling", func() bool { return len(r.acked()) == 4 })
	checkExactlyAsCommitted(t, f.outbox(), r.acked())
}

func TestReplayResendsDeliveredEvents(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	w, _ := f.run(f.options(f.endpoint("app", r)))
	start := f.clock.Now()
	script(t, f, "replay", 2)
	rows := f.outbox()
	eventually(t, "delivered", func() bool { return f.count(StatusDelivered) == len(rows) })

	f.clock.Advance(time.Hour)
	var steps []string
	n, err := w.ReplayProgress(context.Background(), "app", start, func(done, total int) { steps = append(steps, fmt.Sprintf("%d/%d", done, total)) })
	if err != nil || n != len(rows) {
		t.Fatalf("Replay: %d, %v", n, err)
	}
	if want := fmt.Sprintf("0/%d %d/%d", len(rows), len(rows), len(rows)); strings.Join(steps, " ") != want {
		t.Errorf("progress %v, want %s", steps, want)
	}
	eventually(t, "replayed", func() bool { return len(r.acked()) == 2*len(rows) })
	acked := r.acked()
	checkExactlyAsCommitted(t, rows, acked[:len(rows)])
	checkExactlyAsCommitted(t, rows, acked[len(rows):])
	if n, err := w.Replay(context.Background(), "app", f.clock.Now()); err != nil || n != 0 {
		t.Errorf("nothing since now: %d, %v", n, err)
	}
	if _, err := w.Replay(context.Background(), "nope", start); err == nil {
		t.Error("unknown endpoint")
	}
}
