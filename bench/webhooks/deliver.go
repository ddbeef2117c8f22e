package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/webhook"
)

const (
	secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretEnv = "BENCH_WEBHOOK_SECRET" // answered by the tool's own getenv
)

// receiver verifies and counts deliveries by event id.
type receiver struct {
	wh       *standardwebhooks.Webhook
	mu       sync.Mutex
	byID     map[string]int
	bad      int
	lastSeen time.Time
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	err := r.wh.Verify(body, req.Header)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.byID[req.Header.Get("webhook-id")]++
	r.lastSeen = time.Now()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) counts() (distinct, total, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.byID {
		total += n
	}
	return len(r.byID), total, r.bad
}

// deliveryPhase fills the outbox with o.events events and times their delivery.
func deliveryPhase(ctx context.Context, db *sqlx.DB, o options, out io.Writer) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	rec := &receiver{wh: wh, byID: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// The endpoint as a [[webhooks]] entry, and each worker (replica) built by internal/app as `scimbridge
	// serve` builds it (which registers the endpoint), with this tool's parallelism and a quick poll.
	cfg, err := legacyusers.Config(fmt.Sprintf(`
[[webhooks]]
name = "bench"
url = "http://%s/hooks"
events = ["*"]
secret_env = %q
`, ln.Addr().String(), secretEnv))
	if err != nil {
		return err
	}
	opts := app.Options{
		Getenv: func(name string) string {
			if name == secretEnv {
				return secret
			}
			return ""
		},
		Log: slog.New(slog.DiscardHandler),
		TuneWebhooks: func(wo webhook.Options) webhook.Options {
			wo.Parallel, wo.PollInterval = o.parallel, 20*time.Millisecond
			return wo
		},
	}
	workers := make([]*webhook.Worker, o.workers)
	for i := range workers {
		a, err := benchenv.Build(ctx, db, cfg, "bench-webhooks-token-unused", opts)
		if err != nil {
			return err
		}
		defer a.Close()
		workers[i] = a.Webhooks()
	}
	if o.gap {
		if err := rolledBackEvent(ctx, db); err != nil {
			return err
		}
	}
	payloadBytes, err := fillOutbox(ctx, db, o.events, o.subjects)
	if err != nil {
		return err
	}
	gapNote := ""
	if o.gap {
		gapNote = ", behind the seq of a rolled-back transaction"
	}
	fmt.Fprintf(out, "== phase 1: delivery\n%d events about %d users (payload %d bytes on average) in the outbox%s; %d worker(s), %d deliveries in flight each, receiver verifying every signature\n",
		o.events, o.subjects, payloadBytes/o.events, gapNote, o.workers, o.parallel)

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range workers {
		wg.Go(func() { _ = w.Run(wctx) })
	}
	for {
		var delivered int
		if err := db.GetContext(ctx, &delivered, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE status = 'delivered'"); err != nil {
			stop()
			return err
		}
		if delivered >= o.events {
			break
		}
		if ctx.Err() != nil {
			stop()
			return ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	distinct, total, bad := rec.counts()
	fmt.Fprintf(out, "  %d events delivered in %s: %.0f events/s (fan-out, claim, sign, POST, verify, record)\n",
		distinct, elapsed.Round(time.Millisecond), float64(distinct)/elapsed.Seconds())
	fmt.Fprintf(out, "  requests %d, duplicates %d, bad signatures %d\n\n", total, total-distinct, bad)
	return nil
}

// rolledBackEvent inserts an outbox row and rolls back: its seq is taken and never commits, the gap a
// deadlock retry leaves (the default GapGrace, 5 minutes, outlasts the run).
func rolledBackEvent(ctx context.Context, db *sqlx.DB) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, "INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES (?, 'user.updated', 'user:rolled-back', ?, '{}')",
		uuid.NewString(), time.Now().UTC())
	return err
}

// fillOutbox writes n events, as the store would, in multi-row INSERTs; it returns the payload bytes.
func fillOutbox(ctx context.Context, db *sqlx.DB, n, subjects int) (int, error) {
	ids := make([]string, subjects)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	types := []string{"user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted"}
	total := 0
	for from := 0; from < n; from += 500 {
		to := min(from+500, n)
		var args []any
		for i := from; i < to; i++ {
			user := ids[i%subjects]
			ev := map[string]any{"id": uuid.NewString(), "type": types[(i/subjects)%len(types)], "time": time.Now().UTC(),
				"app_user_key": i%subjects + 1, "resource": sampleUser(user, i%subjects)}
			payload, err := json.Marshal(ev)
			if err != nil {
				return 0, err
			}
			total += len(payload)
			args = append(args, ev["id"], ev["type"], "user:"+user, ev["time"], payload)
		}
		q := "INSERT INTO scim_outbox (event_id, type, subject, occurred_at, payload) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", to-from), ", ")
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func sampleUser(id string, n int) map[string]any {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id":       id,
		"userName": fmt.Sprintf("user%06d@bench.example.com", n),
		"name":     map[string]any{"givenName": "Ann", "familyName": fmt.Sprintf("Lee %x", b)},
		"emails":   []any{map[string]any{"value": fmt.Sprintf("user%06d@bench.example.com", n), "type": "work", "primary": true}},
		"active":   true,
		"title":    "Engineer",
		"meta": map[string]any{"resourceType": "User", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-02T00:00:00Z",
			"version": `W/"3"`, "location": "https://scim.example.com/scim/v2/Users/" + id},
	}
}
