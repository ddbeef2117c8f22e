package invariants

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/jmoiron/sqlx"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// Receiver is the host app's webhook endpoint: it verifies each signature and records the event ids it
// acknowledged, in arrival order, duplicates kept.
type Receiver struct {
	wh  *standardwebhooks.Webhook
	srv *http.Server
	url string

	mu    sync.Mutex
	acked []string
	bad   int
}

// NewReceiver listens on loopback, verifying with secret (whsec_...).
func NewReceiver(secret string) (*Receiver, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{wh: wh, url: "http://" + ln.Addr().String() + "/hooks"}
	r.srv = &http.Server{Handler: r}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// URL is where it listens.
func (r *Receiver) URL() string { return r.url }

// Close stops listening.
func (r *Receiver) Close() error { return r.srv.Close() }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.acked = append(r.acked, req.Header.Get("webhook-id"))
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Acked are the event ids acknowledged, in arrival order, and how many requests did not verify.
func (r *Receiver) Acked() (ids []string, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.acked), r.bad
}

// Deliveries compares what a receiver acknowledged with the outbox: events never received (lost),
// received more than once, and subjects whose events arrived out of seq order.
type Deliveries struct {
	Events, Lost, Duplicates, OutOfOrder int
}

// CheckDeliveries reads the outbox and compares it with acked.
func CheckDeliveries(ctx context.Context, db *sqlx.DB, prefix string, acked []string) (Deliveries, error) {
	var rows []struct {
		Seq     int64  `db:"seq"`
		EventID string `db:"event_id"`
		Subject string `db:"subject"`
	}
	t := bookkeeping.NewTables(prefix, bookkeeping.MySQL)
	if err := db.SelectContext(ctx, &rows, "SELECT seq, event_id, subject FROM "+t.Outbox()+" ORDER BY seq"); err != nil {
		return Deliveries{}, err
	}
	d := Deliveries{Events: len(rows)}
	count := map[string]int{}
	for _, id := range acked {
		count[id]++
	}
	type ev struct {
		seq     int64
		subject string
	}
	byID := map[string]ev{}
	for _, r := range rows {
		byID[r.EventID] = ev{r.Seq, r.Subject}
		switch n := count[r.EventID]; {
		case n == 0:
			d.Lost++
		case n > 1:
			d.Duplicates++
		}
	}
	last := map[string]int64{}
	seen := map[string]bool{}
	for _, id := range acked {
		e, ok := byID[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		if e.seq < last[e.subject] {
			d.OutOfOrder++
		}
		last[e.subject] = e.seq
	}
	return d, nil
}

// String is the figures in one line.
func (d Deliveries) String() string {
	return fmt.Sprintf("%d events: %d lost, %d delivered more than once, %d out of order", d.Events, d.Lost, d.Duplicates, d.OutOfOrder)
}
