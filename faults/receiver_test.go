package faults

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Modes of the receiver.
const (
	modeOK   = "ok"
	modeDown = "down" // not listening: connections refused
	mode500  = "500"
	mode410  = "410"
	modeSlow = "slow" // answers after 10 s (longer than the endpoint's timeout)
)

// receiver is the host app's webhook endpoint, verifying every signature, in the mode the test sets.
type receiver struct {
	t    *testing.T
	addr string
	wh   *standardwebhooks.Webhook

	mu     sync.Mutex
	mode   string
	srv    *http.Server
	acked  []string // event ids answered 2xx, in arrival order (duplicates kept)
	bad    int      // requests whose signature did not verify
	counts map[string]int
}

func newReceiver(t *testing.T) *receiver {
	wh, err := standardwebhooks.NewWebhook(whsec)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String(), wh: wh, mode: modeOK, counts: map[string]int{}}
	r.serve(ln)
	t.Cleanup(func() { r.setMode(modeDown) })
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: r}
	go func() { _ = r.srv.Serve(ln) }()
}

// setMode switches the receiver; down closes its listener, and leaving down listens again on its address.
func (r *receiver) setMode(m string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case m == modeDown && r.mode != modeDown:
		_ = r.srv.Close()
	case m != modeDown && r.mode == modeDown:
		var ln net.Listener
		var err error
		for range 50 {
			if ln, err = net.Listen("tcp", r.addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			r.t.Errorf("receiver cannot listen again on %s: %v", r.addr, err)
			return
		}
		r.serve(ln)
	}
	r.mode = m
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	mode := r.mode
	r.counts[mode]++
	r.mu.Unlock()
	if err := r.wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	switch mode {
	case mode500:
		http.Error(w, "receiver failing", http.StatusInternalServerError)
		return
	case mode410:
		http.Error(w, "gone", http.StatusGone)
		return
	case modeSlow:
		select {
		case <-time.After(10 * time.Second):
		case <-req.Context().Done():
			return // the sender gave up: not acknowledged
		}
	}
	r.mu.Lock()
	r.acked = append(r.acked, req.Header.Get("webhook-id"))
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() (acked []string, bad int, counts map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts = map[string]int{}
	for k, v := range r.counts {
		counts[k] = v
	}
	return append([]string(nil), r.acked...), r.bad, counts
}

// count is how many requests arrived in mode m.
func (r *receiver) count(m string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[m]
}
