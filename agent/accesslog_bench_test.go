package agent_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scimbridge/scimbridge/agent"
)

// BenchmarkAccessLog is the cost of the request id and the access-log line on a request that does no
// database work (a refused token), with the line discarded by level and written as JSON.
func BenchmarkAccessLog(b *testing.B) {
	for _, bc := range []struct {
		name string
		log  *slog.Logger
	}{
		{"off", slog.New(slog.DiscardHandler)},
		{"json", slog.New(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := agent.New(agent.Config{BasePath: "/scim/v2", Tokens: []string{"bench-token-0123456789abcdef"}, Log: bc.log})
			req := httptest.NewRequest(http.MethodGet, "/scim/v2/Users", nil)
			req.Header.Set("Authorization", "Bearer wrong-token-0123456789abcdef")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusUnauthorized {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
