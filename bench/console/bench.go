package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/scim"
)

const (
	token        = "bench-scim-token-0123456789"
	consoleToken = "bench-console-token-0123456789"
	// budget is the bound on a page load with 100,000 users.
	budget = 200 * time.Millisecond
)

func run(ctx context.Context, o options, dsn string, out io.Writer) error {
	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: 20, Schema: legacyapp.UsersTable(legacyapp.RoleColumn), Prefix: "scim_"})
	if err != nil {
		return err
	}
	defer env.Close()
	start := time.Now()
	if err := seed(ctx, env, o.users); err != nil {
		return err
	}
	if err := mysql.Reindex(ctx, env.DB, "scim_", nil); err != nil {
		return err
	}
	if err := benchsql.Analyze(ctx, env.DB, "users", "scim_users", "scim_user_values"); err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded and reindexed %d users with SQL in %s\n", o.users, time.Since(start).Round(time.Millisecond))

	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer hook.Close()
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	consoleURL := "http://" + cln.Addr().String()
	roles := "\n[roles]\n" + strings.ReplaceAll(legacyapp.ColumnRolesTOML, "[[rules]]", "[[roles.rules]]")
	cfg, err := legacyusers.Config(roles + `
[[webhooks]]
name = "app"
url = "` + hook.URL + `"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
max_attempts = 1

[console]
listen = "` + cln.Addr().String() + `"
public_url = "` + consoleURL + `"
token_env = "CONSOLE_TOKEN"
`)
	if err != nil {
		return err
	}
	vars := map[string]string{"CONSOLE_TOKEN": consoleToken, "SCIMBRIDGE_DSN": dsn}
	if err := env.Serve(ctx, cfg, token, app.Options{ConsoleListener: cln, Getenv: func(k string) string { return vars[k] }}, 8, time.Minute); err != nil {
		return err
	}
	bigGroup, userID, reqID, err := traffic(ctx, env, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d SCIM requests, 10 groups of 1,000 members, dead webhook deliveries: done\n", o.requests)

	c, err := signIn(ctx, consoleURL)
	if err != nil {
		return err
	}
	get := func(path string) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, consoleURL+path, nil)
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && (resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/login") {
				err = fmt.Errorf("GET %s: %s at %s", path, resp.Status, resp.Request.URL)
			}
			if err == nil && !strings.Contains(string(body), "</html>") && !strings.HasSuffix(path, ".css") {
				err = fmt.Errorf("GET %s: no whole page", path)
			}
			return err
		}
	}
	took, err := runDrift(ctx, c, consoleURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "drift report made from the console (POST /drift, one pass over every user): %s\n", took.Round(time.Millisecond))
	floor, err := loadstats.Hammer(ctx, o.reps, 1, get("/static/console.css"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%-34s %9s %9s %9s   %s\n", "page (1 client)", "p50", "p95", "max", "floor p50 (stylesheet)")
	var over []string
	for _, p := range []struct{ name, path string }{
		{"Overview", "/"},
		{"Requests", "/requests"},
		{"Requests, errors only", "/requests?status=errors"},
		{"Request and its audit rows", "/requests/" + reqID},
		{"Users (first 50)", "/users"},
		{"Users, search by prefix", "/users?q=user5000"},
		{"Users, search by email", "/users?q=user77777%40bench.example.com"},
		{"Users, search by app key", "/users?q=4242"},
		{"User page", "/users/" + userID},
		{"Groups", "/groups"},
		{"Group of 1,000 members", "/groups/" + bigGroup},
		{"Webhooks", "/webhooks"},
		{"Webhooks, dead", "/webhooks?status=dead"},
		{"Configuration (check cached)", "/config"},
		{"Drift and plan (latest report)", "/drift"},
	} {
		_ = get(p.path)(ctx, 0) // the first view runs the check (Configuration) and warms caches
		res, err := loadstats.Hammer(ctx, o.reps, 1, get(p.path))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-34s %9s %9s %9s   %s\n", p.name, loadstats.MS(res.Pct(50)), loadstats.MS(res.Pct(95)), loadstats.MS(res.Pct(100)), loadstats.MS(floor.Pct(50)))
		if res.Pct(95) > budget {
			over = append(over, p.name)
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(out, "\np95 over %s: %s\n", budget, strings.Join(over, ", "))
	} else {
		fmt.Fprintf(out, "\nevery page's p95 is under %s\n", budget)
	}
	return nil
}

// seed writes users 1..n with SQL (every 20th inactive), as bench/lists does.
func seed(ctx context.Context, env *benchenv.Env, n int) error {
	seq := "seq_1_to_" + strconv.Itoa(n)
	for _, stmt := range []string{
		`INSERT INTO users (email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at)
		 SELECT CONCAT('user', seq, '@bench.example.com'), CONCAT('user', seq, '@bench.example.com'), 'Ann', CONCAT('Lee', seq % 1000),
		        CONCAT('Ann Lee', seq % 1000), IF(seq % 20 = 0, 3, 1), '!scim', NOW(), NOW() FROM ` + seq,
		`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, external_id, active, version, created, last_modified, doc)
		 SELECT UUID(), u.id, u.email, u.email_lower, CONCAT('ext-', u.id), u.status = 1, 1,
		        TIMESTAMP('2026-01-01') + INTERVAL (u.id DIV 3) SECOND, NOW(6),
		        JSON_OBJECT('emails', JSON_ARRAY(JSON_OBJECT('primary', true, 'type', 'work', 'value', u.email)))
		 FROM users u`,
	} {
		if _, err := env.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// traffic sends SCIM requests through scimbridge (creates, a conflict each tenth, patches), and makes
// 10 groups of 1,000 seeded members through the store; it returns the first group's id, a user's id
// and the id of a request that wrote.
func traffic(ctx context.Context, env *benchenv.Env, o options) (group, user, reqID string, err error) {
	var ids []string
	if err := env.DB.SelectContext(ctx, &ids, "SELECT id FROM scim_users ORDER BY app_id LIMIT 10000"); err != nil {
		return "", "", "", err
	}
	for g := range 10 {
		members := make([]scim.Member, 0, 1000)
		for _, id := range ids[g*1000 : (g+1)*1000] {
			members = append(members, scim.Member{Value: id})
		}
		name := "Team " + strconv.Itoa(g)
		if g == 0 {
			name = "Admins"
		}
		r, err := env.App.Store().CreateGroup(ctx, scim.Resource{"displayName": name}, members)
		if err != nil {
			return "", "", "", err
		}
		if g == 0 {
			group, _ = r["id"].(string)
		}
	}
	for i := range o.requests {
		var err error
		switch {
		case i%10 == 9:
			err = env.API.Call(ctx, "POST", "/Users", []byte(`{"userName":"user1@bench.example.com"}`), 409, nil)
		case i%2 == 0:
			err = env.API.Call(ctx, "POST", "/Users", fmt.Appendf(nil, `{"userName":"new%d@bench.example.com","name":{"givenName":"New","familyName":"N%d"}}`, i, i), 201, nil)
		default:
			err = env.API.Call(ctx, "PATCH", "/Users/"+ids[i], []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.givenName","value":"Pat"}]}`), 200, nil)
		}
		if err != nil {
			return "", "", "", err
		}
	}
	if err := env.DB.GetContext(ctx, &reqID, "SELECT request_id FROM scim_audit WHERE request_id <> '' ORDER BY id DESC LIMIT 1"); err != nil {
		return "", "", "", err
	}
	if reqID == "" {
		return "", "", "", errors.New("no audit row has a request id")
	}
	return group, ids[1], reqID, nil
}

// signIn returns a client with a console session.
func signIn(ctx context.Context, consoleURL string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, consoleURL+"/login", strings.NewReader(url.Values{"token": {consoleToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", consoleURL)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		return nil, fmt.Errorf("sign-in: %s at %s", resp.Status, resp.Request.URL)
	}
	return c, nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// runDrift runs the drift report from the console's Drift page, as an admin's click does, and returns
// how long the POST took.
func runDrift(ctx context.Context, c *http.Client, consoleURL string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, consoleURL+"/drift", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if err != nil || m == nil {
		return 0, fmt.Errorf("drift page: no CSRF token (%v)", err)
	}
	start := time.Now()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, consoleURL+"/drift", strings.NewReader(url.Values{"csrf": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", consoleURL)
	if resp, err = c.Do(req); err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Drift report of") {
		return 0, fmt.Errorf("running the drift report: %s", resp.Status)
	}
	return time.Since(start), nil
}
