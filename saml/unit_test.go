package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestSessionCookie(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := sessionKey(key)
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	s := &sessionCookies{name: DefaultSessionCookie, path: "/", secure: true, issuer: "https://app.example.com",
		lifetime: time.Hour, key: k, now: clk.now}
	rec := httptest.NewRecorder()
	if err := s.issue(rec, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != "scimbridge_gate" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "" || c.Path != "/" || c.MaxAge != 3600 {
		t.Errorf("cookie attributes: %+v", c)
	}
	read := func(value string) (string, bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: value})
		return s.read(r)
	}
	if id, ok := read(c.Value); !ok || id != "alice@example.com" {
		t.Errorf("read = %q, %v", id, ok)
	}
	tampered := []byte(c.Value)
	tampered[len(tampered)/2] ^= 1
	if _, ok := read(string(tampered)); ok {
		t.Error("a tampered cookie was accepted")
	}
	other := *s
	other.issuer = "https://other.example.com"
	rec = httptest.NewRecorder()
	_ = other.issue(rec, "alice@example.com")
	if _, ok := read(rec.Result().Cookies()[0].Value); ok {
		t.Error("a cookie of another gate (same key, other public URL) was accepted")
	}
	clk.t = clk.t.Add(time.Hour)
	if _, ok := read(c.Value); ok {
		t.Error("an expired cookie was accepted")
	}
	rec = httptest.NewRecorder()
	s.clear(rec)
	if cl := rec.Result().Cookies()[0]; cl.MaxAge >= 0 || cl.Value != "" || !cl.HttpOnly || !cl.Secure {
		t.Errorf("clear: %+v", cl)
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

func TestReplayCache(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := newReplayCache(clk.now)
	a := &crewsaml.Assertion{ID: "id-1", Conditions: &crewsaml.Conditions{NotOnOrAfter: clk.t.Add(90 * time.Second)}}
	if !c.firstUse(a) || c.firstUse(a) {
		t.Fatal("second use not detected")
	}
	clk.t = clk.t.Add(10 * time.Minute) // long after crewjam would refuse it as expired
	if !c.firstUse(a) {
		t.Error("the ID is kept forever")
	}
	if c.firstUse(&crewsaml.Assertion{}) {
		t.Error("an assertion without ID was accepted")
	}
}

func TestStripIdentityHeaders(t *testing.T) {
	h := newIdentityHeaders(HeaderNames{User: "X-Forwarded-User", Roles: "X-Forwarded-Roles", Signature: "X-Scimbridge-Signature"}, nil)
	in := http.Header{
		"X-Forwarded-User": {"a"}, "x_forwarded_user": {"b"}, "X_Forwarded_User": {"c"}, "X-FORWARDED-ROLES": {"d"},
		"x-forwarded_roles": {"e"}, "X-Scimbridge_Signature": {"f"}, "X-Forwarded-Users": {"keep"}, "Accept": {"keep"},
		"X-Forwarded-For": {"keep"},
	}
	removed := h.stripFrom(in)
	if len(removed) != 6 {
		t.Errorf("removed %v", removed)
	}
	want := http.Header{"X-Forwarded-Users": {"keep"}, "Accept": {"keep"}, "X-Forwarded-For": {"keep"}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("left %v, want %v", in, want)
	}
	out := http.Header{}
	if err := h.set(out, User{UserName: "eve\r\nX-Admin: 1"}, time.Now()); err == nil {
		t.Error("a value with CR LF was accepted")
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
	now := time.Unix(1_800_000_000, 0)
	v := SignHeader(secret, "alice", now)
	if !strings.HasPrefix(v, "t=1800000000,v1=") {
		t.Errorf("value %q", v)
	}
	for _, tc := range []struct {
		name, user, value string
		at                time.Time
		ok                bool
	}{
		{"valid", "alice", v, now.Add(30 * time.Second), true},
		{"other user", "bob", v, now, false},
		{"too old", "alice", v, now.Add(6 * time.Minute), false},
		{"from the future", "alice", v, now.Add(-6 * time.Minute), false},
		{"other timestamp", "alice", strings.Replace(v, "t=1800000000", "t=1800000001", 1), now, false},
		{"malformed", "alice", "garbage", now, false},
	} {
		if err := VerifyHeader(secret, tc.user, tc.value, tc.at, 5*time.Minute); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
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
