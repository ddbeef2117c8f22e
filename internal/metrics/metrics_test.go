package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	return string(b)
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("scrape lacks %q", l)
		}
	}
}

// The gate's counters, read at scrape time, appear by reason.
func TestGateCounters(t *testing.T) {
	m := New(nil)
	counts := GateCounts{Logins: 3, Refusals: map[string]int64{"not_provisioned": 2, "deactivated": 1}}
	m.WatchGate(func() GateCounts { return counts })
	wantLines(t, get(t, m.Handler()),
		`scimbridge_gate_logins_total 3`,
		`scimbridge_gate_refusals_total{reason="deactivated"} 1`,
		`scimbridge_gate_refusals_total{reason="not_provisioned"} 2`)
	counts.Logins = 4
	wantLines(t, get(t, m.Handler()), `scimbridge_gate_logins_total 4`)
}

// A backlog query that fails is logged; the other metrics are still served.
func TestBacklogFailureLeavesTheRest(t *testing.T) {
	var logs bytes.Buffer
	m := New(slog.New(slog.NewTextHandler(&logs, nil)))
	m.WatchWebhooks(func(context.Context) ([]Backlog, error) { return nil, errors.New("database down") }, time.Now)
	m.Request("GET /Users", 200, "", 30*time.Millisecond)
	body := get(t, m.Handler())
	wantLines(t, body, `scimbridge_http_requests_total{operation="GET /Users",status="200",token="none"} 1`,
		`scimbridge_http_request_duration_seconds_bucket{operation="GET /Users",status="200",token="none",le="0.025"} 0`,
		`scimbridge_http_request_duration_seconds_bucket{operation="GET /Users",status="200",token="none",le="0.05"} 1`)
	if strings.Contains(body, "scimbridge_webhook_backlog{") || !strings.Contains(logs.String(), "database down") {
		t.Errorf("failed backlog: served %v, logged %q", strings.Contains(body, "scimbridge_webhook_backlog{"), logs.String())
	}
}

// Ages are measured on the injected clock; an endpoint with nothing waiting has age 0.
func TestBacklogAges(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := New(nil)
	m.WatchWebhooks(func(context.Context) ([]Backlog, error) {
		return []Backlog{{Endpoint: "a", Waiting: 4, Dead: 1, Unsent: 7, OldestWaiting: now.Add(-time.Hour)}, {Endpoint: "b", Disabled: true}}, nil
	}, func() time.Time { return now })
	wantLines(t, get(t, m.Handler()),
		`scimbridge_webhook_backlog{endpoint="a"} 4`,
		`scimbridge_webhook_dead_letters{endpoint="a"} 1`,
		`scimbridge_webhook_outbox_unsent{endpoint="a"} 7`,
		`scimbridge_webhook_oldest_waiting_age_seconds{endpoint="a"} 3600`,
		`scimbridge_webhook_oldest_waiting_age_seconds{endpoint="b"} 0`,
		`scimbridge_webhook_endpoint_disabled{endpoint="b"} 1`)
}
