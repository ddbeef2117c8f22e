package saml

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"

	"github.com/scimbridge/scimbridge/scim"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessions(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := csrfKey(key)
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	store := NewMemStore()
	// The injected randomness decides the token: the cookie holds exactly it, the store only its hash.
	rnd := bytes.NewReader(bytes.Repeat([]byte{7}, 2*tokenBytes))
	s := &sessions{store: store, name: "__Host-scimbridge_gate", path: "/", secure: true, lifetime: time.Hour,
		csrfKey: k, rand: rnd, now: clk.now}
	rec := httptest.NewRecorder()
	ctx := context.Background()
	if ok, err := s.start(ctx, rec, User{ID: "u1", AppKey: "42"}, "alice@example.com"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-scimbridge_gate" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "" || c.Path != "/" || c.MaxAge != 3600 {
		t.Errorf("cookie attributes: %+v", c)
	}
	if want := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, tokenBytes)); c.Value != want {
		t.Errorf("token %q, want the injected random bytes %q", c.Value, want)
	}
	for key := range store.sessions {
		if strings.Contains(key, c.Value) || key != storeKey(c.Value) {
			t.Errorf("stored under %q: want the SHA-256 of the token, never the token", key)
		}
	}
	load := func(value string) (session, bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: value})
		sess, ok, err := s.load(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return sess, ok
	}
	if sess, ok := load(c.Value); !ok || sess.userID != "u1" || sess.appKey != "42" || sess.identity != "alice@example.com" {
		t.Errorf("load = %+v, %v", sess, ok)
	}
	tampered := []byte(c.Value)
	tampered[len(tampered)/2] ^= 1
	for _, v := range []string{string(tampered), "", "short", c.Value + "A"} {
		if _, ok := load(v); ok {
			t.Errorf("cookie %q accepted", v)
		}
	}
	// The CSRF token of logout is bound to the session token.
	if tok := s.csrf(c.Value); !s.validCSRF(c.Value, tok) || s.validCSRF(string(tampered), tok) || s.validCSRF(c.Value, "") {
		t.Error("CSRF token not bound to the session")
	}
	// A user the store no longer has as active gets no session.
	store.inactive["u2"] = true
	if ok, err := s.start(ctx, httptest.NewRecorder(), User{ID: "u2"}, "bob"); ok || err != nil {
		t.Errorf("inactive user: %v, %v", ok, err)
	}
	clk.t = clk.t.Add(time.Hour)
	if _, ok := load(c.Value); ok {
		t.Error("an expired session was accepted")
	}
	rec = httptest.NewRecorder()
	s.clear(rec)
	if cl := rec.Result().Cookies()[0]; cl.MaxAge >= 0 || cl.Value != "" || !cl.HttpOnly || !cl.Secure {
		t.Errorf("clear: %+v", cl)
	}
}

func TestSessionCookieName(t *testing.T) {
	for u, want := range map[string]string{
		"https://app.example.com":      "__Host-scimbridge_gate",
		"https://app.example.com/":     "__Host-scimbridge_gate",
		"https://example.com/app":      "__Secure-scimbridge_gate",
		"http://127.0.0.1:8080":        "scimbridge_gate",
		"http://127.0.0.1:8080/legacy": "scimbridge_gate",
	} {
		pu, _ := url.Parse(u)
		if got := SessionCookieName(pu); got != want {
			t.Errorf("%s: %s, want %s", u, got, want)
		}
	}
}

type countingDir struct {
	calls atomic.Int64
	user  User
	err   error
	gate  chan struct{} // when set, FindUser waits for it
}

func (d *countingDir) FindUser(context.Context, string) (User, error) {
	d.calls.Add(1)
	if d.gate != nil {
		<-d.gate
	}
	return d.user, d.err
}

func TestCheckerCachesForTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	d := &countingDir{user: User{ID: "1", Active: true}}
	c := newChecker(d, 5*time.Second, clk.now)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, v, _ := c.check(ctx, "a", false); v != allowed {
			t.Fatalf("verdict %s", v)
		}
	}
	if d.calls.Load() != 1 {
		t.Errorf("%d lookups, want 1", d.calls.Load())
	}
	d.user.Active = false
	clk.t = clk.t.Add(4999 * time.Millisecond)
	if _, v, _ := c.check(ctx, "a", false); v != allowed {
		t.Errorf("within ttl: %s, want the cached answer", v)
	}
	clk.t = clk.t.Add(time.Millisecond)
	if _, v, _ := c.check(ctx, "a", false); v != deactivated {
		t.Errorf("at ttl: %s, want deactivated", v)
	}
	if _, v, _ := c.check(ctx, "a", true); v != deactivated || d.calls.Load() != 3 {
		t.Errorf("fresh: %s after %d lookups", v, d.calls.Load())
	}
	// Failures are not cached; not-found answers are.
	d.err = errors.New("db down")
	clk.t = clk.t.Add(time.Minute)
	if _, v, err := c.check(ctx, "a", false); v != unavailable || err == nil {
		t.Errorf("failure: %s, %v", v, err)
	}
	d.err = ErrAmbiguous
	if _, v, err := c.check(ctx, "a", false); v != notProvisioned || !errors.Is(err, ErrAmbiguous) {
		t.Errorf("not found: %s, %v", v, err)
	}
	calls := d.calls.Load()
	if _, v, _ := c.check(ctx, "a", false); v != notProvisioned || d.calls.Load() != calls {
		t.Errorf("not found not cached: %s", v)
	}
}

func TestCheckerSharesConcurrentLookups(t *testing.T) {
	d := &countingDir{user: User{Active: true}, gate: make(chan struct{})}
	c := newChecker(d, time.Second, time.Now)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, v, _ := c.check(context.Background(), "a", false); v != allowed {
				t.Errorf("verdict %s", v)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all arrive (this test is about concurrency, not time)
	close(d.gate)
	wg.Wait()
	if n := d.calls.Load(); n != 1 {
		t.Errorf("%d lookups for 20 concurrent misses, want 1", n)
	}
}

func TestReplayUntil(t *testing.T) {
	now := time.Unix(1000, 0)
	a := &crewsaml.Assertion{ID: "id-1", Conditions: &crewsaml.Conditions{NotOnOrAfter: now.Add(time.Hour)}}
	if got := replayUntil(a, now); !got.Equal(now.Add(time.Hour + crewsaml.MaxClockSkew)) {
		t.Errorf("until %v", got)
	}
	a.Conditions.NotOnOrAfter = now.Add(100 * 24 * time.Hour)
	if got := replayUntil(a, now); !got.Equal(now.Add(replayKeep)) {
		t.Errorf("until %v, want at most replayKeep", got)
	}
	if got := replayUntil(&crewsaml.Assertion{}, now); !got.Equal(now.Add(crewsaml.MaxIssueDelay + 2*crewsaml.MaxClockSkew)) {
		t.Errorf("no conditions: until %v", got)
	}
}

func TestStripIdentityHeaders(t *testing.T) {
	h := newIdentityHeaders(HeaderNames{User: "X-Forwarded-User", Roles: "X-Forwarded-Roles", Signature: "X-Scimbridge-Signature"}, nil)
	in := http.Header{
		"X-Forwarded-User": {"a"}, "x_forwarded_user": {"b"}, "X_Forwarded_User": {"c"}, "X-FORWARDED-ROLES": {"d"},
		"x-forwarded_roles": {"e"}, "X-Scimbridge_Signature": {"f"}, "Accept": {"keep"}, "X-Forwarded": {"keep"},
		// The forwarding family goes too, silently: any X-Forwarded-*, Forwarded, and the rewrite headers.
		"X-Forwarded-For": {"1.2.3.4"}, "x_forwarded_proto": {"https"}, "X_FORWARDED_HOST": {"evil"}, "X-Forwarded-Users": {"x"},
		"Forwarded": {"for=1.2.3.4"}, "x_real_ip": {"1.2.3.4"}, "X-Original-URL": {"/admin"}, "x-rewrite_url": {"/admin"},
		"X-Client-IP": {"1.2.3.4"},
	}
	removed := h.stripFrom(in)
	if len(removed) != 6 {
		t.Errorf("removed identity headers %v, want the 6", removed)
	}
	want := http.Header{"Accept": {"keep"}, "X-Forwarded": {"keep"}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("left %v, want %v", in, want)
	}
	if _, err := h.values(User{UserName: "eve\r\nX-Admin: 1"}); err == nil {
		t.Error("a value with CR LF was accepted")
	}
}

func TestEncodeList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"Admins", "Support"}, "Admins,Support"},
		{[]string{"Sales,Admins"}, "Sales%2CAdmins"},
		{[]string{"R&D Team", "100%", "a+b", "Überall", "x_y.z~-"}, "R%26D%20Team,100%25,a%2Bb,%C3%9Cberall,x_y.z~-"},
		{[]string{""}, ""},
	} {
		got := EncodeList(tc.in)
		if got != tc.want {
			t.Errorf("EncodeList(%q) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := DecodeList(got)
		if err != nil || len(tc.in) > 0 && tc.want != "" && !reflect.DeepEqual(back, tc.in) {
			t.Errorf("DecodeList(%q) = %q, %v", got, back, err)
		}
	}
	if _, err := DecodeList("a,%zz"); err == nil {
		t.Error("a bad escape decoded")
	}
}

func TestStripGateCookies(t *testing.T) {
	h := http.Header{"Cookie": {"app=1; scimbridge_gate=secret; scimbridge_saml_abc=x", "theme=dark;  other=a=b"}}
	stripCookies(h, func(n string) bool { return n == "scimbridge_gate" || strings.HasPrefix(n, "scimbridge_saml_") })
	if got := h.Values("Cookie"); len(got) != 1 || got[0] != "app=1; theme=dark; other=a=b" {
		t.Errorf("Cookie = %q", got)
	}
	h = http.Header{"Cookie": {"scimbridge_gate=secret"}}
	stripCookies(h, func(n string) bool { return n == "scimbridge_gate" })
	if _, ok := h["Cookie"]; ok {
		t.Error("an empty Cookie header is left")
	}
}

func TestSignedHeader(t *testing.T) {
	secret := []byte("s3cret-s3cret-s3cret-s3cret-s3cret")
	names := HeaderNames{User: "X-Forwarded-User", Email: "X-Forwarded-Email", ID: "X-Forwarded-User-Id",
		AppKey: "X-Forwarded-User-Key", Groups: "X-Forwarded-Groups", Roles: "X-Forwarded-Roles", Signature: "X-Scimbridge-Signature"}
	h := newIdentityHeaders(names, secret)
	now := time.Unix(1_800_000_000, 0)
	vals, err := h.values(User{UserName: "alice", ID: "u1", AppKey: "42", Groups: []string{"Sales,Admins"}, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	signed := http.Header{}
	h.apply(signed, vals, http.MethodGet, "/reports?y=2026", now)
	v := signed.Get("X-Scimbridge-Signature")
	if !strings.HasPrefix(v, "t=1800000000,v1=") {
		t.Errorf("value %q", v)
	}
	// The documented canonical string, by hand.
	want := "scimbridge-gate-v1\n1800000000\nGET\n/reports?y=2026\nx-forwarded-user:alice\nx-forwarded-email:\n" +
		"x-forwarded-user-id:u1\nx-forwarded-user-key:42\nx-forwarded-groups:Sales%2CAdmins\nx-forwarded-roles:admin"
	if v != "t=1800000000,v1="+hex.EncodeToString(mac(secret, want)) {
		t.Errorf("the signature is not the HMAC of the documented canonical string")
	}
	request := func(edit func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/reports?y=2026", nil)
		r.Header = signed.Clone()
		if edit != nil {
			edit(r)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		edit func(r *http.Request)
		at   time.Time
		ok   bool
	}{
		{"valid", nil, now.Add(30 * time.Second), true},
		{"other user", func(r *http.Request) { r.Header.Set("X-Forwarded-User", "bob") }, now, false},
		{"email added", func(r *http.Request) { r.Header.Set("X-Forwarded-Email", "a@example.com") }, now, false},
		{"other id", func(r *http.Request) { r.Header.Set("X-Forwarded-User-Id", "u2") }, now, false},
		{"other app key", func(r *http.Request) { r.Header.Set("X-Forwarded-User-Key", "1") }, now, false},
		{"groups split", func(r *http.Request) { r.Header.Set("X-Forwarded-Groups", "Sales,Admins") }, now, false},
		{"roles removed", func(r *http.Request) { r.Header.Del("X-Forwarded-Roles") }, now, false},
		{"header repeated", func(r *http.Request) { r.Header.Add("X-Forwarded-Roles", "admin") }, now, false},
		{"other method", func(r *http.Request) { r.Method = http.MethodPost }, now, false},
		{"other path", func(r *http.Request) { r.RequestURI = "/admin?y=2026" }, now, false},
		{"other query", func(r *http.Request) { r.RequestURI = "/reports?y=2027" }, now, false},
		{"too old", nil, now.Add(6 * time.Minute), false},
		{"from the future", nil, now.Add(-6 * time.Minute), false},
		{"other timestamp", func(r *http.Request) {
			r.Header.Set("X-Scimbridge-Signature", strings.Replace(v, "t=1800000000", "t=1800000001", 1))
		}, now, false},
		{"malformed", func(r *http.Request) { r.Header.Set("X-Scimbridge-Signature", "garbage") }, now, false},
	} {
		if err := VerifyRequest(request(tc.edit), secret, names, tc.at, 5*time.Minute); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := VerifyRequest(request(nil), []byte("another secret, as long as the other"), names, now, time.Minute); err == nil {
		t.Error("verified with another secret")
	}
}

func TestSafeRedirectAndPlainPath(t *testing.T) {
	for in, want := range map[string]string{
		"/reports?x=1": "/reports?x=1", "//evil.example/x": "/", "/\\evil.example": "/", "https://evil.example": "/",
		"evil": "/", "": "/", "/a\r\nSet-Cookie: x": "/", "javascript:alert(1)": "/",
	} {
		if got := safeRedirect(in, "/"); got != want {
			t.Errorf("safeRedirect(%q) = %q, want %q", in, got, want)
		}
	}
	for p, want := range map[string]bool{"/static/a.js": true, "/static/../x": false, "/static/./x": false,
		"/static//x": false, "/static/..;/x": false, "/static/%2e": false, "/static\\x": false} {
		if plainPath(p) != want {
			t.Errorf("plainPath(%q) = %v", p, !want)
		}
	}
}

type recordingLister struct{ q scim.ListQuery }

func (l *recordingLister) ListUsers(_ context.Context, q scim.ListQuery) (scim.Page, error) {
	l.q = q
	return scim.Page{}, nil
}

func TestStoreDirectoryBuildsTheFilterAsATree(t *testing.T) {
	evil := `a" or userName pr or userName eq "b`
	l := &recordingLister{}
	_, _ = StoreDirectory{Users: l, Match: "email"}.FindUser(context.Background(), evil)
	want := &scim.LogicalExpr{
		Left:  &scim.CompareExpr{Attr: scim.AttrPath{Name: "emails", Sub: "value"}, Op: scim.OpEq, Value: evil},
		Right: &scim.CompareExpr{Attr: scim.AttrPath{Name: "userName"}, Op: scim.OpEq, Value: evil},
	}
	if !reflect.DeepEqual(l.q.Filter, scim.Expr(want)) {
		t.Errorf("filter %s, want %s", l.q.Filter, want)
	}
	_, _ = StoreDirectory{Users: l}.FindUser(context.Background(), evil)
	if !reflect.DeepEqual(l.q.Filter, want.Right) {
		t.Errorf("filter %s, want %s", l.q.Filter, want.Right)
	}
}

func TestUserFromResource(t *testing.T) {
	got := userFromResource(scim.Resource{
		"id": "1", "userName": "ann", "displayName": "Ann", "active": false,
		"emails": []any{map[string]any{"value": "a@x"}, map[string]any{"value": "p@x", "primary": true}},
		"groups": []any{map[string]any{"value": "g1", "display": "Sales"}, map[string]any{"value": "g2"}},
		"roles":  []any{map[string]any{"value": "admin"}},
	})
	// "roles" and "groups" written on the resource are not forwarded: the gate's roles and groups come
	// from the store's group memberships (StoreDirectory.Access), never from client-written attributes.
	want := User{ID: "1", UserName: "ann", DisplayName: "Ann", Email: "p@x", Active: false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if u := userFromResource(scim.Resource{"userName": "bob"}); !u.Active || u.Roles != nil || u.Groups != nil {
		t.Errorf("absent active/roles/groups: %+v", u)
	}
}
