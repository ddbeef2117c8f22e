package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
)

// A live serve goes live first when a shadow state is pending, then serves the users under the ids the
// IdP knows from shadow mode.
func TestLiveServeGoesLiveFirst(t *testing.T) {
	dsn, db := shadowRun(t)
	var carol struct {
		ID      string    `db:"id"`
		Version int64     `db:"version"`
		Created time.Time `db:"created"`
	}
	if err := db.Get(&carol, "SELECT id, version, created FROM scim_sh_users WHERE user_name = 'carol@example.com'"); err != nil {
		t.Fatal(err)
	}
	alice := carol
	if err := db.Get(&alice, "SELECT id, version, created FROM scim_sh_users WHERE user_name = 'alice@example.com'"); err != nil {
		t.Fatal(err)
	}
	r := start(t, exampleConfig(t), goLiveOptions(t, dsn))
	code, doc := r.do(t, http.MethodGet, "/Users/"+carol.ID, "")
	if code != http.StatusOK || doc["userName"] != "carol@example.com" {
		t.Fatalf("GET carol after go-live at start: %d %v", code, doc)
	}
	// The IdP sees the same history: created time and version (its ETag) are shadow mode's (alice was
	// created, then deactivated).
	_, doc = r.do(t, http.MethodGet, "/Users/"+alice.ID, "")
	meta, _ := doc["meta"].(map[string]any)
	if meta["version"] != fmt.Sprintf(`W/"%d"`, alice.Version) || meta["created"] != alice.Created.UTC().Format(time.RFC3339Nano) || alice.Version < 2 {
		t.Fatalf("alice's meta after go-live %v; in shadow mode version %d, created %s", meta, alice.Version, alice.Created)
	}
	var status string
	if err := db.Get(&status, "SELECT status FROM scim_golive"); err != nil || status != "live" {
		t.Fatalf("go-live state %q (%v), want live", status, err)
	}
	// Shadow mode cannot start again on a database that went live.
	if _, err := app.New(context.Background(), shadowConfig(t), shadowOptions(t, dsn)); err == nil || !strings.Contains(err.Error(), "went live") {
		t.Fatalf("shadow serve after go-live: %v", err)
	}
}

// The plan is computed against the app's tables as they are now: a row the app got since shadow mode
// started is adopted rather than duplicated, and a write the app refuses (here a trigger) is a plan
// error. go-live stops at it with what came before committed, and resumes once it is fixed.
func TestPlanShowsConflictsAndGoLiveStopsAtThem(t *testing.T) {
	dsn, db := shadowRun(t)
	cfg := exampleConfig(t)
	ctx := context.Background()
	if _, err := db.Exec(`INSERT INTO users (email, email_lower, status, password_hash, source, created_at)
		VALUES ('carol@example.com', 'carol@example.com', 1, 'x', 'admin', NOW())`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TRIGGER no_dave BEFORE INSERT ON users FOR EACH ROW
		IF NEW.email = 'dave@example.com' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'dave is not allowed'; END IF`); err != nil {
		t.Fatal(err)
	}
	plan, err := app.PlanGoLive(ctx, db, cfg, goLiveOptions(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]app.PlanUser{}
	for _, u := range plan.Users {
		byName[u.UserName] = u
	}
	if c := byName["carol@example.com"]; !slices.Equal(c.Actions, []string{"adopt"}) || !slices.Equal(c.Grants, []string{"admin"}) {
		t.Fatalf("carol, whose row the app made since: %+v, want adopted and granted admin", c)
	}
	if d := byName["dave@example.com"]; d.Error == "" || plan.Summary.Errors != 1 || plan.Summary.Create != 1 {
		t.Fatalf("dave, whose insert the app refuses: %+v; summary %+v", d, plan.Summary)
	}
	err = app.GoLive(ctx, db, cfg, goLiveOptions(t, dsn), 100, nil)
	if err == nil || !strings.Contains(err.Error(), "dave@example.com") {
		t.Fatalf("go-live past a refused write: %v", err)
	}
	// Users go in id order: those before dave's are applied and committed.
	var applied, before int
	_ = db.Get(&before, "SELECT COUNT(*) FROM scim_sh_users WHERE id < (SELECT id FROM scim_sh_users WHERE user_name = 'dave@example.com')")
	if err := db.Get(&applied, "SELECT COUNT(*) FROM scim_users"); err != nil || applied != before {
		t.Fatalf("go-live stopped at dave kept %d users, want the %d before him (%v)", applied, before, err)
	}
	var status string
	if err := db.Get(&status, "SELECT status FROM scim_golive"); err != nil || status != "applying" {
		t.Fatalf("state after the stop: %q (%v)", status, err)
	}
	if _, err := db.Exec("DROP TRIGGER no_dave"); err != nil {
		t.Fatal(err)
	}
	if err := app.GoLive(ctx, db, cfg, goLiveOptions(t, dsn), 100, nil); err != nil {
		t.Fatal(err)
	}
	var rows []string
	_ = db.Select(&rows, "SELECT CONCAT(email, ':', source) FROM users WHERE email IN ('carol@example.com', 'dave@example.com') ORDER BY email")
	if !slices.Equal(rows, []string{"carol@example.com:admin", "dave@example.com:scim"}) {
		t.Fatalf("after go-live resumed: %v", rows)
	}
}

// A live serve that goes live first does so after registering its webhook endpoints, so that the app
// receives the events of go-live's writes (an endpoint gets the events from its registration on).
func TestGoLiveEventsReachTheWebhooks(t *testing.T) {
	dsn, _ := shadowRun(t)
	var mu sync.Mutex
	created := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type     string `json:"type"`
			Actor    string `json:"actor"`
			Resource struct {
				UserName string `json:"userName"`
			} `json:"resource"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		if ev.Type == "user.created" && ev.Actor == "golive" {
			created[ev.Resource.UserName] = true
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(append(b, fmt.Sprintf("\n[[webhooks]]\nname = \"app\"\nurl = %q\nsecret_env = \"HOOK_SECRET\"\n", recv.URL)...), "config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := goLiveOptions(t, dsn)
	o.Now = nil // the worker's due times need the real clock
	o.Getenv = env(map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token, "HOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32))})
	start(t, cfg, o)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(created)
		mu.Unlock()
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app received user.created for %d users after go-live at start, want 5: %v", n, created)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
