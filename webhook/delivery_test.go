package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// script runs the lifecycle of n users, interleaved so that several users' events are in flight at
// once: create, update, deactivate, reactivate, delete. It also makes a change that rolls back and a
// duplicate create (409): neither writes an event.
func script(t *testing.T, f *fixture, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.create(fmt.Sprintf("%s%d@example.com", prefix, i))
	}
	for _, step := range []func(id string){
		func(id string) { f.update(id, "title", "Engineer") },
		func(id string) { f.update(id, "active", false) },
		func(id string) { f.update(id, "active", true) },
	} {
		for _, id := range ids {
			step(id)
		}
	}
	boom := errors.New("refused")
	if _, err := f.store.UpdateUser(ctx, ids[0], func(cur scim.Resource) (scim.Resource, error) {
		cur["title"] = "rolled back"
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("want the refusal, got %v", err)
	}
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"`+prefix+`0@example.com"}`)); scim.AsError(err).Status != 409 {
		t.Fatalf("duplicate: %v", err)
	}
	for _, id := range ids {
		if err := f.store.DeleteUser(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// checkExactlyAsCommitted checks that the acknowledged requests are the outbox, each event once with
// its payload byte for byte, and in seq order per subject.
func checkExactlyAsCommitted(t *testing.T, rows []outboxRow, acked []received) {
	t.Helper()
	byID := map[string]outboxRow{}
	for _, r := range rows {
		byID[r.EventID] = r
	}
	seen := map[string]int{}
	lastSeq := map[string]int64{}
	for _, g := range acked {
		row, ok := byID[g.ID]
		if !ok {
			t.Errorf("received event %s, which is not in the outbox", g.ID)
			continue
		}
		if seen[g.ID]++; seen[g.ID] > 1 {
			t.Errorf("event %s acknowledged %d times", g.ID, seen[g.ID])
		}
		if !bytes.Equal(g.Body, row.Payload) {
			t.Errorf("event %s: body differs from the outbox payload\n got %s\nwant %s", g.ID, g.Body, row.Payload)
		}
		if row.Seq < lastSeq[row.Subject] {
			t.Errorf("%s: event seq %d arrived after seq %d", row.Subject, row.Seq, lastSeq[row.Subject])
		}
		lastSeq[row.Subject] = row.Seq
	}
	if len(seen) != len(rows) {
		t.Errorf("%d distinct events acknowledged, %d in the outbox", len(seen), len(rows))
	}
}

func TestEveryEventArrivesAsCommittedInOrderPerUser(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	r.strict = true // the clock is the real time here: the library checks the timestamp too
	f.run(f.options(f.endpoint("app", r)))

	script(t, f, "u", 6)
	rows := f.outbox()
	if want := 6 * 5; len(rows) != want {
		t.Fatalf("outbox has %d events, want %d (the rolled-back change and the 409 write none)", len(rows), want)
	}
	eventually(t, "every event acknowledged", func() bool { return len(r.acked()) >= len(rows) })
	time.Sleep(50 * time.Millisecond) // a duplicate would show up now
	checkExactlyAsCommitted(t, rows, r.acked())
	if n := r.requests(); n != len(rows) {
		t.Errorf("%d requests for %d events", n, len(rows))
	}

	g := r.acked()[0]
	if g.Header.Get("Content-Type") != "application/json" || g.Header.Get(HeaderTimestamp) != strconv.FormatInt(f.clock.Now().Unix(), 10) {
		t.Errorf("headers: %v", g.Header)
	}
	eventually(t, "deliveries recorded", func() bool { return f.count(StatusDelivered) == len(rows) })
}

func TestUnsubscribedEventsAreNotSent(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ep := f.endpoint("deletions", r)
	ep.Events = []string{"user.deleted", "group.*"}
	f.run(f.options(ep))
	script(t, f, "d", 2)
	eventually(t, "two deletions", func() bool { return len(r.acked()) == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := r.requests(); n != 2 {
		t.Fatalf("%d requests, want only the 2 deletions", n)
	}
}

// A change whose seq is taken but which commits later than a newer one is still delivered, and a seq
// that never commits (a rollback) is given up after GapGrace without holding anything back.
func TestLateCommitsAreDeliveredAndRollbacksSendNothing(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	o := f.options(f.endpoint("app", r))
	o.GapGrace = time.Minute
	w, _ := f.run(o)

	insert := func() (commit, rollback func()) {
		tx, err := f.db.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
		if _, err := tx.Exec("INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, 'user.updated', ?, ?, ?)",
			id, "user:late-"+id, f.clock.Now(), `{"id":"`+id+`","type":"user.updated"}`); err != nil {
			t.Fatal(err)
		}
		return func() { _ = tx.Commit() }, func() { _ = tx.Rollback() }
	}
	commitLate, _ := insert()
	f.create("after-late@example.com") // a newer seq, committed first
	eventually(t, "the newer event", func() bool { return len(r.acked()) == 1 })
	commitLate()
	eventually(t, "the late event", func() bool { return len(r.acked()) == 2 })

	_, rollback := insert()
	f.create("after-rollback@example.com")
	rollback()
	eventually(t, "the event after the rollback, without waiting for the gap", func() bool { return len(r.acked()) == 3 })
	rows := f.outbox()
	head := rows[len(rows)-1].Seq
	cursorLast := func() int64 {
		var last int64
		if err := f.db.Get(&last, "SELECT last_seq FROM scim_webhook_cursors WHERE endpoint = 'app'"); err != nil {
			t.Fatal(err)
		}
		return last
	}
	if got := cursorLast(); got >= head {
		t.Fatalf("last_seq %d passed the gap before %d too early", got, head)
	}
	f.clock.Advance(2 * time.Minute)
	eventually(t, "the gap given up", func() bool { return cursorLast() == head })
	checkExactlyAsCommitted(t, f.outbox(), r.acked())
	_ = w
}

// The worker is generic over event types: group events are delivered like user events, in order per
// group, to an endpoint that subscribes to them.
func TestGroupEventsAreDeliveredToo(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ep := f.endpoint("groups", r)
	ep.Events = []string{"group.*"}
	f.run(f.options(ep))
	ann, bob := f.create("ann@example.com"), f.create("bob@example.com")
	for _, name := range []string{"Engineering", "Sales"} {
		if _, err := f.store.CreateGroup(context.Background(), resource(t, `{"displayName":"`+name+`"}`),
			[]scim.Member{{Value: ann}, {Value: bob}}); err != nil {
			t.Fatal(err)
		}
	}
	var groupRows []outboxRow
	for _, row := range f.outbox() {
		if strings.HasPrefix(row.Subject, "group:") {
			groupRows = append(groupRows, row)
		}
	}
	if len(groupRows) < 4 {
		t.Fatalf("%d group events, want created and members_added for each group", len(groupRows))
	}
	eventually(t, "group events", func() bool { return len(r.acked()) == len(groupRows) })
	time.Sleep(50 * time.Millisecond)
	checkExactlyAsCommitted(t, groupRows, r.acked())
	if n := r.requests(); n != len(groupRows) {
		t.Errorf("%d requests: user events were sent to a group.* endpoint", n)
	}
}
