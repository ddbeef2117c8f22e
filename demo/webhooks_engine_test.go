package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/webhook"
)

// scripted is a receiver that answers each event's attempts with the statuses scripted for its
// "type userName" (then 204), and records what it got, in order.
type scripted struct {
	mu     sync.Mutex
	script map[string][]int
	got    []string // "type userName status"
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p hookPayload
	_ = json.Unmarshal(body, &p)
	name, _ := p.Resource["userName"].(string)
	key := p.Type + " " + name
	s.mu.Lock()
	code := http.StatusNoContent
	if q := s.script[key]; len(q) > 0 {
		code, s.script[key] = q[0], q[1:]
	}
	s.got = append(s.got, key+" "+http.StatusText(code))
	s.mu.Unlock()
	w.WriteHeader(code)
}

func (s *scripted) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// limited reports whether the demo lists a limit that mentions what.
func limited(d *Demo, what string) bool {
	for _, l := range d.Limits() {
		if strings.Contains(l, what) {
			return true
		}
	}
	return false
}

// Every operation of package webhook on the embedded engine: ordered retries after a failure, dead
// deliveries and RetryDead, 410 Gone and Enable, Replay, List, Prune and Forget. The demo's banner says
// what does not work; this test is what lets it say that everything else does.
func TestWebhookOperationsOnTheEmbeddedEngine(t *testing.T) {
	ctx := context.Background()
	d, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	rec := &scripted{script: map[string][]int{
		"user.created a@example.com": {500},      // retried, and a's update waits for it
		"user.created b@example.com": {500, 500}, // dead after max_attempts = 2
		"user.created c@example.com": {410},      // disables the endpoint
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ep := webhook.Endpoint{Name: "probe", URL: srv.URL, Events: []string{"user.*"}, Secret: []byte(strings.Repeat("k", 32)),
		Timeout: 2 * time.Second, MaxAttempts: 2}
	w, err := webhook.New(d.scimDB, webhook.Options{Endpoints: []webhook.Endpoint{ep}, PollInterval: 20 * time.Millisecond,
		BackoffBase: 50 * time.Millisecond, ShortRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Register(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()

	scim := func(method, path, body string) string {
		req, _ := http.NewRequest(method, d.SCIMURL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+d.Token())
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		return r.ID
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: receiver got %q", what, rec.log())
			}
		}
	}
	count := func(status string) int {
		rep, err := w.List(ctx, webhook.ListOptions{Endpoint: "probe"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range rep.Endpoints {
			if e.Name == "probe" {
				return e.Counts[status]
			}
		}
		return -1
	}
	has := func(s string) func() bool {
		return func() bool { return strings.Contains(strings.Join(rec.log(), "\n"), s) }
	}

	a := scim("POST", "/Users", `{"userName":"a@example.com"}`)
	scim("PATCH", "/Users/"+a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"X"}]}`)
	waitFor("a's update", has("user.updated a@example.com No Content"))
	if got := strings.Join(rec.log(), "\n"); got != "user.created a@example.com Internal Server Error\n"+
		"user.created a@example.com No Content\nuser.updated a@example.com No Content" {
		t.Errorf("a's events: got\n%s\nwant the failed creation retried before the update", got)
	}

	scim("POST", "/Users", `{"userName":"b@example.com"}`)
	waitFor("b dead", func() bool { return count(webhook.StatusDead) == 1 })
	if n, err := w.RetryDead(ctx, "probe"); n != 1 || err != nil {
		t.Fatalf("RetryDead: %d, %v", n, err)
	}
	waitFor("b retried", func() bool { return count(webhook.StatusDead) == 0 && count(webhook.StatusPending) == 0 })

	c := scim("POST", "/Users", `{"userName":"c@example.com"}`)
	waitFor("410", func() bool { return count(webhook.StatusDisabled) == 1 })
	scim("DELETE", "/Users/"+c, "")
	waitFor("c's delete queued as disabled", func() bool { return count(webhook.StatusDisabled) == 2 })
	if n, err := w.Enable(ctx, "probe"); n != 2 || err != nil {
		t.Fatalf("Enable: %d, %v", n, err)
	}
	waitFor("c's events after Enable", func() bool {
		return has("user.deleted c@example.com No Content")() && count(webhook.StatusPending) == 0
	})

	// Replay and Prune: Limits says whether they work here (see probeWebhookOps).
	before := len(rec.log())
	if n, err := w.Replay(ctx, "probe", time.Now().Add(-time.Hour)); n != 5 || err != nil {
		t.Fatalf("Replay: %d, %v", n, err)
	}
	if limited(d, "webhooks replay") {
		time.Sleep(300 * time.Millisecond)
		if len(rec.log()) != before || count(webhook.StatusPending) != 5 {
			t.Errorf("the demo says replay sends nothing here, but the receiver got %q", rec.log()[before:])
		}
		if _, err := d.scimDB.ExecContext(ctx, "UPDATE scim_webhook_deliveries SET status = 'delivered', delivered_at = NOW(6)"+
			" WHERE endpoint = 'probe'"); err != nil {
			t.Fatal(err)
		}
	} else {
		waitFor("the replay", func() bool { return len(rec.log()) == before+5 && count(webhook.StatusPending) == 0 })
	}
	stop()
	waitFor("the demo's own deliveries", func() bool {
		var n int
		err := d.scimDB.GetContext(ctx, &n, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE endpoint = 'legacy-app' AND status = 'delivered'")
		return err == nil && n == 5
	})
	// As a worker would prune 200 hours later: every delivered delivery and every outbox event go.
	later, err := webhook.New(d.scimDB, webhook.Options{Now: func() time.Time { return time.Now().Add(200 * time.Hour) },
		Endpoints: append(webhook.EndpointsWithoutSecrets(d.cfg), ep)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := later.Prune(ctx)
	var left int
	if err := d.scimDB.GetContext(ctx, &left, "SELECT COUNT(*) FROM scim_outbox"); err != nil {
		t.Fatal(err)
	}
	if limited(d, "Pruning old webhook events") {
		if err == nil || !strings.Contains(err.Error(), "uninitialized subquery") || p.Deliveries != 10 || left != 5 {
			t.Errorf("the demo says pruning the outbox fails here, but Prune got %+v, %v, and left %d events", p, err, left)
		}
	} else if err != nil || p.Deliveries != 10 || p.Outbox != 5 || left != 0 {
		t.Errorf("Prune: %+v, %v; %d outbox events left", p, err, left)
	}
	other, err := webhook.New(d.scimDB, webhook.Options{Endpoints: webhook.EndpointsWithoutSecrets(&config.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Forget(ctx, "probe"); err != nil {
		t.Errorf("Forget: %v", err)
	}
}
