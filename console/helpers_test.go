package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/webhook"
)

const (
	oktaToken    = "okta-scim-token-0123456789abcdef"
	consoleToken = "console-admin-token-0123456789abcdef"
)

// env is scimbridge served by internal/app as `serve` runs it (SCIM API, webhook worker, console) on
// loopback, over the legacy example app's database on MariaDB, with a webhook receiver that can be
// made to fail.
type env struct {
	app     *app.App
	scim    string // SCIM base URL
	console string // the console's URL
	db      *sqlx.DB
	hook    *httptest.Server
	failing atomic.Bool // the receiver answers 500
	hits    atomic.Int64
	cfg     *config.Config
	opts    app.Options
}

// setup tweaks an env before it starts: more TOML, and app options.
type setup struct {
	toml    string // appended to the configuration
	console string // replaces the [console] section's body after listen and public_url
	public  string // console.public_url; default the listener's http URL
	opts    func(*app.Options)
	getenv  map[string]string
	shadow  bool // [server] mode = "shadow"
}

func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	e := newEnvConfig(t, s)
	a, err := app.New(context.Background(), e.cfg, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	e.scim = "http://" + a.Addr().String() + e.cfg.Server.BasePath
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err := errors.Join(err, a.Close()); err != nil {
				t.Error(err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
	})
	return e
}

// newEnvConfig prepares an env (receiver, database, configuration, listeners) without starting it.
func newEnvConfig(t *testing.T, s setup) *env {
	t.Helper()
	e := &env{}
	e.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if e.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(e.hook.Close)
	b, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.console = "http://" + cln.Addr().String()
	public := s.public
	if public == "" {
		public = e.console
	}
	body := s.console
	if body == "" {
		body = `token_env = "CONSOLE_TOKEN"`
	}
	src := string(b) + `
[[auth.tokens]]
name = "okta"
env = "OKTA_TOKEN"

[[webhooks]]
name = "app"
url = "` + e.hook.URL + `"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
max_attempts = 1

[console]
listen = "` + cln.Addr().String() + `"
public_url = "` + public + `"
` + body + "\n" + s.toml
	cfg, err := config.Parse([]byte(src), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	if s.shadow {
		cfg.Server.Mode = config.ModeShadow
	}
	schema, err := os.ReadFile("../examples/legacy-app/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	dsn := testdb.New(t, string(schema))
	e.db = testfix.Open(t, dsn, 2)
	vars := map[string]string{"OKTA_TOKEN": oktaToken, "SCIMBRIDGE_TOKEN": "default-scim-token-0123456789", "CONSOLE_TOKEN": consoleToken,
		"SCIMBRIDGE_DSN": dsn}
	for k, v := range s.getenv {
		vars[k] = v
	}
	o := app.Options{
		Getenv: func(k string) string { return vars[k] }, DSN: dsn, Listener: ln, ConsoleListener: cln, Log: testfix.Log(t),
		TuneWebhooks: func(o webhook.Options) webhook.Options {
			o.PollInterval, o.ShortRetries = 10*time.Millisecond, -1
			return o
		},
	}
	if s.opts != nil {
		s.opts(&o)
	}
	e.opts = o
	return e
}

// do sends a SCIM request with the okta token and returns the status and the decoded body.
func (e *env) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.scim+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+oktaToken)
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

// mustDo is do expecting a status; it returns the body.
func (e *env) mustDo(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	code, doc := e.do(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d %v, want %d", method, path, code, doc, want)
	}
	return doc
}

// browser is an HTTP client with a cookie jar, as a browser is; it sends Origin on every POST as
// browsers do.
type browser struct {
	c      *http.Client
	origin string
}

func (e *env) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}, origin: e.console}
}

func (b *browser) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (b *browser) post(t *testing.T, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// signIn signs the browser in with the console token and returns the session's CSRF token.
func (e *env) signIn(t *testing.T, b *browser) string {
	t.Helper()
	resp, page := b.post(t, e.console+"/login", url.Values{"token": {consoleToken}, "return_to": {"/"}}, e.console)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Overview</h1>") {
		t.Fatalf("sign-in: %s at %s\n%s", resp.Status, resp.Request.URL, page)
	}
	return csrfOf(t, page)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// deadDelivery makes the receiver fail, creates a user, and waits until the user.created delivery is
// dead (max_attempts = 1); it returns the user's id and the delivery's id.
func (e *env) deadDelivery(t *testing.T, userName string) (string, int64) {
	t.Helper()
	e.failing.Store(true)
	u := e.mustDo(t, "POST", "/Users", `{"userName":"`+userName+`","name":{"givenName":"Dee","familyName":"Dead"}}`, 201)
	id := u["id"].(string)
	var delivery int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := e.db.Get(&delivery, "SELECT id FROM scim_webhook_deliveries WHERE subject = ? AND status = 'dead'", "user:"+id)
		if err == nil {
			return id, delivery
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery about %s never became dead: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveryStatus reads a delivery's status.
func (e *env) deliveryStatus(t *testing.T, id int64) string {
	t.Helper()
	var s string
	if err := e.db.Get(&s, "SELECT status FROM scim_webhook_deliveries WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitDelivered waits until a delivery is delivered.
func (e *env) waitDelivered(t *testing.T, id int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.deliveryStatus(t, id) != webhook.StatusDelivered {
		if time.Now().After(deadline) {
			t.Fatalf("delivery %d is %s, never delivered", id, e.deliveryStatus(t, id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
