package saml_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/saml"
)

// flakyMetadata serves the IdP's metadata, or 503 while failing is set.
type flakyMetadata struct {
	srv     *httptest.Server
	target  string
	failing atomic.Bool
	fetches atomic.Int64
}

func newFlakyMetadata(t *testing.T) *flakyMetadata {
	m := &flakyMetadata{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.fetches.Add(1)
		if m.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		resp, err := http.Get(m.target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *flakyMetadata) tweak(o *saml.Options) {
	m.target, o.IDPMetadataURL = o.IDPMetadataURL, m.srv.URL
}

func TestMetadataRefreshFailureKeepsLastGoodCopy(t *testing.T) {
	m := newFlakyMetadata(t)
	e := aliceEnv(t, m.tweak)
	m.failing.Store(true)
	if err := e.gate.RefreshMetadata(context.Background()); err == nil {
		t.Fatal("refresh from a failing URL succeeded")
	}
	if resp, body := e.login(t, browser(t), "alice", "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the last good metadata: %s\n%s", resp.Status, body)
	}
	if st := e.gate.Stats(); st.MetadataFailures != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(e.logs.String(), "keeping the last good copy") {
		t.Errorf("not logged:\n%s", e.logs)
	}
	m.failing.Store(false)
	if err := e.gate.RefreshMetadata(context.Background()); err != nil {
		t.Errorf("refresh: %v", err)
	}
}

func TestMetadataUnavailableAtStart(t *testing.T) {
	m := newFlakyMetadata(t)
	m.failing.Store(true)
	app := newUpstream(t)
	var gate atomic.Pointer[saml.Gate]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gate.Load().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	idp := newEnv(t) // only for its IdP
	m.target = idp.idpSrv.URL + "/metadata"
	key, cert := newCert(t, "sp")
	g, err := saml.New(context.Background(), saml.Options{
		Upstream: mustParse(t, app.srv.URL), PublicURL: mustParse(t, srv.URL), Key: key, Certificate: cert,
		IDPMetadataURL: m.srv.URL, Directory: &fakeDirectory{}, Sessions: saml.NewMemStore(), Replay: saml.NewMemStore(), Bypass: []string{"/healthz"},
	})
	if err != nil {
		t.Fatalf("New must not fail when the metadata URL is down: %v", err)
	}
	gate.Store(g)
	c := noRedirects(browser(t))
	for path, want := range map[string]int{"/": http.StatusServiceUnavailable, "/saml/metadata": http.StatusServiceUnavailable, "/healthz": http.StatusOK} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	m.failing.Store(false)
	if err := g.RefreshMetadata(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), idp.idpSrv.URL) {
		t.Errorf("after the metadata loaded: %s, want a redirect to the IdP", resp.Status)
	}
}

func TestBadMetadataFileRefused(t *testing.T) {
	key, cert := newCert(t, "sp")
	u := mustParse(t, "https://app.example.com")
	for _, md := range []string{"not xml", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"></EntityDescriptor>`} {
		_, err := saml.New(context.Background(), saml.Options{Upstream: u, PublicURL: u, Key: key, Certificate: cert,
			IDPMetadata: []byte(md), Directory: &fakeDirectory{}, Sessions: saml.NewMemStore(), Replay: saml.NewMemStore()})
		if err == nil || !strings.Contains(err.Error(), "IdP metadata") {
			t.Errorf("metadata %q: err = %v", md, err)
		}
	}
}

func TestServeRunsAndStops(t *testing.T) {
	e := newEnv(t)
	key, cert := newCert(t, "sp")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g, err := saml.New(context.Background(), saml.Options{
		Upstream: mustParse(t, e.app.srv.URL), PublicURL: mustParse(t, "http://"+ln.Addr().String()), Key: key, Certificate: cert,
		IDPMetadataURL: e.idpSrv.URL + "/metadata", Directory: e.dir, Sessions: e.store, Replay: e.store, Bypass: []string{"/healthz"},
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

// A __Host- or __Secure- session cookie the public URL cannot carry is refused at start: browsers would
// drop it silently and every sign-in would loop.
func TestSessionCookiePrefixMustFitThePublicURL(t *testing.T) {
	key, cert := newCert(t, "sp")
	for _, tc := range []struct {
		public, cookie string
		ok             bool
	}{
		{"https://app.example.com", "", true}, // default: __Host-
		{"https://example.com/app", "", true}, // default: __Secure-
		{"https://example.com/app", "__Host-gate", false},
		{"http://app.example.com", "__Secure-gate", false},
		{"http://app.example.com", "__Host-gate", false},
		{"https://app.example.com", "my_gate", true}, // kept as given
	} {
		u := mustParse(t, tc.public)
		_, err := saml.New(context.Background(), saml.Options{Upstream: u, PublicURL: u, Key: key, Certificate: cert,
			IDPMetadataURL: "http://127.0.0.1:1/metadata", HTTPClient: &http.Client{Timeout: time.Second},
			Directory: &fakeDirectory{}, Sessions: saml.NewMemStore(), Replay: saml.NewMemStore(), SessionCookie: tc.cookie})
		if (err == nil) != tc.ok {
			t.Errorf("%s with cookie %q: %v", tc.public, tc.cookie, err)
		}
	}
}
