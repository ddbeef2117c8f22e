package webhook

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// received is one request a receiver got.
type received struct {
	ID     string
	Body   []byte
	Header http.Header
	Status int // what the receiver answered
}

// receiver is the host app's endpoint: it verifies each request with the Standard Webhooks Go library
// and answers what respond says (204 by default).
type receiver struct {
	t       *testing.T
	ln      net.Listener
	srv     *http.Server
	wh      *standardwebhooks.Webhook
	strict  bool // also check the timestamp against the real clock
	mu      sync.Mutex
	all     []received
	respond func(received) int
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startReceiver(t, ln)
}

func startReceiver(t *testing.T, ln net.Listener) *receiver {
	wh, err := standardwebhooks.NewWebhook(whsec)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, ln: ln, wh: wh}
	r.srv = &http.Server{Handler: r}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *receiver) URL() string { return "http://" + r.ln.Addr().String() + "/hooks" }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	verify := r.wh.VerifyIgnoringTimestamp
	if r.strict {
		verify = r.wh.Verify
	}
	if err := verify(body, req.Header); err != nil {
		r.t.Errorf("signature of %s does not verify: %v", req.Header.Get(HeaderID), err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	got := received{ID: req.Header.Get(HeaderID), Body: body, Header: req.Header.Clone(), Status: http.StatusNoContent}
	r.mu.Lock()
	respond := r.respond
	r.mu.Unlock()
	if respond != nil {
		got.Status = respond(got) // outside the lock: it may take its time
	}
	r.mu.Lock()
	r.all = append(r.all, got)
	r.mu.Unlock()
	w.WriteHeader(got.Status)
}

func (r *receiver) setRespond(fn func(received) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = fn
}

// acked returns the requests answered 2xx, in arrival order.
func (r *receiver) acked() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.all {
		if g.Status >= 200 && g.Status < 300 {
			out = append(out, g)
		}
	}
	return out
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}
