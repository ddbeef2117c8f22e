package saml_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/saml"
)

// spoofed are identity headers a client sends itself, in the spellings servers fold together.
var spoofed = map[string]string{
	"X-Forwarded-User":       "admin@example.com",
	"x_forwarded_user":       "admin@example.com",
	"X_Forwarded_User":       "admin@example.com",
	"X-FORWARDED-ROLES":      "admin",
	"x-forwarded-groups":     "Administrators",
	"X_FORWARDED_EMAIL":      "admin@example.com",
	"X-Forwarded-User-Id":    "1",
	"x_forwarded_user_id":    "1",
	"X-Scimbridge-Signature": "t=1,v1=00",
	"x_scimbridge_signature": "t=1,v1=00",
}

// identityHeadersIn returns the headers the app got that are identity headers in any spelling.
func identityHeadersIn(h http.Header) map[string][]string {
	names := map[string]bool{}
	for _, n := range []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Roles", "X-Forwarded-Groups",
		"X-Forwarded-User-Id", "X-Scimbridge-Signature"} {
		names[config.NormalizeHeaderName(n)] = true
	}
	out := map[string][]string{}
	for k, v := range h {
		if names[config.NormalizeHeaderName(k)] {
			out[k] = v
		}
	}
	return out
}

func TestSpoofedIdentityHeadersNeverReachTheApp(t *testing.T) {
	e := newEnv(t, withSignedHeader)
	e.addIdPUser(t, "alice", "alice@example.com")
	e.provision("alice@example.com", saml.User{ID: "a1", UserName: "alice@example.com", Email: "alice@example.com"})
	c := browser(t)

	t.Run("unauthenticated, protected path", func(t *testing.T) {
		resp, _ := e.do(t, noRedirects(c), http.MethodGet, "/admin", spoofed)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL) {
			t.Errorf("%s, want a redirect to the IdP", resp.Status)
		}
		if e.app.hits.Load() != 0 {
			t.Error("the app got the request")
		}
	})
	t.Run("bypass paths, no session", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/static/app.js"} {
			resp, _ := e.do(t, c, http.MethodGet, path, spoofed)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", path, resp.Status)
			}
			if got := identityHeadersIn(e.app.last(t)); len(got) != 0 {
				t.Errorf("%s: the app got %v", path, got)
			}
		}
	})

	if resp, body := e.login(t, c, "alice", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s", resp.Status, body)
	}
	t.Run("signed in, protected path", func(t *testing.T) {
		resp, _ := e.do(t, c, http.MethodGet, "/admin", spoofed)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s", resp.Status)
		}
		got := identityHeadersIn(e.app.last(t))
		want := map[string]string{"X-Forwarded-User": "alice@example.com", "X-Forwarded-Email": "alice@example.com", "X-Forwarded-User-Id": "a1"}
		for k, v := range got {
			if k == "X-Scimbridge-Signature" {
				if len(v) != 1 || v[0] == spoofed[k] {
					t.Errorf("signature %q", v)
				}
				continue
			}
			if len(v) != 1 || v[0] != want[k] {
				t.Errorf("the app got %s: %q", k, v)
			}
		}
		if len(got) != len(want)+1 {
			t.Errorf("the app got %v, want exactly the gate's %v and the signature", got, want)
		}
	})
	t.Run("signed in, bypass path", func(t *testing.T) {
		resp, _ := e.do(t, c, http.MethodGet, "/static/app.js", spoofed)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s", resp.Status)
		}
		if got := identityHeadersIn(e.app.last(t)); len(got) != 0 {
			t.Errorf("a bypass path got identity headers: %v", got)
		}
	})
	t.Run("named in Connection", func(t *testing.T) {
		// A hop-by-hop trick must not remove the gate's own header either.
		resp, _ := e.do(t, c, http.MethodGet, "/x", map[string]string{"Connection": "X-Forwarded-User"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s", resp.Status)
		}
		if v := e.app.last(t).Values("X-Forwarded-User"); len(v) != 1 || v[0] != "alice@example.com" {
			t.Errorf("X-Forwarded-User = %q", v)
		}
	})
	if st := e.gate.Stats(); st.SpoofedHeaders != 5 {
		t.Errorf("stats = %+v, want 5 requests with spoofed headers", st)
	}
	if !strings.Contains(e.logs.String(), "dropped identity headers") {
		t.Errorf("not logged:\n%s", e.logs)
	}
}

func TestIdentityTrailerRefused(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.gateSrv.URL+"/healthz", strings.NewReader("x"))
	req.TransferEncoding = []string{"chunked"}
	req.Trailer = http.Header{"X_forwarded_user": {"admin"}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e.app.hits.Load() != 0 {
		t.Errorf("%s (app hits %d), want 400 and nothing proxied", resp.Status, e.app.hits.Load())
	}
}

func TestBypassPaths(t *testing.T) {
	e := newEnv(t)
	c := noRedirects(browser(t))
	for _, tc := range []struct {
		path     string
		bypassed bool
	}{
		{"/healthz", true},
		{"/static/css/site.css", true},
		{"/static/", true},
		{"/healthz/", false},      // exact rule
		{"/healthzx", false},      // exact rule
		{"/static", false},        // prefix rule needs the slash
		{"/STATIC/app.js", false}, // case matters
		{"/static/../admin", false},
		{"/static/%2e%2e/admin", false},
		{"/static/..;/admin", false},
		{"/static//evil", false},
		{"/static/%252e%252e/admin", false},
	} {
		hits := e.app.hits.Load()
		resp, _ := e.do(t, c, http.MethodGet, tc.path, nil)
		proxied := e.app.hits.Load() > hits
		if proxied != tc.bypassed {
			t.Errorf("%s: proxied without login = %v (%s), want %v", tc.path, proxied, resp.Status, tc.bypassed)
		}
		if !tc.bypassed && (resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idpSrv.URL)) {
			t.Errorf("%s: %s, want a redirect to the IdP", tc.path, resp.Status)
		}
	}
}
