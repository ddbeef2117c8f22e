// Package examples_test runs each example under examples/ as a user would: its schema.sql in a fresh
// MariaDB database, its scimbridge.toml parsed by the real configuration loader, scimbridge built by
// internal/app exactly as `scimbridge serve` builds it, on a loopback port. Tests speak SCIM over HTTP and assert the app's own rows.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

const token = "examples-token-0123456789abcdef"

// example is one running example.
type example struct {
	t    *testing.T
	db   *sqlx.DB // the app's database, for assertions and for setting up the app's own rows
	base string   // the SCIM base URL
	cfg  *config.Config
}

// checked holds the example folders whose schema scimbridge check found fitting in this run.
var checked sync.Map

// start runs examples/<dir>: schema.sql in a new database, scimbridge.toml as the configuration.
func start(t *testing.T, dir string) *example {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(dir, "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "scimbridge.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, filepath.Join(dir, "scimbridge.toml"))
	if err != nil {
		t.Fatal(err)
	}
	_, db := testfix.DB(t, 10, cfg.Database.BookkeepingPrefix, string(schema))
	// scimbridge check, once per example and run: the schema and configuration are the same every time.
	if _, done := checked.LoadOrStore(dir, true); !done {
		rep, err := schemacheck.Check(context.Background(), db, cfg.UsersMapping(), cfg.Database.BookkeepingPrefix)
		if err != nil {
			checked.Delete(dir)
			t.Fatal(err)
		}
		if len(rep.Problems) > 0 {
			checked.Delete(dir)
			t.Fatalf("scimbridge check on %s: %v", dir, rep.Problems)
		}
	}
	// Built as `scimbridge serve` builds it (internal/app): the same store options, role reconcile, agent
	// settings (PublicURL, MaxBodyBytes, timeouts) and webhook worker, on a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = config.Auth{Tokens: config.TokenList{{Name: config.DefaultTokenName, Value: token}}}
	a, err := app.New(context.Background(), cfg, app.Options{DB: db, Listener: ln, Log: testfix.Log(t),
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scimbridge stopped: %v", err)
		}
		_ = a.Close()
	})
	return &example{t: t, db: db, base: "http://" + a.Addr().String() + cfg.Server.BasePath, cfg: cfg}
}

// response is a SCIM response: status and body.
type response struct {
	Status int
	Raw    []byte
	Body   map[string]any
}

func (r *response) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Raw)) }

// do sends a SCIM request; body is marshalled unless it is a string.
func (e *example) do(method, path string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		s, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				e.t.Fatal(err)
			}
			s = string(b)
		}
		rd = strings.NewReader(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := &response{Status: resp.StatusCode, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// must sends a request and fails the test unless the status is want.
func (e *example) must(want int, method, path string, body any) *response {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	return r
}

// rows runs a query on the app's database and returns every row as column -> text ("NULL" for NULL).
func (e *example) rows(query string, args ...any) []map[string]string {
	e.t.Helper()
	rs, err := e.db.Queryx(query, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	defer rs.Close()
	var out []map[string]string
	for rs.Next() {
		m := map[string]any{}
		if err := rs.MapScan(m); err != nil {
			e.t.Fatal(err)
		}
		row := map[string]string{}
		for k, v := range m {
			switch v := v.(type) {
			case nil:
				row[k] = "NULL"
			case []byte:
				row[k] = string(v)
			case time.Time:
				row[k] = v.UTC().Format(time.RFC3339)
			default:
				row[k] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// exec runs a statement on the app's database, as the app itself would.
func (e *example) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// dump is every row of the given tables, to compare a database before and after a failed request.
func (e *example) dump(tables ...string) string {
	e.t.Helper()
	var b strings.Builder
	for _, t := range tables {
		for _, r := range e.rows("SELECT * FROM `" + t + "` ORDER BY 1") {
			j, _ := json.Marshal(r)
			fmt.Fprintf(&b, "%s %s\n", t, j)
		}
	}
	return b.String()
}

// dumpAll is every row of every table of the database: the app's and scimbridge's bookkeeping, but for
// scimbridge's leases, which its background work (the audit and outbox pruning, first run when it
// starts) takes and renews whenever it runs: who does what next, not data a request writes.
func (e *example) dumpAll() string {
	e.t.Helper()
	var tables []string
	if err := e.db.Select(&tables, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"+
		" AND TABLE_NAME <> ? ORDER BY TABLE_NAME", e.cfg.Database.BookkeepingPrefix+"leases"); err != nil {
		e.t.Fatal(err)
	}
	return e.dump(tables...)
}

// dumpDiff lists the rows of dump b that a lacks (+) and of a that b lacks (-), for a failure's message.
func dumpDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	had, has := in(a), in(b)
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if !had[l] {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range strings.Split(a, "\n") {
		if !has[l] {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

// op is one PATCH operation; path "" and value nil are left out.
func op(kind, path string, value any) map[string]any {
	m := map[string]any{"op": kind}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// patchBody is a PatchOp request body with the given operations.
func patchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{patchOp}, "Operations": list}
}

// patch sends a PATCH of the user with the given operations, whatever the status.
func patch(e *example, id string, ops ...map[string]any) *response {
	e.t.Helper()
	return e.do("PATCH", "/Users/"+id, patchBody(ops...))
}

// mustPatch sends a PATCH of the user with the given operations and wants 200.
func mustPatch(e *example, id string, ops ...map[string]any) *response {
	e.t.Helper()
	return e.must(200, "PATCH", "/Users/"+id, patchBody(ops...))
}

// find lists the users matching filter (on one page of up to 100) and returns totalResults and the
// ids returned, sorted (never nil).
func find(e *example, filter string) (int, []string) {
	e.t.Helper()
	r := e.must(200, "GET", "/Users?count=100&filter="+url.QueryEscape(filter), nil)
	total := -1
	if n, ok := r.Body["totalResults"].(float64); ok {
		total = int(n)
	}
	ids := []string{}
	for _, u := range resources(e.t, r) {
		id, _ := u["id"].(string)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return total, ids
}

// at walks a decoded JSON value: at(body, "name", "givenName"). In a list it takes the value of the
// element of that type: at(body, "phoneNumbers", "work").
func at(v any, path ...string) any {
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			v = nil
			for _, x := range c {
				if el, _ := x.(map[string]any); el["type"] == k {
					v = el["value"]
					break
				}
			}
		default:
			return nil
		}
	}
	return v
}

// wantSCIMError fails unless r is a SCIM error response of an error status (4xx or 5xx).
func wantSCIMError(t *testing.T, r *response) {
	t.Helper()
	if r.Status < 400 {
		t.Fatalf("got %s, want a SCIM error", r)
	}
	schemas, _ := r.Body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || r.Body["status"] != strconv.Itoa(r.Status) {
		t.Fatalf("got %s, want a SCIM error body with status %q", r, strconv.Itoa(r.Status))
	}
}

// resources returns the Resources of a list response.
func resources(t *testing.T, r *response) []map[string]any {
	t.Helper()
	list, _ := r.Body["Resources"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

const (
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
)
