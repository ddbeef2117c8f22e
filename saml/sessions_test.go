package saml_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/scim"
)

// mariaEnv is an env whose gate runs on real MariaDB: the directory is the SCIM store, and sessions and
// used assertions are in scimbridge's own tables (*mysql.GateSessions), as `scimbridge serve` runs it.
type mariaEnv struct {
	*env
	store *mysql.Store
	db    *sqlx.DB
}

func newMariaEnv(t *testing.T, match string, tweaks ...options) *mariaEnv {
	t.Helper()
	store, _, db := newStore(t)
	gs := mysql.NewGateSessions(db, "scim_")
	all := append([]options{func(o *saml.Options) {
		o.Directory = saml.StoreDirectory{Users: store, Access: store, Match: match}
		o.Sessions, o.Replay = gs, gs
	}}, tweaks...)
	return &mariaEnv{env: newEnv(t, all...), store: store, db: db}
}

func (m *mariaEnv) createUser(t *testing.T, r scim.Resource) string {
	t.Helper()
	u, err := m.store.CreateUser(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return u["id"].(string)
}

func (m *mariaEnv) update(t *testing.T, id string, edit func(cur scim.Resource)) {
	t.Helper()
	if _, err := m.store.UpdateUser(context.Background(), id, func(cur scim.Resource) (scim.Resource, error) {
		edit(cur)
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (m *mariaEnv) sessionRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := m.db.Get(&n, "SELECT COUNT(*) FROM scim_gate_sessions"); err != nil {
		t.Fatal(err)
	}
	return n
}

// sessionCookie is the browser's session cookie value.
func (e *env) sessionCookie(t *testing.T, c *http.Client) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustParse(t, e.gateSrv.URL)) {
		if ck.Name == saml.DefaultSessionCookie {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// withCookie is a client without a jar that presents one session cookie value, as a thief would.
func (e *env) withCookie(t *testing.T, value, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.gateSrv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: saml.DefaultSessionCookie, Value: value})
	resp, err := noRedirects(&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// assertRefusedWith checks that a request with the cookie is not let in: 403 (refused) or sent to sign in.
func (e *env) assertRefusedWith(t *testing.T, value, path string) {
	t.Helper()
	hits := e.app.hits.Load()
	resp, body := e.withCookie(t, value, path)
	if resp.StatusCode == http.StatusOK || e.app.hits.Load() != hits {
		t.Errorf("GET %s with the old cookie: %s, the app got %d requests\n%s", path, resp.Status, e.app.hits.Load()-hits, body)
	}
	if resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL) {
		t.Errorf("redirected to %q, want the IdP", resp.Header.Get("Location"))
	}
}

// An email moved from ivan to judy: ivan's session is bound to ivan's SCIM id, so at the recheck it is
// refused and ended, never let in as judy.
func TestSessionRefusedWhenTheEmailMovesToAnotherUser(t *testing.T) {
	m := newMariaEnv(t, "email", func(o *saml.Options) { o.IdentityAttribute = "mail" })
	ivan := m.createUser(t, scim.Resource{"userName": "ivan@corp.example", "emails": []any{map[string]any{"value": "ivan@example.com", "primary": true}}})
	judy := m.createUser(t, scim.Resource{"userName": "judy@corp.example", "emails": []any{map[string]any{"value": "judy@example.com", "primary": true}}})
	m.addIdPUser(t, "ivan", "ivan@example.com")
	c := browser(t)
	if resp, body := m.login(t, c, "ivan", "/"); resp.StatusCode != http.StatusOK || m.app.last(t).Get("X-Forwarded-User-Id") != ivan {
		t.Fatalf("login: %s\n%s\n%s", resp.Status, body, m.logs)
	}
	old := m.sessionCookie(t, c)

	m.update(t, ivan, func(cur scim.Resource) {
		cur["emails"] = []any{map[string]any{"value": "ivan.old@example.com", "primary": true}}
	})
	m.update(t, judy, func(cur scim.Resource) {
		cur["emails"] = []any{map[string]any{"value": "ivan@example.com", "primary": true}}
	})
	m.clock.Advance(5*time.Second + time.Millisecond) // past recheck_every: the identity is looked up again
	hits := m.app.hits.Load()
	resp, body := m.do(t, c, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Your session for Legacy App has ended") {
		t.Errorf("ivan's session after his email moved to judy: %s\n%s", resp.Status, body)
	}
	if m.app.hits.Load() != hits {
		t.Fatalf("the app got the request (as %q)", m.app.last(t).Get("X-Forwarded-User"))
	}
	if n := m.sessionRows(t); n != 0 {
		t.Errorf("%d session rows left, want ivan's deleted", n)
	}
	m.assertRefusedWith(t, old, "/")
	if st := m.gate.Stats(); st.Rebound != 1 || st.Proxied != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(m.logs.String(), "the identity now belongs to another user") {
		t.Errorf("not logged:\n%s", m.logs)
	}
}

// leo is deleted and a new leo (new SCIM id, in Admins) created: the old cookie is refused. The DELETE
// ends the session in its transaction; with the row put back (as if the DELETE had not reached it: a
// login on another cluster node), the session store finds its SCIM id no longer a live user and drops
// the row at the lookup, before the gate's recheck would refuse the binding to another SCIM id.
func TestSessionRefusedAfterTheUserNameIsDeletedAndCreatedAgain(t *testing.T) {
	for _, restoreRow := range []bool{false, true} {
		name := map[bool]string{false: "DELETE ends the session", true: "session row restored: the old SCIM id is no live user"}[restoreRow]
		t.Run(name, func(t *testing.T) {
			m := newMariaEnv(t, "userName")
			ctx := context.Background()
			leo := m.createUser(t, scim.Resource{"userName": "leo@example.com"})
			m.addIdPUser(t, "leo", "leo@example.com")
			c := browser(t)
			if resp, body := m.login(t, c, "leo", "/"); resp.StatusCode != http.StatusOK || m.app.last(t).Get("X-Forwarded-Roles") != "" {
				t.Fatalf("login: %s\n%s", resp.Status, body)
			}
			old := m.sessionCookie(t, c)
			var rows []struct {
				TokenHash string    `db:"token_hash"`
				UserID    string    `db:"user_id"`
				AppKey    *string   `db:"app_key"`
				Identity  string    `db:"identity"`
				Created   time.Time `db:"created_at"`
				Expires   time.Time `db:"expires_at"`
			}
			if err := m.db.Select(&rows, "SELECT token_hash, user_id, app_key, identity, created_at, expires_at FROM scim_gate_sessions"); err != nil || len(rows) != 1 {
				t.Fatalf("session rows %v, %v", rows, err)
			}
			if err := m.store.DeleteUser(ctx, leo, nil); err != nil {
				t.Fatal(err)
			}
			if n := m.sessionRows(t); n != 0 {
				t.Fatalf("%d session rows after DELETE, want 0", n)
			}
			newLeo := m.createUser(t, scim.Resource{"userName": "leo@example.com"})
			if _, err := m.store.CreateGroup(ctx, scim.Resource{"displayName": "Admins"}, []scim.Member{{Value: newLeo}}); err != nil {
				t.Fatal(err)
			}
			if newLeo == leo {
				t.Fatal("the new leo has the old SCIM id")
			}
			if restoreRow {
				r := rows[0]
				if _, err := m.db.Exec("INSERT INTO scim_gate_sessions (token_hash, user_id, app_key, identity, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
					r.TokenHash, r.UserID, r.AppKey, r.Identity, r.Created, r.Expires); err != nil {
					t.Fatal(err)
				}
				m.clock.Advance(5*time.Second + time.Millisecond)
			}
			m.assertRefusedWith(t, old, "/admin")
			if st := m.gate.Stats(); st.Rebound != 0 || st.Proxied != 1 {
				t.Errorf("stats = %+v, want the old cookie to be no session (only the first login proxied, no rebound)", st)
			}
			if n := m.sessionRows(t); n != 0 {
				t.Errorf("%d session rows left", n)
			}
			for _, h := range m.app.seen {
				if h.Get("X-Forwarded-User-Id") == newLeo || h.Get("X-Forwarded-Roles") == "admin" {
					t.Errorf("the app got the new leo through the old cookie: %v", h)
				}
			}
			// The new leo signs in afresh and is the admin.
			if resp, body := m.login(t, browser(t), "leo", "/"); resp.StatusCode != http.StatusOK ||
				m.app.last(t).Get("X-Forwarded-User-Id") != newLeo || m.app.last(t).Get("X-Forwarded-Roles") != "admin" {
				t.Errorf("new leo: %s\n%s", resp.Status, body)
			}
		})
	}
}

// A deactivation or a DELETE through the store ends the user's sessions in its transaction: with a
// 10-minute recheck_every, the very next request is refused.
func TestDeactivationThroughTheStoreEndsTheSessionAtOnce(t *testing.T) {
	for _, how := range []string{"PATCH active=false", "DELETE"} {
		t.Run(how, func(t *testing.T) {
			m := newMariaEnv(t, "userName", func(o *saml.Options) { o.RecheckEvery = 10 * time.Minute })
			id := m.createUser(t, scim.Resource{"userName": "mia@example.com"})
			m.addIdPUser(t, "mia", "mia@example.com")
			c := browser(t)
			if resp, body := m.login(t, c, "mia", "/"); resp.StatusCode != http.StatusOK {
				t.Fatalf("login: %s\n%s", resp.Status, body)
			}
			old := m.sessionCookie(t, c)
			if resp, _ := m.do(t, c, http.MethodGet, "/page", nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("before: %s", resp.Status)
			}
			if how == "DELETE" {
				if err := m.store.DeleteUser(context.Background(), id, nil); err != nil {
					t.Fatal(err)
				}
			} else {
				m.update(t, id, func(cur scim.Resource) { cur["active"] = false })
			}
			m.assertRefusedWith(t, old, "/page") // no clock advance: the directory answer is still cached
			resp, _ := m.do(t, noRedirects(c), http.MethodGet, "/api/x", map[string]string{"Sec-Fetch-Mode": "cors"})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("API call after %s: %s, want 401", how, resp.Status)
			}
		})
	}
	// An update that leaves the user active keeps the session.
	m := newMariaEnv(t, "userName", func(o *saml.Options) { o.RecheckEvery = 10 * time.Minute })
	id := m.createUser(t, scim.Resource{"userName": "mia@example.com"})
	m.addIdPUser(t, "mia", "mia@example.com")
	c := browser(t)
	if resp, body := m.login(t, c, "mia", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	m.update(t, id, func(cur scim.Resource) { cur["displayName"] = "Mia" })
	if resp, _ := m.do(t, c, http.MethodGet, "/page", nil); resp.StatusCode != http.StatusOK || m.sessionRows(t) != 1 {
		t.Errorf("after an update that keeps her active: %s, %d session rows", resp.Status, m.sessionRows(t))
	}
}

// Logout deletes the session row: the same cookie value is refused afterwards. A cross-site POST, or one
// without the CSRF token, is refused and the session keeps working.
func TestLogoutEndsTheSessionAndIsProtectedAgainstCSRF(t *testing.T) {
	m := newMariaEnv(t, "userName")
	m.createUser(t, scim.Resource{"userName": "nina@example.com"})
	m.addIdPUser(t, "nina", "nina@example.com")
	c := browser(t)
	if resp, body := m.login(t, c, "nina", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	old := m.sessionCookie(t, c)
	resp, err := c.Get(m.gateSrv.URL + "/saml/logout")
	if err != nil {
		t.Fatal(err)
	}
	_, f := form(t, readAll(t, resp))
	token := f.Get("csrf")

	post := func(form url.Values, header map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, m.gateSrv.URL+"/saml/logout", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"cross-site Origin", url.Values{"csrf": {token}}, map[string]string{"Origin": "https://evil.example"}},
		{"cross-site Sec-Fetch-Site", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site subdomain", url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"no token", nil, map[string]string{"Origin": m.gateSrv.URL}},
		{"wrong token", url.Values{"csrf": {strings.Repeat("0", 64)}}, map[string]string{"Origin": m.gateSrv.URL}},
	} {
		if code := post(tc.form, tc.header); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, code)
		}
		if resp, _ := m.do(t, c, http.MethodGet, "/still", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("after a refused logout (%s): %s, want the session to work", tc.name, resp.Status)
		}
	}
	if m.sessionRows(t) != 1 {
		t.Fatal("a refused logout deleted the session")
	}

	if resp, body := m.logout(t, c); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "signed out of Legacy App") {
		t.Fatalf("logout: %s\n%s", resp.Status, body)
	}
	if n := m.sessionRows(t); n != 0 {
		t.Errorf("%d session rows after logout", n)
	}
	m.assertRefusedWith(t, old, "/") // the same cookie value, replayed after logout
}

// An IdP-initiated response is accepted once, by any gate on the database: a second gate instance and a
// gate started afresh (a restart) refuse it, having no memory of it but the table.
func TestReplayRefusedByAnotherInstanceAndAfterARestart(t *testing.T) {
	m := newMariaEnv(t, "userName", allowIdPInitiated)
	m.createUser(t, scim.Resource{"userName": "alice@example.com"})
	m.addIdPUser(t, "alice", "alice@example.com")
	acs, f := m.idpInitiated(t, browser(t), "alice", "app", m.gateSrv.URL+"/saml/metadata")

	second := m.newInstance(t) // running next to the first, on the same database
	if status, page := postACS(t, browser(t), acs, f); status != http.StatusOK {
		t.Fatalf("first use: %d\n%s\n%s", status, page, m.logs)
	}
	hits := m.app.hits.Load()
	m.handler.Store(second)
	if status, _ := postACS(t, browser(t), acs, f); status != http.StatusForbidden || second.Stats().Replays != 1 {
		t.Errorf("replay to a second instance: %d, stats %+v", status, second.Stats())
	}
	m.handler.Store(m.newInstance(t)) // restarted: a new process, nothing in memory
	if status, _ := postACS(t, browser(t), acs, f); status != http.StatusForbidden || m.handler.Load().Stats().Replays != 1 {
		t.Errorf("replay after a restart: %d, stats %+v", status, m.handler.Load().Stats())
	}
	if m.app.hits.Load() != hits || m.sessionRows(t) != 1 {
		t.Errorf("a replay got in: app hits %d more, %d session rows", m.app.hits.Load()-hits, m.sessionRows(t))
	}
}

// newInstance is another gate process on the same database and public URL: the same options, a new
// store object, no shared memory with the first.
func (m *mariaEnv) newInstance(t *testing.T) *saml.Gate {
	t.Helper()
	o := m.opts
	gs := mysql.NewGateSessions(m.db, "scim_")
	o.Sessions, o.Replay = gs, gs
	g, err := saml.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
