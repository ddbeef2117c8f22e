// Command webhook-receiver is a minimal receiver of scimbridge's webhooks, as a host app would write
// one: it verifies each request's Standard Webhooks signature with the official Go library, drops
// events it has already processed (by webhook-id, which is the event id), and logs the rest.
//
//	export WEBHOOK_SECRET='whsec_...'    # the secret scimbridge signs with (webhooks.secret_env)
//	go run ./examples/webhook-receiver -listen 127.0.0.1:8090
//
// Then point scimbridge at it: [[webhooks]] url = "http://127.0.0.1:8090/hooks/scim".
//
// Deduplication is in memory here, so it forgets on restart and does not span several instances. A
// real app records the event id in its own database, in the same transaction as what the event
// causes (a unique key on the id makes a redelivery a no-op).
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to listen on")
	path := flag.String("path", "/hooks/scim", "URL path of the endpoint")
	raw := flag.Bool("raw", false, "the secret is raw text, not whsec_<base64>")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		log.Error("set WEBHOOK_SECRET to the signing secret scimbridge uses")
		os.Exit(2)
	}
	h, err := NewHandler(secret, *raw, log)
	if err != nil {
		log.Error("bad secret", "err", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+*path, h)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("receiving scimbridge webhooks", "url", "http://"+*listen+*path)
	if err := srv.ListenAndServe(); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// Event is the part of scimbridge's event payload this receiver reads.
type Event struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Time     time.Time      `json:"time"`
	AppKey   any            `json:"app_user_key"`
	Changed  []string       `json:"changed"`
	Resource map[string]any `json:"resource"`
}

// Handler verifies, deduplicates and logs events.
type Handler struct {
	wh   *standardwebhooks.Webhook
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool // event ids already processed; in memory (see the package comment)

	// Process is what the app does with a new event; it logs it by default.
	Process func(Event) error
}

// NewHandler builds a Handler for a "whsec_..." secret, or a raw one when raw is set.
func NewHandler(secret string, raw bool, log *slog.Logger) (*Handler, error) {
	var wh *standardwebhooks.Webhook
	var err error
	if raw {
		wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
	} else {
		wh, err = standardwebhooks.NewWebhook(secret)
	}
	if err != nil {
		return nil, err
	}
	h := &Handler{wh: wh, log: log, seen: map[string]bool{}}
	h.Process = func(ev Event) error {
		log.Info("event", "id", ev.ID, "type", ev.Type, "scim_id", ev.Resource["id"], "userName", ev.Resource["userName"],
			"app_user_key", ev.AppKey, "changed", ev.Changed)
		return nil
	}
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// 1 MiB: scimbridge never sends more than [[webhooks]] max_payload_bytes (256 KiB by default; a
	// larger event comes without its resource, marked "truncated"). Keep this limit above that setting:
	// a body cut short fails its signature check.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	// Verify checks the signature over "id.timestamp.body" and that the timestamp is within 5 minutes,
	// which stops a captured request from being replayed later.
	if err := h.wh.Verify(body, r.Header); err != nil {
		h.log.Warn("rejected: bad signature", "err", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	h.mu.Lock()
	defer h.mu.Unlock() // one event at a time: simple, and keeps the order scimbridge sends in
	if h.seen[id] {
		h.log.Info("duplicate delivery ignored", "id", id)
		w.WriteHeader(http.StatusNoContent) // 2xx: scimbridge must stop sending it
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	if err := h.Process(ev); err != nil {
		h.log.Error("processing failed; scimbridge will retry", "id", id, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	h.seen[id] = true
	w.WriteHeader(http.StatusNoContent)
}
