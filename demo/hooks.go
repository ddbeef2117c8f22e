package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The sample app's webhook receiver, as a host app would write one (see examples/webhook-receiver):
// it verifies the Standard Webhooks signature with the official library, drops events it already has
// (by webhook-id, the event id), and keeps the last maxHooks events in memory for its page.

// WebhookEvent is an event the sample app received and kept.
type WebhookEvent struct {
	N        int       // 1 for the first event received, 2 for the next, ...
	ID       string    // the event id (webhook-id)
	Type     string    // user.created, ...
	Subject  string    // what it is about, as scimbridge orders events: "user:<SCIM id>" or "group:<SCIM id>"
	Name     string    // the user's userName or the group's displayName, when known
	AppKey   string    // app_user_key: the app's own key of the user's row
	Summary  string    // changed, members or roles, in words
	Time     time.Time // when the change was committed (the event's time)
	Received time.Time
}

// hookPayload is the part of scimbridge's event payload the app reads.
type hookPayload struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	AppKey  json.RawMessage `json:"app_user_key"`
	Changed []string        `json:"changed"`
	Members []string        `json:"members"`
	Roles   *struct {
		Old []string `json:"old"`
		New []string `json:"new"`
	} `json:"roles"`
	Resource map[string]any `json:"resource"`
}

const maxHooks = 200

// hookReceiver is the sample app's POST /hooks/scim.
type hookReceiver struct {
	wh *standardwebhooks.Webhook

	mu         sync.Mutex
	events     []WebhookEvent    // the last maxHooks, oldest first
	total      int               // events received, duplicates not counted
	seen       map[string]bool   // every event id received
	names      map[string]string // SCIM id -> userName or displayName, learnt from the events
	duplicates int               // deliveries of an event already received
	rejected   int               // requests with a bad or missing signature
}

func newHookReceiver(secret string) (*hookReceiver, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	return &hookReceiver{wh: wh, seen: map[string]bool{}, names: map[string]string{}}, nil
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	// The raw body, before any parsing; Verify also refuses a timestamp more than 5 minutes off.
	if err := h.wh.Verify(body, r.Header); err != nil {
		h.mu.Lock()
		h.rejected++
		h.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p hookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" || p.Type == "" {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[id] {
		h.duplicates++ // 2xx all the same: scimbridge must stop sending it
	} else {
		h.seen[id] = true
		h.add(id, p)
	}
	w.WriteHeader(http.StatusNoContent)
}

// add keeps an event; h.mu is held.
func (h *hookReceiver) add(id string, p hookPayload) {
	family, _, _ := strings.Cut(p.Type, ".")
	rid, _ := p.Resource["id"].(string)
	nameKey := "userName"
	if family == "group" {
		nameKey = "displayName"
	}
	if n, ok := p.Resource[nameKey].(string); ok && rid != "" {
		h.names[rid] = n
	}
	h.total++
	ev := WebhookEvent{N: h.total, ID: id, Type: p.Type, Subject: family + ":" + rid, Name: h.names[rid],
		AppKey: strings.Trim(string(p.AppKey), `"`), Time: p.Time, Received: time.Now()}
	switch {
	case len(p.Changed) > 0:
		ev.Summary = "changed: " + strings.Join(p.Changed, ", ")
	case len(p.Members) > 0:
		names := make([]string, len(p.Members))
		for i, m := range p.Members {
			names[i] = m
			if n := h.names[m]; n != "" {
				names[i] = n
			}
		}
		ev.Summary = "members: " + strings.Join(names, ", ")
	case p.Roles != nil:
		ev.Summary = fmt.Sprintf("roles: [%s] -> [%s]", strings.Join(p.Roles.Old, ", "), strings.Join(p.Roles.New, ", "))
	}
	if len(h.events) == maxHooks {
		h.events = append(h.events[:0], h.events[maxHooks/2:]...)
	}
	h.events = append(h.events, ev)
}

// HookStats count the sample app's webhook requests.
type HookStats struct {
	Received   int // distinct events
	Duplicates int // deliveries of an event already received, answered 204 and dropped
	Rejected   int // requests with a bad or missing signature, answered 401
}

func (h *hookReceiver) stats() HookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HookStats{Received: h.total, Duplicates: h.duplicates, Rejected: h.rejected}
}

// since returns the events kept whose N is above n, oldest first.
func (h *hookReceiver) since(n int) []WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []WebhookEvent
	for _, e := range h.events {
		if e.N > n {
			out = append(out, e)
		}
	}
	return out
}

func (h *hookReceiver) has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[id]
}

// hookPage is what the app's page shows of its webhooks.
type hookPage struct {
	URL    string
	Max    int
	Events []WebhookEvent // newest first
	Stats  HookStats
}

func (d *Demo) hookPage() hookPage {
	evs := d.Webhooks()
	slices.Reverse(evs)
	return hookPage{URL: webhookPath, Max: maxHooks, Events: evs, Stats: d.WebhookStats()}
}

// Webhooks lists the events the sample app received and kept (the last 200), oldest first.
func (d *Demo) Webhooks() []WebhookEvent { return d.hooks.since(0) }

// WebhookStats counts the sample app's webhook requests.
func (d *Demo) WebhookStats() HookStats { return d.hooks.stats() }

// WebhookURL is where scimbridge posts its events: the sample app's POST /hooks/scim.
func (d *Demo) WebhookURL() string { return d.appURL + webhookPath }

// WebhookSecret is the signing secret scimbridge and the sample app share ("whsec_...").
func (d *Demo) WebhookSecret() string { return d.hookSecret }
