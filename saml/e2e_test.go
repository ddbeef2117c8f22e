package saml_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/saml"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

func withSignedHeader(o *saml.Options) {
	o.Headers.Signature = "X-Scimbridge-Signature"
	o.HeaderSecret = secret
}

func TestProvisionedActiveUserReachesAppWithHeaders(t *testing.T) {
	e := newEnv(t, withSignedHeader)
	e.addIdPUser(t, "alice", "alice@example.com")
	e.provision("alice@example.com", saml.User{ID: "2819c223-7f76", UserName: "alice@example.com",
		Email: "alice.smith@example.com", DisplayName: "Alice Smith", AppKey: "42",
		Groups: []string{"Admins", "Support"}, Roles: []string{"admin", "support"}})
	c := browser(t)

	resp, body := e.login(t, c, "alice", "/reports?year=2026&q=a%20b")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s\nlog:\n%s", resp.Status, body, e.logs)
	}
	got := e.app.last(t)
	if p := got.Get("X-Echo-Path"); p != "/reports?year=2026&q=a%20b" {
		t.Errorf("the app got %q, want the page first asked for", p)
	}
	want := map[string]string{
		"X-Forwarded-User":     "alice@example.com",
		"X-Forwarded-Email":    "alice.smith@example.com",
		"X-Forwarded-User-Id":  "2819c223-7f76",
		"X-Forwarded-User-Key": "42",
		"X-Forwarded-Roles":    "admin,support",
		"X-Forwarded-Groups":   "Admins,Support", // no character to encode
	}
	for k, v := range want {
		if vals := got.Values(k); len(vals) != 1 || vals[0] != v {
			t.Errorf("%s = %q, want [%q]", k, vals, v)
		}
	}
	if err := verifyAt(got, e.clock.Now()); err != nil {
		t.Errorf("signed header %q: %v", got.Get("X-Scimbridge-Signature"), err)
	}
	forged := got.Clone()
	forged.Set("X-Forwarded-User", "mallory@example.com")
	if err := verifyAt(forged, e.clock.Now()); err == nil {
		t.Error("the signed header verifies for another user")
	}
	if ck := got.Get("Cookie"); strings.Contains(ck, saml.DefaultSessionCookie) || strings.Contains(ck, "scimbridge_saml_") {
		t.Errorf("the gate's cookies reached the app: %q", ck)
	}
	if host := got.Get("X-Echo-Host"); host != strings.TrimPrefix(e.gateSrv.URL, "http://") {
		t.Errorf("the app saw Host %q, want the gate's public host", host)
	}

	// Further requests use the session; the directory answer is reused within recheck_every.
	lookups := e.dir.lookups.Load()
	for i := 0; i < 3; i++ {
		if resp, body := e.do(t, c, http.MethodGet, "/dashboard", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /dashboard: %s\n%s", resp.Status, body)
		}
	}
	if n := e.dir.lookups.Load() - lookups; n != 0 {
		t.Errorf("%d directory lookups within recheck_every, want 0 (cached)", n)
	}
	st := e.gate.Stats()
	if st.Logins != 1 || st.Proxied != 4 || st.NotProvisioned != 0 || st.LoginFailures != 0 {
		t.Errorf("stats = %+v", st)
	}
	// The log names the identity, never the session cookie or the assertion.
	logs := e.logs.String()
	if !strings.Contains(logs, "identity=alice@example.com") {
		t.Errorf("login not logged with the identity:\n%s", logs)
	}
	assertNoSecretsLogged(t, e, c)
}

// assertNoSecretsLogged checks that no cookie value and no part of a SAML message is in the log.
func assertNoSecretsLogged(t *testing.T, e *env, c *http.Client) {
	t.Helper()
	logs := e.logs.String()
	for _, ck := range c.Jar.Cookies(mustParse(t, e.gateSrv.URL)) {
		if len(ck.Value) > 8 && strings.Contains(logs, ck.Value) {
			t.Errorf("cookie %s logged", ck.Name)
		}
	}
	for _, s := range []string{"SAMLResponse", "<saml", "Assertion>", "CipherValue", "SignatureValue"} {
		if strings.Contains(logs, s) {
			t.Errorf("log holds %q:\n%s", s, logs)
		}
	}
}

func TestUnprovisionedUserGets403AndAppSeesNothing(t *testing.T) {
	e := newEnv(t)
	e.addIdPUser(t, "bob", "bob@example.com") // known to the IdP, never provisioned through SCIM
	c := browser(t)

	resp, body := e.login(t, c, "bob", "/")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %s, want 403\n%s", resp.Status, body)
	}
	const msg = "Your account has not been provisioned for Legacy App. Ask your IT administrator to assign you to Legacy App in your identity provider."
	if !strings.Contains(string(body), msg) {
		t.Errorf("page does not say %q:\n%s", msg, body)
	}
	if n := e.app.hits.Load(); n != 0 {
		t.Errorf("the app got %d requests", n)
	}
	for _, ck := range c.Jar.Cookies(mustParse(t, e.gateSrv.URL)) {
		if ck.Name == saml.DefaultSessionCookie {
			t.Error("a session cookie was set for an unprovisioned user")
		}
	}
	if st := e.gate.Stats(); st.NotProvisioned != 1 || st.Logins != 0 {
		t.Errorf("stats = %+v", st)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "account not provisioned") || !strings.Contains(logs, "identity=bob@example.com") ||
		!strings.Contains(logs, "not_provisioned_total=1") {
		t.Errorf("refusal not logged with identity and count:\n%s", logs)
	}
	assertNoSecretsLogged(t, e, c)
}

func TestDeactivatedUserRefusedAtLogin(t *testing.T) {
	e := newEnv(t)
	e.addIdPUser(t, "carol", "carol@example.com")
	e.provision("carol@example.com", saml.User{ID: "c1", UserName: "carol@example.com"})
	e.dir.setActive("carol@example.com", false)

	resp, body := e.login(t, browser(t), "carol", "/")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Your account for Legacy App is deactivated") {
		t.Fatalf("status %s, want 403 saying the account is deactivated\n%s", resp.Status, body)
	}
	if e.app.hits.Load() != 0 {
		t.Error("the app got a request")
	}
	if st := e.gate.Stats(); st.Deactivated != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(e.logs.String(), "account deactivated") {
		t.Errorf("not logged:\n%s", e.logs)
	}
}

func TestUserDeactivatedMidSessionLosesAccessAfterRecheck(t *testing.T) {
	e := newEnv(t, func(o *saml.Options) { o.RecheckEvery = 5 * time.Second })
	e.addIdPUser(t, "dave", "dave@example.com")
	e.provision("dave@example.com", saml.User{ID: "d1", UserName: "dave@example.com"})
	c := browser(t)
	if resp, body := e.login(t, c, "dave", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}

	e.dir.setActive("dave@example.com", false) // the IdP deactivates dave through SCIM
	e.clock.Advance(4 * time.Second)
	if resp, _ := e.do(t, c, http.MethodGet, "/page", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("within recheck_every: %s, want the cached answer (200)", resp.Status)
	}
	hits := e.app.hits.Load()

	e.clock.Advance(1500 * time.Millisecond) // past recheck_every since the login's lookup
	resp, body := e.do(t, c, http.MethodGet, "/page", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "deactivated") {
		t.Fatalf("after recheck_every: %s, want 403 deactivated\n%s", resp.Status, body)
	}
	if e.app.hits.Load() != hits {
		t.Error("the app got the refused request")
	}
	// The refusal ended the session: a POST (an API call) is refused too, not only page loads (401: there
	// is no session to refuse any more).
	if resp, _ := e.do(t, c, http.MethodPost, "/api/save", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST after deactivation: %s, want 401", resp.Status)
	}

	// Reactivated through SCIM: the ended session stays ended; signing in again works.
	e.dir.setActive("dave@example.com", true)
	e.clock.Advance(6 * time.Second)
	resp, _ = e.do(t, noRedirects(c), http.MethodGet, "/page", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL) || e.app.hits.Load() != hits {
		t.Errorf("old session after reactivation: %s to %q, want a redirect to the IdP", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := e.login(t, browser(t), "dave", "/page"); resp.StatusCode != http.StatusOK {
		t.Errorf("new sign-in after reactivation: %s\n%s", resp.Status, body)
	}
	if st := e.gate.Stats(); st.Deactivated != 1 {
		t.Errorf("stats = %+v, want 1 refusal for deactivation", st)
	}
}

func TestSessionExpiresWithTheInjectedClock(t *testing.T) {
	e := newEnv(t, func(o *saml.Options) { o.SessionLifetime = time.Hour })
	e.addIdPUser(t, "erin", "erin@example.com")
	e.provision("erin@example.com", saml.User{ID: "e1", UserName: "erin"})
	c := browser(t)
	if resp, body := e.login(t, c, "erin", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	e.clock.Advance(time.Hour + time.Second)
	resp, _ := e.do(t, noRedirects(c), http.MethodGet, "/x", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL) {
		t.Errorf("expired session: %s to %q, want a redirect to the IdP", resp.Status, resp.Header.Get("Location"))
	}
	// Not a page load: 401 rather than a redirect an API client cannot follow.
	resp, _ = e.do(t, noRedirects(c), http.MethodGet, "/api/x", map[string]string{"Sec-Fetch-Mode": "cors"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("fetch without session: %s, want 401", resp.Status)
	}
}

func TestLogoutClearsTheSession(t *testing.T) {
	e := newEnv(t)
	e.addIdPUser(t, "frank", "frank@example.com")
	e.provision("frank@example.com", saml.User{ID: "f1", UserName: "frank"})
	c := browser(t)
	if resp, body := e.login(t, c, "frank", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	resp, body := e.logout(t, c)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "signed out of Legacy App") {
		t.Fatalf("logout: %s\n%s", resp.Status, body)
	}
	hits := e.app.hits.Load()
	resp, _ = e.do(t, noRedirects(c), http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL+"/sso") {
		t.Errorf("after logout: %s to %q, want a redirect to the IdP", resp.Status, resp.Header.Get("Location"))
	}
	if e.app.hits.Load() != hits {
		t.Error("the app got a request after logout")
	}
}

func TestUnknownGatePathsAndMethods(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/saml/nothing", http.StatusNotFound},
		{http.MethodGet, "/saml/acs", http.StatusMethodNotAllowed},
		{http.MethodPost, "/saml/login", http.StatusMethodNotAllowed},
		{http.MethodPost, "/saml/acs", http.StatusForbidden}, // no SAMLResponse
	} {
		if resp, _ := e.do(t, c, tc.method, tc.path, nil); resp.StatusCode != tc.want {
			t.Errorf("%s %s: %s, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
	if e.app.hits.Load() != 0 {
		t.Error("the gate's own paths reached the app")
	}
	// The SP-initiated login endpoint returns where it was asked to, and never to another site.
	resp, _ := e.do(t, noRedirects(c), http.MethodGet, "/saml/login?return_to=//evil.example/x", nil)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL+"/sso") {
		t.Errorf("/saml/login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
}

func TestIdentityFromAnAssertionAttribute(t *testing.T) {
	// samlidp sends the user's name as the attribute uid (FriendlyName; Name urn:oid:0.9.2342.19200300.100.1.1).
	for _, attr := range []string{"uid", "urn:oid:0.9.2342.19200300.100.1.1"} {
		t.Run(attr, func(t *testing.T) {
			e := newEnv(t, func(o *saml.Options) { o.IdentityAttribute = attr })
			e.addIdPUser(t, "grace", "grace@example.com")
			e.provision("grace", saml.User{ID: "g1", UserName: "grace"})
			resp, body := e.login(t, browser(t), "grace", "/")
			if resp.StatusCode != http.StatusOK || e.app.last(t).Get("X-Forwarded-User") != "grace" {
				t.Fatalf("login: %s\n%s\n%s", resp.Status, body, e.logs)
			}
		})
	}
	t.Run("missing attribute", func(t *testing.T) {
		e := newEnv(t, func(o *saml.Options) { o.IdentityAttribute = "employeeNumber" })
		e.addIdPUser(t, "grace", "grace@example.com")
		e.provision("grace", saml.User{ID: "g1", UserName: "grace"})
		resp, body := e.login(t, browser(t), "grace", "/")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(e.logs.String(), "has no attribute employeeNumber") {
			t.Errorf("%s\n%s\n%s", resp.Status, body, e.logs)
		}
	})
}
