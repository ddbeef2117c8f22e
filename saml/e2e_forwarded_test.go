package saml_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/scim"
)

// forgedForwarding are forwarding headers a client sends itself, in the spellings servers fold together
// (werkzeug's ProxyFix reads HTTP_X_FORWARDED_FOR whether the client wrote "-" or "_").
var forgedForwarding = map[string]string{
	"Forwarded":          "for=6.6.6.6;host=evil.example;proto=https",
	"X-Forwarded-For":    "6.6.6.6",
	"x_forwarded_for":    "6.6.6.6",
	"X_Forwarded_For":    "6.6.6.6",
	"x_forwarded_proto":  "https-evil",
	"X-Forwarded-Proto":  "https-evil",
	"x_forwarded_host":   "evil.example",
	"X-FORWARDED-HOST":   "evil.example",
	"X-Forwarded-Port":   "6666",
	"X-Forwarded-Prefix": "/evil",
	"X-Forwarded-Ssl":    "on-evil",
	"X-Real-IP":          "6.6.6.6",
	"x_real_ip":          "6.6.6.6",
	"X-Original-URL":     "/evil-admin",
	"X-Rewrite-URL":      "/evil-admin",
	"x_original_url":     "/evil-admin",
	"X-Client-IP":        "6.6.6.6",
}

func TestForwardingHeadersAreTheGatesOwn(t *testing.T) {
	e := newEnv(t)
	e.addIdPUser(t, "alice", "alice@example.com")
	e.provision("alice@example.com", saml.User{ID: "a1", UserName: "alice@example.com"})
	c := browser(t)
	publicHost := strings.TrimPrefix(e.gateSrv.URL, "http://")
	check := func(t *testing.T, path string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.gateSrv.URL+path, nil)
		for k, v := range forgedForwarding {
			req.Header[k] = []string{v}
		}
		req.Host = "evil.example" // the client's Host header
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		got := e.app.last(t)
		for k, vals := range got {
			for _, v := range vals {
				if strings.Contains(v, "6.6.6.6") || strings.Contains(v, "evil") || strings.Contains(v, "6666") {
					t.Errorf("%s: the app got the client's %s: %q", path, k, v)
				}
			}
		}
		want := map[string]string{
			"X-Forwarded-For":   "127.0.0.1", // the TCP peer the gate sees: this test's client, on loopback
			"X-Forwarded-Host":  publicHost,
			"X-Forwarded-Proto": "http",
			"X-Echo-Host":       publicHost, // Host: the public URL's, not the client's
		}
		for k, v := range want {
			if vals := got.Values(k); len(vals) != 1 || vals[0] != v {
				t.Errorf("%s: %s = %q, want [%q]", path, k, vals, v)
			}
		}
	}
	t.Run("bypass path, no session", func(t *testing.T) { check(t, "/healthz") })
	if resp, body := e.login(t, c, "alice", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	t.Run("signed in", func(t *testing.T) { check(t, "/reports") })
	t.Run("bypass path, signed in", func(t *testing.T) { check(t, "/static/app.js") })
	// Forwarding headers come from any load balancer in front: stripped, not counted as spoofing.
	if st := e.gate.Stats(); st.SpoofedHeaders != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestForwardingTrailerRefused(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.gateSrv.URL+"/healthz", strings.NewReader("x"))
	req.TransferEncoding = []string{"chunked"}
	req.Trailer = http.Header{"X_forwarded_for": {"6.6.6.6"}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e.app.hits.Load() != 0 {
		t.Errorf("%s (app hits %d), want 400 and nothing proxied", resp.Status, e.app.hits.Load())
	}
}

// A group named "Sales,Admins" is one group to the application, not a membership of Admins (whose
// rule grants admin): list headers are percent-encoded element by element.
func TestGroupNameWithACommaCannotForgeAMembership(t *testing.T) {
	m := newMariaEnv(t, "userName", withSignedHeader)
	ctx := context.Background()
	id := m.createUser(t, scim.Resource{"userName": "olga@example.com"})
	if _, err := m.store.CreateGroup(ctx, scim.Resource{"displayName": "Sales,Admins"}, []scim.Member{{Value: id}}); err != nil {
		t.Fatal(err)
	}
	m.addIdPUser(t, "olga", "olga@example.com")
	if resp, body := m.login(t, browser(t), "olga", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	got := m.app.last(t)
	if v := got.Get("X-Forwarded-Groups"); v != "Sales%2CAdmins" {
		t.Errorf("X-Forwarded-Groups = %q", v)
	}
	groups, err := saml.DecodeList(got.Get("X-Forwarded-Groups"))
	if err != nil || !slices.Equal(groups, []string{"Sales,Admins"}) {
		t.Errorf("decoded groups %q, %v; want exactly [Sales,Admins]", groups, err)
	}
	if slices.Contains(strings.Split(got.Get("X-Forwarded-Groups"), ","), "Admins") || got.Get("X-Forwarded-Roles") != "" {
		t.Errorf("reads as a member of Admins: groups %q roles %q", got.Get("X-Forwarded-Groups"), got.Get("X-Forwarded-Roles"))
	}
	if err := verifyAt(got, m.clock.Now()); err != nil {
		t.Errorf("signature: %v", err)
	}
}

// The application verifies the signed header over every identity header, the method and the path; any
// of them changed on the way fails.
func TestReceiverVerifiesEveryIdentityHeader(t *testing.T) {
	m := newMariaEnv(t, "email", withSignedHeader)
	ctx := context.Background()
	id := m.createUser(t, scim.Resource{"userName": "pat@corp.example",
		"emails": []any{map[string]any{"value": "pat@example.com", "primary": true}}})
	for _, g := range []string{"Admins", "Support", "R&D, Europe"} {
		if _, err := m.store.CreateGroup(ctx, scim.Resource{"displayName": g}, []scim.Member{{Value: id}}); err != nil {
			t.Fatal(err)
		}
	}
	m.addIdPUser(t, "pat", "pat@example.com")
	c := browser(t)
	if resp, body := m.login(t, c, "pat", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	if resp, _ := m.do(t, c, http.MethodPost, "/orders?id=7&x=a%20b", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %s", resp.Status)
	}
	got := m.app.last(t)
	for _, h := range []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-User-Id", "X-Forwarded-User-Key",
		"X-Forwarded-Groups", "X-Forwarded-Roles"} {
		if got.Get(h) == "" {
			t.Fatalf("the app got no %s: %v", h, got)
		}
	}
	if err := verifyAt(got, m.clock.Now()); err != nil {
		t.Fatalf("the receiver does not verify the gate's request: %v", err)
	}
	for _, tc := range []struct{ name, value string }{
		{"X-Forwarded-User", "admin@corp.example"}, {"X-Forwarded-Email", "admin@example.com"},
		{"X-Forwarded-User-Id", "00000000-0000-0000-0000-000000000000"}, {"X-Forwarded-User-Key", "999999"},
		{"X-Forwarded-Groups", got.Get("X-Forwarded-Groups") + ",Owners"}, {"X-Forwarded-Roles", "admin,owner"},
		{"X-Echo-Method", http.MethodGet}, {"X-Echo-Path", "/orders?id=8&x=a%20b"}, {"X-Echo-Path", "/admin"},
	} {
		tampered := got.Clone()
		tampered.Set(tc.name, tc.value)
		if err := verifyAt(tampered, m.clock.Now()); err == nil {
			t.Errorf("%s changed to %q: still verifies", tc.name, tc.value)
		}
		removed := got.Clone()
		removed.Del(tc.name)
		if !strings.HasPrefix(tc.name, "X-Echo") && verifyAt(removed, m.clock.Now()) == nil {
			t.Errorf("%s removed: still verifies", tc.name)
		}
	}
}
