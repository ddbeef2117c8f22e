package agent_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// counterReader yields 0, 1, 2, ... so that generated request ids are known in advance.
type counterReader struct {
	mu sync.Mutex
	n  byte
}

func (c *counterReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

const (
	oktaToken   = "okta-secret-token-0123456789abcdef"
	legacyToken = "legacy-secret-token-0123456789abcdef"
	wrongToken  = "wrong-secret-token-0123456789abcdef"
)

// accessLogEnv is the agent over a real store, logging at debug (every level) into a buffer.
func accessLogEnv(t *testing.T, format string) (*e2eEnv, *sqlx.DB, *syncBuffer, *[]agent.RequestDone) {
	m := e2eMapping(t, "")
	dsn, db := testfix.DB(t, 4, "", e2eAppSchema)
	buf := &syncBuffer{}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	var h slog.Handler = slog.NewTextHandler(buf, opts)
	if format == "json" {
		h = slog.NewJSONHandler(buf, opts)
	}
	log := slog.New(h)
	storeDB := testfix.Open(t, dsn, 4)
	store := mysql.New(storeDB, m, mysql.Options{Log: log})
	var mu sync.Mutex
	var done []agent.RequestDone
	hs := httptest.NewServer(agent.New(agent.Config{
		BasePath:     "/scim/v2",
		MaxBodyBytes: 4096,
		Tokens:       []string{legacyToken},
		NamedTokens:  []agent.Token{{Name: "okta", Secret: oktaToken}},
		Users:        store,
		UserType:     m.Type,
		Log:          log,
		Rand:         &counterReader{},
		OnRequest:    func(d agent.RequestDone) { mu.Lock(); defer mu.Unlock(); done = append(done, d) },
	}))
	t.Cleanup(hs.Close)
	e := &e2eEnv{t: t, db: db, dsn: dsn, token: oktaToken, http: hs, base: hs.URL + "/scim/v2", store: store}
	return e, storeDB, buf, &done
}

func TestAccessLogLineForEveryOutcome(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			e, storeDB, buf, done := accessLogEnv(t, format)
			type step struct {
				status   int
				scimType string
				path     string // the logged path (a template where a route matched)
				token    string // the logged token name
				resp     *e2eResp
			}
			var steps []step
			add := func(r *e2eResp, status int, scimType, path, token string) *e2eResp {
				t.Helper()
				e.want(r, status, path)
				steps = append(steps, step{status, scimType, path, token, r})
				return r
			}
			user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"ann@example.com","primary":true}]}`
			created := add(e.do("POST", "/Users", user, "X-Request-Id", "idp-req-42"), 201, "", "/scim/v2/Users", "okta")
			id := created.Body["id"].(string)
			add(e.do("GET", "/Users/"+id, nil, "Authorization", "Bearer "+legacyToken), 200, "", "/scim/v2/Users/{id}", "default")
			add(e.do("POST", "/Users", user), 409, "uniqueness", "/scim/v2/Users", "okta")
			add(e.do("GET", `/Users?filter=userName%20eq`, nil), 400, "invalidFilter", "/scim/v2/Users", "okta")
			add(e.do("GET", "/Users", nil, "Authorization", "Bearer "+wrongToken), 401, "", "/scim/v2/Users", "")
			add(e.do("GET", "/Users/00000000-0000-0000-0000-000000000000", nil), 404, "", "/scim/v2/Users/{id}", "okta")
			// A path no route serves is logged as sent, without its query (which holds a token here).
			add(e.do("GET", "/Nothing?access_token="+oktaToken, nil), 404, "", "/scim/v2/Nothing", "okta")
			add(e.do("PUT", "/Users/"+id, user, "If-Match", `W/"stale"`), 412, "", "/scim/v2/Users/{id}", "okta")
			big := `{"userName":"` + strings.Repeat("x", 5000) + `"}`
			add(e.do("POST", "/Users", big, "X-Request-Id", "bad id forged=1"), 413, "", "/scim/v2/Users", "okta")
			add(e.do("DELETE", "/Users/"+id, nil), 204, "", "/scim/v2/Users/{id}", "okta")
			_ = storeDB.Close() // the database is gone: /readyz answers 503
			add(e.do("GET", e.root("/readyz"), nil), 503, "", "/readyz", "")

			// The first request kept the IdP's id; the others got ids from the injected randomness, in order.
			if got := created.Header.Get("X-Request-Id"); got != "idp-req-42" {
				t.Errorf("X-Request-Id of the first request = %q, want the client's", got)
			}
			if got, want := steps[1].resp.Header.Get("X-Request-Id"), hex.EncodeToString(seq(0, 16)); got != want {
				t.Errorf("generated X-Request-Id = %q, want %q", got, want)
			}
			if got := steps[8].resp.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \n=") {
				t.Errorf("an insane incoming id was not replaced: %q", got)
			}

			logText := buf.String()
			for _, tok := range []string{oktaToken, legacyToken, wrongToken} {
				if strings.Contains(logText, tok) {
					t.Fatalf("a token is in the log:\n%s", logText)
				}
			}
			if strings.Contains(logText, "Ann") || strings.Contains(logText, "xxxxxxxx") {
				t.Fatalf("a body is in the log:\n%s", logText)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(logText), "\n") {
				if strings.Contains(l, "request_id") {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(steps) {
				t.Fatalf("%d access-log lines for %d requests:\n%s", len(lines), len(steps), logText)
			}
			for i, st := range steps {
				reqID := st.resp.Header.Get("X-Request-Id")
				f := parseLine(t, format, lines[i])
				wantLevel := "INFO"
				if st.status >= 500 {
					wantLevel = "ERROR"
				}
				check := map[string]string{"level": wantLevel, "msg": "request", "request_id": reqID, "status": strconv.Itoa(st.status),
					"path": st.path, "token_name": st.token, "scim_type": st.scimType}
				for k, want := range check {
					if f[k] != want {
						t.Errorf("request %d (%d): %s = %q, want %q\n%s", i, st.status, k, f[k], want, lines[i])
					}
				}
				if f["duration_ms"] == "" || f["client"] == "" || !strings.HasPrefix(f["user_agent"], "Go-http-client") {
					t.Errorf("request %d: duration, client or user agent missing: %s", i, lines[i])
				}
				if st.status >= 400 {
					detail, _ := st.resp.Body["detail"].(string)
					if !strings.Contains(detail, "(request id "+reqID+")") {
						t.Errorf("request %d: error detail %q lacks the request id %s", i, detail, reqID)
					}
					if f["reason"] == "" || !strings.HasPrefix(detail, f["reason"]) {
						t.Errorf("request %d: reason %q is not the body's detail %q", i, f["reason"], detail)
					}
				}
				if strings.HasSuffix(st.path, "{id}") && f["id"] == "" {
					t.Errorf("request %d: the resource id is missing: %s", i, lines[i])
				}
			}

			ops := map[string]int{}
			for _, d := range *done {
				ops[d.Operation+" "+strconv.Itoa(d.Status)+" "+d.TokenName]++
			}
			for k, want := range map[string]int{"POST /Users 201 okta": 1, "GET /Users/{id} 200 default": 1, "POST /Users 409 okta": 1,
				"GET /Users 401 ": 1, "unmatched 404 okta": 1, "DELETE /Users/{id} 204 okta": 1, "GET /readyz 503 ": 1} {
				if ops[k] != want {
					t.Errorf("OnRequest saw %q %d times, want %d (all: %v)", k, ops[k], want, ops)
				}
			}
		})
	}
}

// TestAccessLogProbesAtDebug: successful probes do not flood the log at the default level.
func TestAccessLogProbesAtDebug(t *testing.T) {
	t.Parallel()
	e, _, buf, _ := accessLogEnv(t, "json")
	e.want(e.do("GET", e.root("/healthz"), nil), 200, "healthz")
	f := parseLine(t, "json", strings.TrimSpace(buf.String()))
	if f["level"] != "DEBUG" || f["path"] != "/healthz" {
		t.Fatalf("probe line: %v", f)
	}
}

func seq(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

// parseLine reads one slog line (JSON or text) into its top-level keys as strings.
func parseLine(t *testing.T, format, line string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			default:
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
		return out
	}
	// logfmt as slog's TextHandler writes it: key=value or key="quoted value".
	rest := line
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		if strings.HasPrefix(v, `"`) {
			var s string
			dec := json.NewDecoder(strings.NewReader(v))
			if err := dec.Decode(&s); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			out[k] = s
			rest = strings.TrimPrefix(v[dec.InputOffset():], " ")
			continue
		}
		val, after, _ := strings.Cut(v, " ")
		out[k] = val
		rest = after
	}
	return out
}
