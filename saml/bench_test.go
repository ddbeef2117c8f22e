package saml_test

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/saml"
)

// BenchmarkGate measures what the gate adds to a proxied request: the same GET sent straight to the
// upstream and through the gate with a signed-in user (session row loaded from the store, directory answer from
// the recheck cache, headers stripped and set, signed header, reverse proxy), over loopback HTTP with
// keep-alive. Each reports p50/p99 latency as the client sees it and requests/s; "-par" variants run
// 8 clients at once. Run: go test ./saml -run '^$' -bench Gate -benchtime 20000x
func BenchmarkGate(b *testing.B) {
	e := newEnv(b, withSignedHeader)
	e.addIdPUser(b, "alice", "alice@example.com")
	e.provision("alice@example.com", saml.User{ID: "a1", UserName: "alice@example.com", Email: "alice@example.com"})
	c := browser(b)
	if resp, body := e.login(b, c, "alice", "/"); resp.StatusCode != http.StatusOK {
		b.Fatalf("login: %s\n%s", resp.Status, body)
	}
	e.app.quiet.Store(true)
	c.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	b.Run("direct", func(b *testing.B) { measure(b, direct, e.app.srv.URL+"/page", 1) })
	b.Run("gate", func(b *testing.B) { measure(b, c, e.gateSrv.URL+"/page", 1) })
	b.Run("direct-par", func(b *testing.B) { measure(b, direct, e.app.srv.URL+"/page", 8) })
	b.Run("gate-par", func(b *testing.B) { measure(b, c, e.gateSrv.URL+"/page", 8) })
	if st := e.gate.Stats(); st.DirectoryErrors+st.UpstreamErrors != 0 {
		b.Errorf("stats = %+v", st)
	}
}

func measure(b *testing.B, c *http.Client, url string, clients int) {
	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, b.N)
		wg   sync.WaitGroup
		next = make(chan struct{}, b.N)
	)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/clients+1)
			for range next {
				t0 := time.Now()
				resp, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("%s: %s", url, resp.Status)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
}
