package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// breakerApp serves config.example.toml with a [breaker] section on a fresh legacy-app database, with
// metrics and a clock the test moves.
type breakerApp struct {
	*running
	db      *sql.DB
	clock   *testfix.Clock
	metrics string
	t       bookkeeping.Tables
}

func startBreaker(t *testing.T, section string) *breakerApp {
	t.Helper()
	cfg, err := config.Parse([]byte(exampleText(t)+"\n[breaker]\n"+section), "breaker.toml")
	if err != nil {
		t.Fatal(err)
	}
	dsn := exampleDB(t)
	clock := testfix.NewClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}), Now: clock.Now,
		MetricsListener: mln})
	return &breakerApp{running: r, db: r.DB().DB, clock: clock, metrics: mln.Addr().String(), t: bookkeeping.NewTables("", bookkeeping.MySQL)}
}

// exampleText is config.example.toml as written, for a test to add sections to.
func exampleText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// send is one SCIM request; it returns the status, the Retry-After header and the body.
func (b *breakerApp) send(t *testing.T, method, path, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	return resp.StatusCode, resp.Header.Get("Retry-After"), doc
}

func (b *breakerApp) create(t *testing.T, userName string) string {
	t.Helper()
	code, _, doc := b.send(t, http.MethodPost, "/Users", fmt.Sprintf(`{"userName":%q,"active":true}`, userName))
	if code != http.StatusCreated {
		t.Fatalf("POST %s: %d %v", userName, code, doc)
	}
	return doc["id"].(string)
}

// status is the app's own status column of the user's row (1 active, 3 deactivated by scimbridge);
// -1 when the row is gone.
func (b *breakerApp) status(t *testing.T, userName string) int {
	t.Helper()
	var s int
	err := b.db.QueryRow("SELECT status FROM users WHERE email = ?", userName).Scan(&s)
	if err == sql.ErrNoRows {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *breakerApp) events(t *testing.T, typ string) []map[string]any {
	t.Helper()
	rows, err := b.db.Query("SELECT payload FROM scim_outbox WHERE type = ? ORDER BY seq", typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw []byte
		var ev map[string]any
		if err := rows.Scan(&raw); err != nil || json.Unmarshal(raw, &ev) != nil {
			t.Fatal(err, string(raw))
		}
		out = append(out, ev)
	}
	return out
}

const deactivate = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`

// With max_deactivations = 2, the first two deactivations go through; the third (a PUT active=false)
// trips the breaker and is held with 503 and Retry-After, its row untouched; a DELETE is held too,
// while creates and reactivations are not; the trip is one breaker.tripped event and counted in the
// metrics. After release the held ones go through when retried, without tripping it again.
func TestBreakerHoldsTheDeactivationPastTheThresholdUntilReleased(t *testing.T) {
	b := startBreaker(t, "max_deactivations = 2\nwindow = \"1h\"\nretry_after = \"90s\"\n")
	ids := map[string]string{}
	for _, u := range []string{"u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com", "u5@example.com"} {
		ids[u] = b.create(t, u)
	}
	for _, u := range []string{"u1@example.com", "u2@example.com"} {
		if code, _, doc := b.send(t, http.MethodPatch, "/Users/"+ids[u], deactivate); code != http.StatusOK || doc["active"] != false {
			t.Fatalf("deactivating %s: %d %v", u, code, doc)
		}
		b.clock.Advance(time.Minute)
	}
	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u3@example.com","active":false}`
	code, retry, doc := b.send(t, http.MethodPut, "/Users/"+ids["u3@example.com"], put)
	if code != http.StatusServiceUnavailable || retry != "90" || !strings.Contains(fmt.Sprint(doc["detail"]), "circuit breaker") {
		t.Fatalf("third deactivation: %d Retry-After %q %v; want 503, 90", code, retry, doc)
	}
	if s := b.status(t, "u3@example.com"); s != 1 {
		t.Fatalf("the held deactivation wrote the row: status %d", s)
	}
	b.clock.Advance(time.Second)
	if code, retry, _ := b.send(t, http.MethodDelete, "/Users/"+ids["u4@example.com"], ""); code != http.StatusServiceUnavailable || retry != "90" {
		t.Fatalf("DELETE while tripped: %d %q", code, retry)
	}
	if s := b.status(t, "u4@example.com"); s != 1 {
		t.Fatalf("the held DELETE wrote the row: status %d", s)
	}
	// The held PUT retried by the IdP is held again, counted as a second attempt.
	if code, _, _ := b.send(t, http.MethodPut, "/Users/"+ids["u3@example.com"], put); code != http.StatusServiceUnavailable {
		t.Fatalf("retried PUT: %d", code)
	}
	// Creates, reactivations and other changes are never held.
	b.create(t, "u6@example.com")
	react := strings.Replace(deactivate, "false", "true", 1)
	if code, _, doc := b.send(t, http.MethodPatch, "/Users/"+ids["u1@example.com"], react); code != http.StatusOK || doc["active"] != true {
		t.Fatalf("reactivation while tripped: %d %v", code, doc)
	}
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+ids["u5@example.com"],
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Boss"}]}`); code != http.StatusOK {
		t.Fatalf("an update while tripped: %d", code)
	}

	trips := b.events(t, breaker.EventTripped)
	if len(trips) != 1 {
		t.Fatalf("breaker.tripped events: %v", trips)
	}
	data := trips[0]["breaker"].(map[string]any)
	if data["deactivations"] != float64(3) || data["user"].(map[string]any)["userName"] != "u3@example.com" ||
		!strings.Contains(data["reason"].(string), "max_deactivations = 2") {
		t.Errorf("breaker.tripped: %v", trips[0])
	}
	st, err := breaker.ReadStatus(context.Background(), b.DB(), b.t, b.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != breaker.StateTripped || len(st.Held) != 2 || st.Held[0].UserName != "u3@example.com" || st.Held[0].Attempts != 2 ||
		st.Held[1].Operation != "delete" || st.InWindow != 2 {
		t.Fatalf("status: %+v", st)
	}
	m := scrape(t, b.metrics)
	wantValue(t, m, 1, "scimbridge_breaker_events_total", "event", "tripped")
	wantValue(t, m, 3, "scimbridge_breaker_events_total", "event", "held")

	run := &bookkeeping.Runner{DB: b.DB(), Tables: b.t, Now: b.clock.Now}
	if n, err := breaker.Decide(context.Background(), run, uuid.NewString, breaker.DecisionRelease, "ops"); err != nil || n != 2 {
		t.Fatalf("release: %d %v", n, err)
	}
	if code, _, doc := b.send(t, http.MethodPut, "/Users/"+ids["u3@example.com"], put); code != http.StatusOK || doc["active"] != false {
		t.Fatalf("released PUT retried: %d %v", code, doc)
	}
	if code, _, _ := b.send(t, http.MethodDelete, "/Users/"+ids["u4@example.com"], ""); code != http.StatusNoContent {
		t.Fatalf("released DELETE retried: %d", code)
	}
	if b.status(t, "u3@example.com") != 3 || b.status(t, "u4@example.com") != 3 {
		t.Fatalf("after release: statuses %d %d, want 3 3", b.status(t, "u3@example.com"), b.status(t, "u4@example.com"))
	}
	// Released retries were not counted: two more deactivations fit in the window again.
	if st, _ = breaker.ReadStatus(context.Background(), b.DB(), b.t, b.clock.Now(), time.Hour); st.State != breaker.StateClosed ||
		st.InWindow != 0 || len(st.Held) != 0 || st.ChangedBy != "ops" {
		t.Fatalf("status after the released retries: %+v", st)
	}
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+ids["u5@example.com"], deactivate); code != http.StatusOK {
		t.Fatalf("a deactivation after release: %d", code)
	}
	if got := b.events(t, breaker.EventReleased); len(got) != 1 || got[0]["breaker"].(map[string]any)["by"] != "ops" {
		t.Errorf("breaker.released events: %v", got)
	}
	wantValue(t, scrape(t, b.metrics), 2, "scimbridge_breaker_events_total", "event", "released")
}

// Rejected held deactivations are answered 409 when retried, and change nothing.
func TestBreakerRejectAnswers409(t *testing.T) {
	b := startBreaker(t, "max_deactivations = 1\n")
	a, c := b.create(t, "a@example.com"), b.create(t, "c@example.com")
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+a, deactivate); code != http.StatusOK {
		t.Fatalf("first: %d", code)
	}
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+c, deactivate); code != http.StatusServiceUnavailable {
		t.Fatalf("second: %d", code)
	}
	run := &bookkeeping.Runner{DB: b.DB(), Tables: b.t, Now: b.clock.Now}
	if n, err := breaker.Decide(context.Background(), run, uuid.NewString, breaker.DecisionReject, "ops"); err != nil || n != 1 {
		t.Fatalf("reject: %d %v", n, err)
	}
	code, _, doc := b.send(t, http.MethodPatch, "/Users/"+c, deactivate)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(doc["detail"]), "rejected") {
		t.Fatalf("rejected retry: %d %v", code, doc)
	}
	if s := b.status(t, "c@example.com"); s != 1 {
		t.Fatalf("rejected deactivation wrote: status %d", s)
	}
	wantValue(t, scrape(t, b.metrics), 1, "scimbridge_breaker_events_total", "event", "rejected")
}

// With auto_release, a tripped breaker closes once the window has passed since the trip, and the held
// deactivation goes through when retried; max_percent counts a share of the active users.
func TestBreakerAutoReleaseAndPercent(t *testing.T) {
	b := startBreaker(t, "max_percent = 50\nwindow = \"10m\"\nauto_release = true\n")
	var ids []string
	for i := range 4 {
		ids = append(ids, b.create(t, fmt.Sprintf("p%d@example.com", i)))
	}
	for i := range 2 { // 2 of 4 is 50%: not more than max_percent
		if code, _, _ := b.send(t, http.MethodDelete, "/Users/"+ids[i], ""); code != http.StatusNoContent {
			t.Fatalf("delete %d: %d", i, code)
		}
	}
	if code, retry, _ := b.send(t, http.MethodDelete, "/Users/"+ids[2], ""); code != http.StatusServiceUnavailable || retry != "300" {
		t.Fatalf("third of four: %d %q", code, retry)
	}
	b.clock.Advance(9 * time.Minute)
	if code, _, _ := b.send(t, http.MethodDelete, "/Users/"+ids[2], ""); code != http.StatusServiceUnavailable {
		t.Fatalf("within the window: %d", code)
	}
	b.clock.Advance(time.Minute)
	if code, _, _ := b.send(t, http.MethodDelete, "/Users/"+ids[2], ""); code != http.StatusNoContent {
		t.Fatalf("after the window: %d", code)
	}
	if s := b.status(t, "p2@example.com"); s != 3 {
		t.Fatalf("p2: status %d", s)
	}
	if got := b.events(t, breaker.EventReleased); len(got) != 1 || got[0]["breaker"].(map[string]any)["by"] != "auto_release" {
		t.Errorf("breaker.released: %v", got)
	}
}

// on_trip = "alert" tells (one event) but holds nothing.
func TestBreakerAlertOnly(t *testing.T) {
	b := startBreaker(t, "max_deactivations = 1\non_trip = \"alert\"\n")
	for i := range 3 {
		id := b.create(t, fmt.Sprintf("al%d@example.com", i))
		if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+id, deactivate); code != http.StatusOK {
			t.Fatalf("deactivation %d: %d", i, code)
		}
	}
	if got := b.events(t, breaker.EventTripped); len(got) != 1 || got[0]["breaker"].(map[string]any)["holds"] != false {
		t.Fatalf("breaker.tripped: %v", got)
	}
}
