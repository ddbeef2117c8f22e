package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is a fast endpoint: it verifies the signature, notes when each event arrived and answers 204.
type receiver struct {
	wh  *standardwebhooks.Webhook
	mu  sync.Mutex
	got []receipt
	ids map[string]int
	bad int
}

// receipt is one event as it arrived.
type receipt struct {
	ID      string
	Subject string
	Type    string
	Time    time.Time // the event's own time: taken in the write's transaction, just before its commit
	At      time.Time // when the receiver read it
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	at := time.Now()
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		ID      string    `json:"id"`
		Type    string    `json:"type"`
		Subject string    `json:"subject"`
		Time    time.Time `json:"time"`
	}
	_ = json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get("webhook-id")
	r.ids[id]++
	if r.ids[id] == 1 {
		r.got = append(r.got, receipt{ID: id, Subject: ev.Subject, Type: ev.Type, Time: ev.Time, At: at})
	}
	w.WriteHeader(http.StatusNoContent)
}

// snapshot returns the distinct events received so far, requests in all and bad signatures.
func (r *receiver) snapshot() (got []receipt, requests, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ids {
		requests += n
	}
	return append([]receipt(nil), r.got...), requests, r.bad
}

func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}
