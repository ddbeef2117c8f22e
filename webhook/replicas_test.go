package webhook

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// Two replicas on one database, both live: every event is delivered exactly once, in order per user.
func TestTwoWorkersNeverDeliverTwice(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ep := f.endpoint("app", r)
	a, b := f.options(ep), f.options(ep)
	a.Owner, b.Owner = "replica-a", "replica-b"
	a.Parallel, b.Parallel = 4, 4
	logA, logB := newCountingHandler(), newCountingHandler()
	a.Log, b.Log = slog.New(logA), slog.New(logB)
	f.run(a)
	f.run(b)

	// 200 events: 50 users with 4 changes each, written by 4 goroutines while the workers deliver.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 12 {
				id := f.create(fmt.Sprintf("r%d-%d@example.com", g, i))
				f.update(id, "title", "a")
				f.update(id, "active", false)
				f.update(id, "active", true)
			}
		})
	}
	wg.Wait()
	for i := range 2 { // 48 users above; two more make 50
		id := f.create(fmt.Sprintf("extra%d@example.com", i))
		f.update(id, "title", "a")
		f.update(id, "active", false)
		f.update(id, "active", true)
	}
	rows := f.outbox()
	if len(rows) != 200 {
		t.Fatalf("%d events, want 200", len(rows))
	}
	eventually(t, "200 delivered", func() bool { return f.count(StatusDelivered) == 200 })
	time.Sleep(100 * time.Millisecond)
	checkExactlyAsCommitted(t, rows, r.acked())
	if n := r.requests(); n != 200 {
		t.Errorf("%d requests for 200 events", n)
	}
	na, nb := logA.count("webhooks: delivered"), logB.count("webhooks: delivered")
	t.Logf("replica a delivered %d, replica b %d", na, nb)
	if na+nb != 200 || na == 0 || nb == 0 {
		t.Errorf("both replicas should have delivered: a %d, b %d", na, nb)
	}
}

// A worker that claimed a delivery and died before sending it (its lease left behind): another worker
// sends it once the lease has expired, and not before.
func TestClaimOfADeadWorkerIsSentAfterItsLeaseExpires(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	ep := f.endpoint("app", r)
	oa := f.options(ep)
	oa.Owner = "dead-replica"
	a, err := New(f.db, oa)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	f.create("lease@example.com")
	if _, err := a.fanOut(ctx, a.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	cs, err := a.claim(ctx, a.endpoints[0], 8)
	if err != nil || len(cs) != 1 {
		t.Fatalf("claim: %v, %v", cs, err)
	}
	// a "dies" here: it never sends nor records.

	ob := f.options(ep)
	ob.Owner = "live-replica"
	f.run(ob)
	time.Sleep(100 * time.Millisecond)
	if n := r.requests(); n != 0 {
		t.Fatalf("sent while the dead worker's lease was live: %d", n)
	}
	f.clock.Advance(a.endpoints[0].lease + time.Second)
	eventually(t, "sent after the lease expired", func() bool { return f.count(StatusDelivered) == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := r.requests(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	checkExactlyAsCommitted(t, f.outbox(), r.acked())
}

// The same with a real process: a helper process claims and is killed with SIGKILL.
func TestKilledProcessClaimIsSentByTheNextWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a helper process")
	}
	f := newFixture(t)
	r := newReceiver(t)
	f.create("killed@example.com")

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessClaimsAndHangs$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WEBHOOK_HELPER_DSN="+f.dsn, "WEBHOOK_HELPER_URL="+r.URL(),
		"WEBHOOK_HELPER_NOW="+strconv.FormatInt(f.clock.Now().UnixNano(), 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "claimed 1") {
		_ = cmd.Process.Kill()
		t.Fatalf("helper said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	var owner string
	if err := f.db.Get(&owner, "SELECT lease_owner FROM scim_webhook_deliveries"); err != nil || owner != "killed-process" {
		t.Fatalf("lease owner %q, %v", owner, err)
	}

	f.clock.Advance(10 * time.Minute) // past any lease
	f.run(f.options(f.endpoint("app", r)))
	eventually(t, "sent by the new worker", func() bool { return f.count(StatusDelivered) == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := r.requests(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestHelperProcessClaimsAndHangs is the helper of TestKilledProcessClaimIsSentByTheNextWorker: it
// claims the pending delivery, says so, and waits to be killed.
func TestHelperProcessClaimsAndHangs(t *testing.T) {
	dsn := os.Getenv("WEBHOOK_HELPER_DSN")
	if dsn == "" {
		t.Skip("helper process only")
	}
	db, err := mysql.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := strconv.ParseInt(os.Getenv("WEBHOOK_HELPER_NOW"), 10, 64)
	now := time.Unix(0, ns)
	f := &fixture{t: t, db: db, clock: testfix.NewClock(now)}
	key, err := config.WebhookSecretBytes(whsec)
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoint{Name: "app", URL: os.Getenv("WEBHOOK_HELPER_URL"), Secret: key}
	o := f.options(ep)
	o.Owner = "killed-process"
	w, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The cursor starts before the event: as if the endpoint had been registered before the change.
	if _, err := db.Exec("INSERT INTO scim_webhook_cursors (endpoint, last_seq, scan_seq, created_at) VALUES ('app', 0, 0, ?)", now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.fanOut(ctx, w.endpoints[0]); err != nil {
		t.Fatal(err)
	}
	cs, err := w.claim(ctx, w.endpoints[0], 8)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("claimed %d\n", len(cs))
	time.Sleep(time.Minute) // killed long before
}
