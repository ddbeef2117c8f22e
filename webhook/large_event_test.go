package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// limitedReceiver is the README's (and examples/webhook-receiver's) receiver: it reads at most 1 MiB,
// verifies the signature, answers 401 when it does not verify and 204 otherwise; reject makes it
// answer 400 to the events it names.
type limitedReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte // verified events by id, in the order of ids
	ids    []string
	status map[int]int
	reject func(id string) bool
}

func newLimitedReceiver(t *testing.T) *limitedReceiver {
	wh, err := standardwebhooks.NewWebhook(whsec)
	if err != nil {
		t.Fatal(err)
	}
	lr := &limitedReceiver{bodies: map[string][]byte{}, status: map[int]int{}}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		code := http.StatusNoContent
		id := r.Header.Get(HeaderID)
		lr.mu.Lock()
		defer lr.mu.Unlock()
		switch {
		case wh.VerifyIgnoringTimestamp(body, r.Header) != nil:
			code = http.StatusUnauthorized
		case lr.reject != nil && lr.reject(id):
			code = http.StatusBadRequest
		default:
			if _, dup := lr.bodies[id]; !dup {
				lr.ids = append(lr.ids, id)
			}
			lr.bodies[id] = body
		}
		lr.status[code]++
		w.WriteHeader(code)
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

func (lr *limitedReceiver) endpoint(t *testing.T) Endpoint {
	key, err := config.WebhookSecretBytes(whsec)
	if err != nil {
		t.Fatal(err)
	}
	return Endpoint{Name: "app", URL: lr.srv.URL, Events: []string{"user.*"}, Secret: key}
}

func (lr *limitedReceiver) got() (ids []string, bodies map[string][]byte, status map[int]int) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	st := map[int]int{}
	for k, v := range lr.status {
		st[k] = v
	}
	b := map[string][]byte{}
	for k, v := range lr.bodies {
		b[k] = v
	}
	return append([]string(nil), lr.ids...), b, st
}

// Two legal 600 KB attribute changes (the fixture raises the document limits) make a 1.2 MB event. The receiver that reads 1 MiB gets it
// reduced below max_payload_bytes with a "truncated" marker and a valid signature, and the user's
// next event arrives after it. Before, the body was cut at 1 MiB, the signature failed, and the 401
// was retried for three days with every later event of the user behind it.
func TestEventOverOneMiBIsSentTruncatedAndDoesNotBlockItsSubject(t *testing.T) {
	f := newFixture(t)
	lr := newLimitedReceiver(t)
	ep := lr.endpoint(t)
	w, _ := f.run(f.options(ep))
	id := f.create("big@example.com")
	f.update(id, "nickName", strings.Repeat("n", 600_000))
	f.update(id, "profileUrl", "https://example.com/"+strings.Repeat("p", 600_000))
	f.update(id, "title", "after the big one")
	rows := f.outbox()
	if len(rows) != 4 || len(rows[2].Payload) < 1_200_000 {
		t.Fatalf("%d events; the third has %d bytes, want over 1.2 MB", len(rows), len(rows[2].Payload))
	}
	eventually(t, "all four events verified by the 1 MiB receiver", func() bool { ids, _, _ := lr.got(); return len(ids) == 4 })
	ids, bodies, status := lr.got()
	for i, row := range rows {
		if ids[i] != row.EventID {
			t.Fatalf("event %d arrived as %s, want %s (commit order)", i, ids[i], row.EventID)
		}
	}
	if status[http.StatusUnauthorized] != 0 {
		t.Errorf("%d requests failed their signature check", status[http.StatusUnauthorized])
	}
	big := bodies[rows[2].EventID]
	if len(big) > 256<<10 {
		t.Errorf("the big event was sent with %d bytes, over the default max_payload_bytes", len(big))
	}
	var ev struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Resource  map[string]any `json:"resource"`
		Truncated struct {
			Reason  string   `json:"reason"`
			Bytes   int      `json:"payload_bytes"`
			Omitted []string `json:"omitted"`
		} `json:"truncated"`
	}
	if err := json.Unmarshal(big, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != rows[2].EventID || ev.Type != "user.updated" || ev.Resource["id"] != id || ev.Truncated.Reason != "payload_too_large" ||
		ev.Truncated.Bytes != len(rows[2].Payload) || len(ev.Truncated.Omitted) == 0 || ev.Truncated.Omitted[0] != "resource" {
		t.Errorf("reduced event: %s", big)
	}
	if string(bodies[rows[0].EventID]) != string(rows[0].Payload) {
		t.Error("a small event was not sent byte for byte")
	}
	if s := w.Stats(); s.Truncated < 1 || s.Dead != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A receiver that refuses an event with a 4xx (not 408/410/429) refuses it again: after max_rejections
// attempts it is dead, counted and listed, and the subject's later events go on, within a minute of
// (fake) time instead of give_up_after. Skip does the same at once for a delivery failing otherwise.
func TestRejectedDeliveryIsDeadQuicklyAndSkipUnblocks(t *testing.T) {
	f := newFixture(t)
	lr := newLimitedReceiver(t)
	ep := lr.endpoint(t)
	w, _ := f.run(f.options(ep))
	id := f.create("refused@example.com")
	first := f.outbox()[0].EventID
	lr.mu.Lock()
	lr.reject = func(got string) bool { return got == first }
	lr.mu.Unlock()
	f.update(id, "title", "later")
	for range 20 {
		if f.count(StatusDead) == 1 {
			break
		}
		f.clock.Advance(15 * time.Second)
		time.Sleep(50 * time.Millisecond)
	}
	eventually(t, "the later event delivered", func() bool { ids, _, _ := lr.got(); return len(ids) == 1 })
	var d struct {
		Attempts int    `db:"attempts"`
		Status   int    `db:"last_status"`
		Error    string `db:"last_error"`
	}
	if err := f.db.Get(&d, "SELECT attempts, last_status, last_error FROM scim_webhook_deliveries WHERE event_id = ?", first); err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 3 || d.Status != 400 {
		t.Errorf("dead after %d attempts with status %d, want 3 and 400", d.Attempts, d.Status)
	}
	if s := w.Stats(); s.Dead != 1 || s.Rejected != 1 {
		t.Errorf("stats %+v, want one dead, rejected", s)
	}

	// 503 is not a rejection: it waits, and the operator skips it.
	lr.mu.Lock()
	lr.reject = nil
	lr.mu.Unlock()
	f.update(id, "title", "third")
	eventually(t, "the third delivered", func() bool { ids, _, _ := lr.got(); return len(ids) == 2 })
	var stuck int64
	lr.mu.Lock()
	lr.reject = func(string) bool { return true }
	lr.mu.Unlock()
	f.update(id, "title", "fourth")
	f.update(id, "title", "fifth")
	eventually(t, "the fourth refused once", func() bool { return f.count(StatusFailed) == 1 })
	if err := f.db.Get(&stuck, "SELECT id FROM scim_webhook_deliveries WHERE status = 'failed'"); err != nil {
		t.Fatal(err)
	}
	lr.mu.Lock()
	lr.reject = nil
	lr.mu.Unlock()
	if err := w.Skip(t.Context(), stuck, "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the fifth delivered after the skip", func() bool { ids, _, _ := lr.got(); return len(ids) == 3 })
	if s := w.Stats(); s.Skipped != 1 {
		t.Errorf("stats %+v, want one skipped", s)
	}
	if err := w.Skip(t.Context(), stuck, "again"); err == nil {
		t.Error("skipping a dead delivery succeeded")
	}
}
