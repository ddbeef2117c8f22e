package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

const token = "app-test-token-0123456789"

// exampleConfig is config.example.toml, the configuration the conformance run and the demo use.
func exampleConfig(t *testing.T) *config.Config {
	t.Helper()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, "config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func exampleDB(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/legacy-app/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	return testdb.New(t, string(b))
}

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

// running is an App served by Run until the test ends.
type running struct {
	*app.App
	base string // http://host:port + base path
	stop func() error
}

func start(t *testing.T, cfg *config.Config, o app.Options) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listener = ln
	a, err := app.New(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	r := &running{App: a, base: "http://" + a.Addr().String() + cfg.Server.BasePath}
	stopped := false
	r.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return errors.Join(err, a.Close())
		case <-time.After(20 * time.Second):
			return errors.New("Run did not return")
		}
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func (r *running) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
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
	return resp.StatusCode, doc
}

// Every [server] setting serve honours reaches the SCIM API: the public URL in meta.location and the body
// limit (the examples' own harness once dropped both).
func TestServerSettingsReachTheAPI(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.Server.PublicURL = "https://scim.example.com"
	cfg.Server.MaxBodyBytes = 400
	r := start(t, cfg, app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_DSN": exampleDB(t), "SCIMBRIDGE_TOKEN": token})})

	code, doc := r.do(t, http.MethodPost, "/Users", `{"userName":"carol@example.com","name":{"givenName":"Carol"}}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", code, doc)
	}
	meta, _ := doc["meta"].(map[string]any)
	if loc, _ := meta["location"].(string); !strings.HasPrefix(loc, "https://scim.example.com/scim/v2/Users/") {
		t.Errorf("meta.location %q does not start with the public URL", loc)
	}
	big := `{"userName":"dora@example.com","displayName":"` + strings.Repeat("x", 500) + `"}`
	if code, doc := r.do(t, http.MethodPost, "/Users", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of %d bytes with max_body_bytes = 400: %d %v", len(big), code, doc)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	if _, err := http.Get(r.base + "/ServiceProviderConfig"); err == nil {
		t.Error("SCIM still answers after Run returned")
	}
}

// New reconciles roles before serving: a role removed by hand while scimbridge was down comes back at
// the next start, as the group's rule says.
func TestNewReconcilesRoles(t *testing.T) {
	dsn := exampleDB(t)
	vars := env(map[string]string{"SCIMBRIDGE_TOKEN": token})
	db, err := mysql.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := start(t, exampleConfig(t), app.Options{Getenv: vars, DB: db})
	code, user := r.do(t, http.MethodPost, "/Users", `{"userName":"carol@example.com","name":{"givenName":"Carol"}}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", code, user)
	}
	if code, doc := r.do(t, http.MethodPost, "/Groups", `{"displayName":"Admins","members":[{"value":"`+user["id"].(string)+`"}]}`); code != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %v", code, doc)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	roles := func() []string {
		var names []string
		if err := db.Select(&names, `SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
			JOIN users u ON u.id = ur.user_id WHERE u.email = 'carol@example.com' ORDER BY r.name`); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := roles(); strings.Join(got, ",") != "admin" {
		t.Fatalf("roles after joining Admins: %v", got)
	}
	// The App left the handle it was given open: the test still uses it.
	if _, err := db.Exec(`DELETE ur FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE u.email = 'carol@example.com'`); err != nil {
		t.Fatal(err)
	}
	var logs, term bytes.Buffer
	a, err := app.New(context.Background(), exampleConfig(t), app.Options{Getenv: vars, DB: db, Log: newLog(&logs),
		Listener: mustListen(t), Terminal: &term})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := roles(); strings.Join(got, ",") != "admin" {
		t.Errorf("roles after New: %v, want the rule's admin back", got)
	}
	if !strings.Contains(logs.String(), `msg="roles reconciled" users=1 changed=1`) {
		t.Errorf("log lacks the reconcile:\n%s", logs.String())
	}
	if !strings.Contains(term.String(), "roles reconcile: 1/1 (100%)") {
		t.Errorf("no progress line on the terminal: %q", term.String())
	}
}

// Replicas starting together reconcile once: while another replica holds the reconcile's lease, New
// serves without reconciling; once the lease has ended, the next start reconciles.
func TestNewLeavesTheReconcileToTheReplicaHoldingItsLease(t *testing.T) {
	dsn := exampleDB(t)
	vars := env(map[string]string{"SCIMBRIDGE_TOKEN": token})
	db, err := mysql.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := start(t, exampleConfig(t), app.Options{Getenv: vars, DB: db})
	code, user := r.do(t, http.MethodPost, "/Users", `{"userName":"dave@example.com","name":{"givenName":"Dave"}}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", code, user)
	}
	if code, doc := r.do(t, http.MethodPost, "/Groups", `{"displayName":"Admins","members":[{"value":"`+user["id"].(string)+`"}]}`); code != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %v", code, doc)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	removeRoles := func() {
		if _, err := db.Exec(`DELETE ur FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE u.email = 'dave@example.com'`); err != nil {
			t.Fatal(err)
		}
	}
	roles := func() int {
		var n int
		if err := db.Get(&n, `SELECT COUNT(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE u.email = 'dave@example.com'`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	removeRoles()
	other := bookkeeping.Leases{DB: db, Tables: bookkeeping.NewTables("", bookkeeping.MySQL), Owner: "another-replica"}
	if ok, err := other.Hold(context.Background(), "roles-reconcile", time.Hour); err != nil || !ok {
		t.Fatalf("Hold: %v %v", ok, err)
	}
	var logs bytes.Buffer
	a, err := app.New(context.Background(), exampleConfig(t), app.Options{Getenv: vars, DB: db, Log: newLog(&logs), Listener: mustListen(t)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := roles(); n != 0 || !strings.Contains(logs.String(), "another replica is doing it") {
		t.Fatalf("with the lease held elsewhere: %d roles (want the reconcile left to it), log:\n%s", n, logs.String())
	}
	if err := other.Release(context.Background(), "roles-reconcile"); err != nil {
		t.Fatal(err)
	}
	a, err = app.New(context.Background(), exampleConfig(t), app.Options{Getenv: vars, DB: db, Listener: mustListen(t)})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := roles(); n != 1 {
		t.Fatalf("after the lease ended: %d roles, want admin back", n)
	}
}

// A bad secret fails before anything connects; an App that opened its database closes it; one that was
// given a handle leaves it open.
func TestNewFailsEarlyAndClosesWhatItOpened(t *testing.T) {
	_, err := app.New(context.Background(), exampleConfig(t), app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_TOKEN": "short"}),
		DSN: "nobody@tcp(127.0.0.1:1)/none"})
	if err == nil || !strings.Contains(err.Error(), "auth:") {
		t.Fatalf("New with a short token: %v", err)
	}
	dsn := exampleDB(t)
	a, err := app.New(context.Background(), exampleConfig(t), app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_TOKEN": token}),
		DSN: dsn, Listener: mustListen(t)})
	if err != nil {
		t.Fatal(err)
	}
	db := a.DB()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err == nil {
		t.Error("the pool the App opened is still open after Close")
	}
	given, err := mysql.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer given.Close()
	if a, err = app.New(context.Background(), exampleConfig(t), app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_TOKEN": token}),
		DB: given, Listener: mustListen(t)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := given.Ping(); err != nil {
		t.Errorf("the pool given to the App was closed: %v", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func newLog(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
