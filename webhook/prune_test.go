package webhook

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestPruneKeepsWhatIsStillOwed(t *testing.T) {
	f := newFixture(t)
	ok, dead := newReceiver(t), newReceiver(t)
	dead.setRespond(func(received) int { return http.StatusInternalServerError })
	epOK, epDead := f.endpoint("ok", ok), f.endpoint("dead", dead)
	epOK.Retention = 24 * time.Hour
	epDead.Events = []string{"user.deleted"}
	epDead.GiveUpAfter = time.Hour
	o := f.options(epOK, epDead)
	w, stop := f.run(o)

	ids := []string{f.create("p1@example.com"), f.create("p2@example.com")}
	if err := f.store.DeleteUser(context.Background(), ids[0], nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ok served", func() bool { return len(ok.acked()) == 3 })
	eventually(t, "the deletion dead at the other", func() bool {
		f.clock.Advance(10 * time.Minute)
		return f.count(StatusDead) == 1
	})
	stop()

	ctx := context.Background()
	if p, err := w.Prune(ctx); err != nil || p.Deliveries != 0 || p.Outbox != 0 {
		t.Fatalf("nothing old enough yet: %+v, %v", p, err)
	}
	f.clock.Advance(25 * time.Hour) // past "ok"'s retention, not the default 168h
	if p, err := w.Prune(ctx); err != nil || p.Deliveries != 3 || p.Outbox != 0 {
		t.Fatalf("delivered rows only: %+v, %v", p, err)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	p, err := w.Prune(ctx)
	if err != nil || p.Outbox != 2 {
		t.Fatalf("the two events nobody owes: %+v, %v", p, err)
	}
	rows := f.outbox()
	if len(rows) != 1 || f.count(StatusDead) != 1 {
		t.Fatalf("the dead delivery keeps its event: %d outbox rows", len(rows))
	}

	// An endpoint no longer configured: listed as such, and Forget lets its events go.
	w2, err := New(f.db, f.options(epOK))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := w2.List(ctx, ListOptions{})
	if err != nil || len(rep.Endpoints) != 2 || rep.Endpoints[0].Name != "dead" || rep.Endpoints[0].Configured || rep.Endpoints[0].Counts[StatusDead] != 1 {
		t.Fatalf("list: %+v, %v", rep, err)
	}
	if _, err := w2.Forget(ctx, "ok"); err == nil {
		t.Error("a configured endpoint cannot be forgotten")
	}
	if n, err := w2.Forget(ctx, "dead"); err != nil || n != 1 {
		t.Fatalf("Forget: %d, %v", n, err)
	}
	if p, err := w2.Prune(ctx); err != nil || p.Outbox != 1 {
		t.Fatalf("after Forget: %+v, %v", p, err)
	}
}

// Without any [[webhooks]], the worker still keeps the outbox from growing forever.
func TestPruneWithoutEndpoints(t *testing.T) {
	f := newFixture(t)
	w, err := New(f.db, f.options())
	if err != nil {
		t.Fatal(err)
	}
	f.create("lonely@example.com")
	f.clock.Advance(167 * time.Hour)
	if p, err := w.Prune(context.Background()); err != nil || p.Outbox != 0 {
		t.Fatalf("too young: %+v, %v", p, err)
	}
	f.clock.Advance(2 * time.Hour)
	if p, err := w.Prune(context.Background()); err != nil || p.Outbox != 1 {
		t.Fatalf("past the default retention: %+v, %v", p, err)
	}
}
