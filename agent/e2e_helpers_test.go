package agent_test

// End-to-end harness: a real MariaDB database per test (internal/testdb), the app's legacy `users` table,
// scimbridge's bookkeeping migrated beside it, the mysql store and the agent served by a real loopback
// HTTP server. Assertions read both the wire and the app's own rows.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// e2eColumns are the columns the e2e app's users table has beyond internal/legacyapp's, and
// e2eColumnMappings what maps onto them.
var (
	e2eColumns        = []string{"job_title VARCHAR(100) NULL", "employee_no VARCHAR(50) NULL"}
	e2eColumnMappings = []string{`job_title = "title"`,
		`employee_no = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"`}
)

// e2eAppSchema is the app's legacy users table (internal/legacyapp) with e2eColumns.
var e2eAppSchema = legacyapp.UsersTable(e2eColumns...)

// e2eMapping is the [users] mapping onto e2eAppSchema, with extra top-level keys (on_existing = "conflict").
func e2eMapping(t *testing.T, extraTOML string) *mapping.Users {
	t.Helper()
	return testfix.Users(t, legacyapp.UsersMapping(extraTOML, e2eColumnMappings...))
}

const (
	e2eToken      = "e2e-token-0123456789abcdef"
	e2eEnterprise = scim.EnterpriseSchema
	e2ePatchURN   = scim.PatchOpURN
)

type e2eOptions struct {
	extraTOML string        // extra top-level mapping keys
	maxBody   int64         // agent MaxBodyBytes; 0 = default
	tokens    []string      // accepted tokens; nil = {e2eToken}
	dbAddr    string        // when set, the store reaches MariaDB through this host:port (a proxy)
	timeout   time.Duration // agent RequestTimeout; 0 = default
	// Groups and roles (e2e_groups_test.go, e2e_roles_test.go).
	appSchema     string // replaces e2eAppSchema when set (it must keep the columns e2eMappingTOML maps)
	groups        bool   // serve /Groups from the same store
	rolesTOML     string // a [roles] section's body (mapping.RolesConfig in TOML); implies groups
	patchResponse string // agent PatchResponse; "" = default
	// Validation at the door and retried creates (e2e_door_test.go, e2e_retry_test.go).
	now    func() time.Time    // the store's and the agent's clock; nil = time.Now
	limits mysql.DocLimits     // the store's document limits; zero = defaults
	agent  func(*agent.Config) // adjusts the agent's configuration
}

type e2eEnv struct {
	t     *testing.T
	http  *httptest.Server
	base  string   // http://127.0.0.1:port/scim/v2
	db    *sqlx.DB // direct connection to the test database, for assertions and fault injection
	dsn   string   // the test database's DSN
	token string
	store *mysql.Store // the store behind the server (ReconcileRoles, UserRoles)
}

func newE2E(t *testing.T, o e2eOptions) *e2eEnv {
	t.Helper()
	m := e2eMapping(t, o.extraTOML)
	schema := e2eAppSchema
	if o.appSchema != "" {
		schema = o.appSchema
	}
	roles := testfix.Roles(t, o.rolesTOML)
	dsn, db := testfix.DB(t, 4, "", schema)
	storeDSN := dsn
	if o.dbAddr != "" {
		c, err := mysqldriver.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		c.Addr = o.dbAddr
		c.Timeout = 2 * time.Second
		storeDSN = c.FormatDSN()
	}
	tokens := o.tokens
	if tokens == nil {
		tokens = []string{e2eToken}
	}
	e := &e2eEnv{t: t, db: db, dsn: dsn, token: tokens[0]}
	e.serve(mysql.New(testfix.Open(t, storeDSN, 10), m, mysql.Options{Log: testfix.Log(t), Roles: roles, Now: o.now, Limits: o.limits}), m, o, tokens)
	return e
}

// serve puts the agent, with store behind it, on a new loopback server: e.http, e.base and e.store.
func (e *e2eEnv) serve(store *mysql.Store, m *mapping.Users, o e2eOptions, tokens []string) {
	acfg := agent.Config{
		BasePath:       "/scim/v2",
		MaxBodyBytes:   o.maxBody,
		RequestTimeout: o.timeout,
		Tokens:         tokens,
		Users:          store,
		UserType:       m.Type,
		Log:            testfix.Log(e.t),
		PatchResponse:  o.patchResponse,
	}
	if o.groups || o.rolesTOML != "" {
		acfg.Groups = store
	}
	acfg.Now = o.now
	if o.agent != nil {
		o.agent(&acfg)
	}
	hs := httptest.NewServer(agent.New(acfg))
	e.t.Cleanup(hs.Close)
	e.http, e.base, e.store = hs, hs.URL+"/scim/v2", store
}

type e2eResp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any // nil when the body is not a JSON object
}

func (r *e2eResp) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Raw)) }

// do sends a request to base+path (or to an absolute URL) with the bearer token. body is sent as is
// when it is a string, marshalled otherwise. headers are name/value pairs; "Authorization", "" drops
// the token.
func (e *e2eEnv) do(method, path string, body any, headers ...string) *e2eResp {
	e.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = e.base + path
	}
	var rd io.Reader
	if body != nil {
		b, ok := body.(string)
		if !ok {
			raw, err := json.Marshal(body)
			if err != nil {
				e.t.Fatal(err)
			}
			b = string(raw)
		}
		rd = strings.NewReader(b)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	out := &e2eResp{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		_ = json.Unmarshal(raw, &out.Body)
	}
	return out
}

// root is the server's URL for paths outside the SCIM base (/healthz).
func (e *e2eEnv) root(path string) string { return e.http.URL + path }

// want fails the test unless the response has the status.
func (e *e2eEnv) want(r *e2eResp, status int, what string) *e2eResp {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("%s: got %s, want status %d", what, r, status)
	}
	return r
}

// e2eWantError checks a SCIM error response (RFC 7644 3.12): status, body schema, status string,
// scimType when given, and the SCIM media type.
func e2eWantError(t *testing.T, r *e2eResp, status int, scimType string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("got %s, want status %d", r, status)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("error Content-Type = %q, want application/scim+json", ct)
	}
	if r.Body == nil {
		t.Errorf("error body is not a JSON object: %q", r.Raw)
		return
	}
	if s, _ := r.Body["schemas"].([]any); len(s) != 1 || s[0] != scim.ErrorURN {
		t.Errorf("error schemas = %v, want [%s]", r.Body["schemas"], scim.ErrorURN)
	}
	if r.Body["status"] != strconv.Itoa(status) {
		t.Errorf("error status = %v, want %q", r.Body["status"], strconv.Itoa(status))
	}
	if scimType != "" && r.Body["scimType"] != scimType {
		t.Errorf("scimType = %v, want %q (body %s)", r.Body["scimType"], scimType, r.Raw)
	}
	if d, _ := r.Body["detail"].(string); d == "" {
		t.Errorf("error has no detail: %s", r.Raw)
	}
}

// createUser POSTs a user and requires 201.
func (e *e2eEnv) createUser(body string) map[string]any {
	e.t.Helper()
	return e.want(e.do("POST", "/Users", body), 201, "POST /Users").Body
}

func (e *e2eEnv) getUser(id string) map[string]any {
	e.t.Helper()
	return e.want(e.do("GET", "/Users/"+id, nil), 200, "GET /Users/"+id).Body
}

// patch sends a PatchOp with the given operations (a JSON array).
func (e *e2eEnv) patch(id, ops string, headers ...string) *e2eResp {
	e.t.Helper()
	return e.do("PATCH", "/Users/"+id, `{"schemas":["`+e2ePatchURN+`"],"Operations":`+ops+`}`, headers...)
}

// list runs GET /Users with the query parameters given as name/value pairs.
func (e *e2eEnv) list(params ...string) *e2eResp {
	e.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return e.do("GET", "/Users?"+q.Encode(), nil)
}

// e2eRow is a row of the app's users table; NULL is nil, text is string, times are time.Time.
type e2eRow map[string]any

func (r e2eRow) str(col string) string {
	switch v := r[col].(type) {
	case nil:
		return "<NULL>"
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(v)
	}
}

func (r e2eRow) null(col string) bool { return r[col] == nil }

// appRows reads rows of the app's users table directly.
func (e *e2eEnv) appRows(where string, args ...any) []e2eRow {
	e.t.Helper()
	rows, err := e.db.Queryx("SELECT * FROM users WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []e2eRow
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			e.t.Fatal(err)
		}
		for k, v := range m {
			switch v := v.(type) {
			case []byte:
				m[k] = string(v)
			case uint64:
				m[k] = int64(v)
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// appRow reads the one app row matching where.
func (e *e2eEnv) appRow(where string, args ...any) e2eRow {
	e.t.Helper()
	rows := e.appRows(where, args...)
	if len(rows) != 1 {
		e.t.Fatalf("app rows WHERE %s %v: got %d, want 1: %v", where, args, len(rows), rows)
	}
	return rows[0]
}

// e2eWantCols checks columns of an app row by their text (see e2eRow.str).
func e2eWantCols(t *testing.T, r e2eRow, want map[string]string) {
	t.Helper()
	for col, v := range want {
		if got := r.str(col); got != v {
			t.Errorf("app column %s = %q, want %q", col, got, v)
		}
	}
}

// get reads a dotted path ("meta.version", "name.givenName") from a decoded JSON object.
func e2eAt(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

// e2eExt reads an attribute of the enterprise extension (its URN has dots, so e2eAt cannot).
func e2eExt(m map[string]any, attr string) any {
	ext, _ := m[e2eEnterprise].(map[string]any)
	return ext[attr]
}

func e2eStr(v any) string {
	s, _ := v.(string)
	return s
}

func e2eNum(v any) int {
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return int(f)
}

// resources returns a list response's Resources, failing when it is missing or not an array.
func e2eResources(t *testing.T, r *e2eResp) []map[string]any {
	t.Helper()
	raw, ok := r.Body["Resources"].([]any)
	if !ok {
		t.Fatalf("Resources is not an array: %s", r.Raw)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func e2eKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
