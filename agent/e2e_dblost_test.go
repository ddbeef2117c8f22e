package agent_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// e2eProxy is a loopback TCP proxy to MariaDB that the test can cut and restore on the same port.
type e2eProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	frozen atomic.Bool // a network partition: connections stay open but nothing gets through
}

func newE2EProxy(t *testing.T, target string) *e2eProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &e2eProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *e2eProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				return
			}
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

// track registers a connection pair, unless the proxy was stopped meanwhile.
func (p *e2eProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		a.Close()
		b.Close()
		return false
	}
	p.conns[a], p.conns[b] = true, true
	return true
}

func (p *e2eProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.frozen.Load() {
			p.mu.Lock()
			open := p.conns[src]
			p.mu.Unlock()
			if !open {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stop closes the listener and kills every proxied connection.
func (p *e2eProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// restart listens again on the same port.
func (p *e2eProxy) restart(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cannot listen on %s again: %v", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2EDatabaseLost(t *testing.T) {
	t.Parallel()
	proxy := newE2EProxy(t, "127.0.0.1:3306")
	e := newE2E(t, e2eOptions{dbAddr: proxy.addr})
	u := e.createUser(`{"userName":"survivor@example.com"}`)
	id := e2eStr(u["id"])
	e.want(e.list(), 200, "GET /Users through the proxy")
	e.want(e.do("GET", e.root("/readyz"), nil), 200, "readyz through the proxy")

	proxy.stop()
	for name, r := range map[string]*e2eResp{
		"GET /Users":      e.list(),
		"GET /Users/{id}": e.do("GET", "/Users/"+id, nil),
		"POST /Users":     e.do("POST", "/Users", `{"userName":"lost@example.com"}`),
		"PATCH":           e.patch(id, `[{"op":"replace","path":"title","value":"x"}]`),
		"DELETE":          e.do("DELETE", "/Users/"+id, nil),
	} {
		e2eWantError(t, r, 503, "")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", name)
		}
		if leaks := leaksInternals(r.Raw); len(leaks) > 0 {
			t.Errorf("%s: 503 body leaks %v: %s", name, leaks, r.Raw)
		}
	}
	if r := e.do("GET", e.root("/readyz"), nil); r.Status != 503 {
		t.Errorf("readyz with the database gone: %s", r)
	}
	if r := e.do("GET", e.root("/healthz"), nil); r.Status != 200 {
		t.Errorf("healthz must not depend on the database: %s", r)
	}
	if n := len(e.appRows("email = ?", "lost@example.com")); n != 0 {
		t.Errorf("a POST answered 503 wrote %d rows", n)
	}

	proxy.restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.list()
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /Users still failing 5s after the database came back: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.want(e.do("GET", e.root("/readyz"), nil), 200, "readyz after recovery")
	if g := e.getUser(id); g["userName"] != "survivor@example.com" {
		t.Errorf("GET after recovery: %v", g)
	}
	e.createUser(`{"userName":"after@example.com"}`)
}

// agent + adapters/mysql: nothing bounds how long a request waits for the database. When the network to
// MariaDB blackholes packets (a partition, not a refused connection), a request on a pooled connection
// hangs until the IdP gives up, instead of answering 503 with Retry-After like a refused connection does.
// (mysql.Open sets no readTimeout/writeTimeout and the agent sets no per-request deadline.)
func TestE2ERegressionDatabasePartitionHangsRequests(t *testing.T) {
	t.Parallel()
	proxy := newE2EProxy(t, "127.0.0.1:3306")
	e := newE2E(t, e2eOptions{dbAddr: proxy.addr, timeout: 2 * time.Second})
	e.createUser(`{"userName":"partition@example.com"}`)
	e.want(e.list(), 200, "GET /Users through the proxy")

	proxy.frozen.Store(true)
	const bound = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/Users", nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET /Users with the database partitioned: no answer within %s (%v); want 503 with Retry-After", bound, err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("GET /Users with the database partitioned: %d after %s, want 503", resp.StatusCode, time.Since(start))
		}
	}
	proxy.frozen.Store(false)
}
