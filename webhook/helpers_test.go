package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// whsec is the test signing secret, as a receiver configures it.
const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type fixture struct {
	t     *testing.T
	dsn   string
	db    *sqlx.DB
	store *mysql.Store
	clock *testfix.Clock // the injected clock: tests move it instead of sleeping
}

// newFixture is the legacy app (internal/legacyapp), migrated, with a store on it that reads f.clock.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	// Near the real time, so that the Standard Webhooks library's 5-minute tolerance holds until a
	// test moves the clock.
	f := &fixture{t: t, clock: testfix.NewClock(time.Now().UTC().Truncate(time.Microsecond))}
	// Document limits above the defaults: the large-event tests store 600 KB values to make events over 1 MiB.
	f.store, f.db, f.dsn = testfix.Store(t, 20, legacyapp.UsersTable(), legacyapp.UsersTOML, mysql.Options{Now: f.clock.Now,
		Limits: mysql.DocLimits{MaxValueBytes: 1 << 20, MaxDocBytes: 4 << 20}})
	return f
}

// endpoint is an endpoint of r subscribed to user events.
func (f *fixture) endpoint(name string, r *receiver) Endpoint {
	key, err := config.WebhookSecretBytes(whsec)
	if err != nil {
		f.t.Fatal(err)
	}
	return Endpoint{Name: name, URL: r.URL(), Events: []string{"user.*"}, Secret: key}
}

// options are fast settings for tests: polling every few milliseconds, quick short retries.
func (f *fixture) options(eps ...Endpoint) Options {
	return Options{Endpoints: eps, Now: f.clock.Now, Rand: func() float64 { return 0.5 },
		PollInterval: 5 * time.Millisecond, ShortWaitMin: time.Millisecond, ShortWaitMax: 5 * time.Millisecond}
}

// run starts a Worker; it stops when the test ends or stop is called.
func (f *fixture) run(o Options) (w *Worker, stop func()) {
	f.t.Helper()
	w, err := New(f.db, o)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := w.Register(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return w, stop
}

func (f *fixture) create(userName string) string {
	f.t.Helper()
	r, err := f.store.CreateUser(context.Background(), resource(f.t, `{"userName":"`+userName+`","name":{"givenName":"G","familyName":"F"}}`))
	if err != nil {
		f.t.Fatal(err)
	}
	return r["id"].(string)
}

func (f *fixture) update(id, key string, v any) {
	f.t.Helper()
	if _, err := f.store.UpdateUser(context.Background(), id, func(cur scim.Resource) (scim.Resource, error) {
		cur[key] = v
		return cur, nil
	}); err != nil {
		f.t.Fatal(err)
	}
}

type outboxRow struct {
	Seq     int64  `db:"seq"`
	EventID string `db:"event_id"`
	Subject string `db:"subject"`
	Payload []byte `db:"payload"`
}

func (f *fixture) outbox() []outboxRow {
	f.t.Helper()
	var rows []outboxRow
	if err := f.db.Select(&rows, "SELECT seq, event_id, subject, payload FROM scim_outbox ORDER BY seq"); err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// count returns the number of deliveries with the given status.
func (f *fixture) count(status string) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE status = ?", status); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// eventually waits, in real time, until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func resource(t *testing.T, js string) scim.Resource {
	t.Helper()
	var r scim.Resource
	dec := json.NewDecoder(bytes.NewBufferString(js))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// countingHandler counts log records by message, for tests that need to know who did what.
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
}

func newCountingHandler() *countingHandler { return &countingHandler{counts: map[string]int{}} }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Message]++
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}
