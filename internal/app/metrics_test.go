package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/webhook"
)

const (
	oktaToken  = "okta-metrics-token-0123456789"
	entraToken = "entra-metrics-token-0123456789"
)

// series is one scraped sample: its name, labels and value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape GETs /metrics and parses Prometheus' text format (names, labels without escapes, values).
func scrape(t *testing.T, addr string) []series {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, raw)
	}
	var out []series
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		s := series{name: line[:cut], labels: map[string]string{}, value: v}
		if open := strings.IndexByte(line[:cut], '{'); open >= 0 {
			s.name = line[:open]
			for _, kv := range strings.Split(strings.TrimSuffix(line[open+1:cut], "}"), `",`) {
				k, val, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(val, `"`)
			}
		}
		out = append(out, s)
	}
	return out
}

// value is the sample of name whose labels include want; ok false when there is none.
func value(all []series, name string, want ...string) (float64, bool) {
	for _, s := range all {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			if s.labels[want[i]] != want[i+1] {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

func wantValue(t *testing.T, all []series, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(all, name, labels...)
	if !ok || got != want {
		t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, want)
	}
}

// A scripted sequence (requests under two named tokens, a refusal, a retried transaction, webhook
// deliveries that fail) and the counts a scrape over HTTP then shows.
func TestMetricsAfterAScriptedSequence(t *testing.T) {
	var posts atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b) + `
[[auth.tokens]]
name = "okta"
env = "OKTA_TOKEN"

[[auth.tokens]]
name = "entra"
env = "ENTRA_TOKEN"

[metrics]
listen = "127.0.0.1:0"

[[webhooks]]
name = "app"
url = "` + hook.URL + `"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
`
	cfg, err := config.Parse([]byte(src), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	dsn := exampleDB(t)
	db := testfix.Open(t, dsn, 2)
	clock := testfix.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	r := start(t, cfg, app.Options{
		Getenv: env(map[string]string{"OKTA_TOKEN": oktaToken, "ENTRA_TOKEN": entraToken, "SCIMBRIDGE_TOKEN": token}),
		DSN:    dsn, Now: clock.Now,
		TuneWebhooks: func(o webhook.Options) webhook.Options {
			o.PollInterval, o.ShortRetries = 10*time.Millisecond, -1
			return o
		},
	})
	addr := r.MetricsAddr().String()

	call := func(tok, method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
		}
		_ = json.Unmarshal(raw, &doc)
		return doc
	}
	user := `{"userName":"dana@example.com","name":{"givenName":"Dana"}}`
	created := call(oktaToken, "POST", "/Users", user, 201)
	id := created["id"].(string)
	call(oktaToken, "POST", "/Users", user, 409)
	call(entraToken, "GET", "/Users/"+id, "", 200)
	call(entraToken, "GET", "/Users/"+id, "", 200)
	call("not-a-token-0123456789", "GET", "/Users", "", 401)

	// One real lock-conflict error from the server (a trigger signals MySQL's deadlock number once,
	// counted in a non-transactional table that the rollback leaves alone): the PATCH runs twice.
	for _, q := range []string{
		`CREATE TABLE trip (n INT NOT NULL) ENGINE=MyISAM`,
		`INSERT INTO trip VALUES (0)`,
		`CREATE TRIGGER trip_once BEFORE UPDATE ON users FOR EACH ROW BEGIN
			IF (SELECT n FROM trip) = 0 THEN
				UPDATE trip SET n = 1;
				SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found (test)';
			END IF;
		END`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	call(oktaToken, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.givenName","value":"Dee"}]}`, 200)

	// Both events are fanned out; the first fails (the receiver answers 503) and, the clock standing
	// still, is not due again; the PATCH's waits behind it (one subject's events go in order).
	var attempted, all int
	deadline := time.Now().Add(20 * time.Second)
	var m []series
	for {
		if err := db.Get(&attempted, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE endpoint = 'app' AND attempts = 1"); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&all, "SELECT COUNT(*) FROM scim_webhook_deliveries WHERE endpoint = 'app'"); err != nil {
			t.Fatal(err)
		}
		m = scrape(t, addr)
		failed, _ := value(m, "scimbridge_webhook_deliveries_total", "endpoint", "app", "result", "failed")
		unsent, _ := value(m, "scimbridge_webhook_outbox_unsent", "endpoint", "app")
		if all >= 2 && attempted >= 1 && failed == float64(attempted) && unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %d of %d attempted, %v counted failed, %v unsent", attempted, all, failed, unsent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if posts.Load() != int64(attempted) {
		t.Fatalf("%d deliveries attempted, %d posts", attempted, posts.Load())
	}

	wantValue(t, m, 1, "scimbridge_http_requests_total", "operation", "POST /Users", "status", "201", "token", "okta")
	wantValue(t, m, 1, "scimbridge_http_requests_total", "operation", "POST /Users", "status", "409", "token", "okta")
	wantValue(t, m, 2, "scimbridge_http_requests_total", "operation", "GET /Users/{id}", "status", "200", "token", "entra")
	wantValue(t, m, 1, "scimbridge_http_requests_total", "operation", "GET /Users", "status", "401", "token", "none")
	wantValue(t, m, 1, "scimbridge_http_requests_total", "operation", "PATCH /Users/{id}", "status", "200", "token", "okta")
	wantValue(t, m, 2, "scimbridge_http_request_duration_seconds_count", "operation", "GET /Users/{id}", "status", "200", "token", "entra")
	wantValue(t, m, 1, "scimbridge_db_transaction_retries_total")
	wantValue(t, m, 1, "scimbridge_roles_reconcile_duration_seconds_count")
	wantValue(t, m, float64(all), "scimbridge_webhook_backlog", "endpoint", "app")
	wantValue(t, m, 0, "scimbridge_webhook_dead_letters", "endpoint", "app")
	wantValue(t, m, 0, "scimbridge_webhook_outbox_unsent", "endpoint", "app")
	wantValue(t, m, 0, "scimbridge_webhook_oldest_waiting_age_seconds", "endpoint", "app")
	wantValue(t, m, 0, "scimbridge_webhook_endpoint_disabled", "endpoint", "app")
	if open, ok := value(m, "go_sql_max_open_connections", "db_name", "scimbridge"); !ok || open != float64(cfg.Database.MaxOpenConns) {
		t.Errorf("go_sql_max_open_connections = %v (%v), want database.max_open_conns %d", open, ok, cfg.Database.MaxOpenConns)
	}

	// Ages come from the injected clock: 90 seconds on, the oldest waiting delivery is 90 seconds old.
	// Deliveries become due then, so the counters may move; the age is read in the same scrape.
	clock.Advance(90 * time.Second)
	m = scrape(t, addr)
	if age, _ := value(m, "scimbridge_webhook_oldest_waiting_age_seconds", "endpoint", "app"); age < 90 || age >= 91 {
		t.Errorf("oldest waiting age = %v, want 90s", age)
	}
}

// Metrics are off without [metrics] and without a listener.
func TestMetricsOffByDefault(t *testing.T) {
	r := start(t, exampleConfig(t), app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_TOKEN": token}), DSN: exampleDB(t)})
	if r.MetricsAddr() != nil {
		t.Fatalf("metrics served at %v without [metrics]", r.MetricsAddr())
	}
}
