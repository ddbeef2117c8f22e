package saml_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/saml"
)

// newCert makes a self-signed certificate with a small RSA key (fast; 1024 bits is Go's minimum).
func newCert(t testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// fakeDirectory is a Directory in a map, keyed by identity, whose users can be flipped to inactive.
type fakeDirectory struct {
	mu      sync.Mutex
	users   map[string]saml.User
	lookups atomic.Int64
}

func (d *fakeDirectory) FindUser(_ context.Context, identity string) (saml.User, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[identity]
	if !ok {
		return saml.User{}, saml.ErrNotFound
	}
	return u, nil
}

func (d *fakeDirectory) setActive(identity string, active bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.users[identity]
	u.Active = active
	d.users[identity] = u
}

// upstream is the application: it echoes the headers it gets and counts requests.
type upstream struct {
	srv   *httptest.Server
	hits  atomic.Int64
	quiet atomic.Bool // answer "ok" without recording (benchmarks)
	mu    sync.Mutex
	seen  []http.Header
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if u.quiet.Load() {
			_, _ = w.Write([]byte("ok"))
			return
		}
		h := r.Header.Clone()
		h.Set("X-Echo-Path", r.RequestURI) // as received: what the signature covers
		h.Set("X-Echo-Method", r.Method)
		h.Set("X-Echo-Host", r.Host)
		u.mu.Lock()
		u.seen = append(u.seen, h)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(h)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) last(t testing.TB) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the app got no request")
	}
	return u.seen[len(u.seen)-1]
}

// syncBuffer collects the gate's log.
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

// env is one end-to-end setup: crewjam's samlidp as the IdP, the gate, and the upstream app.
type env struct {
	idp      *samlidp.Server
	idpSrv   *httptest.Server
	gate     *saml.Gate
	gateSrv  *httptest.Server
	app      *upstream
	dir      *fakeDirectory
	store    gateStore      // the gate's sessions and used assertions
	clock    *testfix.Clock // the gate's injected clock
	logs     *syncBuffer
	metadata []byte // the gate's SP metadata, as registered at the IdP
	opts     saml.Options
	handler  *atomic.Pointer[saml.Gate] // what gateSrv serves: swapped to run another gate instance
}

const password = "correct horse battery staple"

// gateStore is what the gate keeps server-side: saml.NewMemStore, or *mysql.GateSessions on MariaDB.
type gateStore interface {
	saml.SessionStore
	saml.ReplayStore
}

// options tweak the gate of an env.
type options func(o *saml.Options)

func newEnv(t testing.TB, tweaks ...options) *env {
	t.Helper()
	e := &env{app: newUpstream(t), clock: testfix.NewClock(time.Now()), logs: &syncBuffer{},
		dir: &fakeDirectory{users: map[string]saml.User{}}, store: saml.NewMemStore()}

	// The IdP.
	idpKey, idpCert := newCert(t, "idp")
	e.idpSrv = httptest.NewServer(nil)
	t.Cleanup(e.idpSrv.Close)
	idpURL, _ := url.Parse(e.idpSrv.URL)
	idp, err := samlidp.New(samlidp.Options{URL: *idpURL, Key: idpKey, Certificate: idpCert,
		Store: &samlidp.MemoryStore{}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	idp.IDP.SignatureMethod = dsig.RSASHA256SignatureMethod // what Okta and Entra use
	e.idp = idp
	e.idpSrv.Config.Handler = idp

	// The gate, on a server whose URL is its public URL.
	var handler atomic.Pointer[saml.Gate]
	e.gateSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.Load().ServeHTTP(w, r) }))
	t.Cleanup(e.gateSrv.Close)
	spKey, spCert := newCert(t, "sp")
	o := saml.Options{
		Upstream:       mustParse(t, e.app.srv.URL),
		PublicURL:      mustParse(t, e.gateSrv.URL),
		AppName:        "Legacy App",
		Key:            spKey,
		Certificate:    spCert,
		IDPMetadataURL: e.idpSrv.URL + "/metadata",
		Directory:      e.dir,
		Sessions:       e.store,
		Replay:         e.store,
		Bypass:         []string{"/healthz", "/static/"},
		Headers:        saml.DefaultHeaderNames,
		Now:            e.clock.Now,
		Log:            slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, tw := range tweaks {
		tw(&o)
	}
	if st, ok := o.Sessions.(gateStore); ok {
		e.store = st // a tweak's store (MariaDB)
	}
	g, err := saml.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.gate, e.opts, e.handler = g, o, &handler
	handler.Store(g)

	// Register the SP at the IdP with the gate's own metadata.
	e.metadata = e.get(t, http.DefaultClient, e.gateSrv.URL+"/saml/metadata")
	e.registerSP(t, "gate", e.metadata)
	return e
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) get(t testing.TB, c *http.Client, u string) []byte {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return b
}

// put sends a PUT to the IdP's REST API.
func (e *env) put(t testing.TB, path string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.idpSrv.URL+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

func (e *env) registerSP(t testing.TB, id string, metadata []byte) {
	e.put(t, "/services/"+id, metadata)
}

// addIdPUser creates a user at the IdP; its NameID is its email.
func (e *env) addIdPUser(t testing.TB, name, email string) {
	js, _ := json.Marshal(map[string]any{"name": name, "email": email, "password": password, "common_name": name})
	e.put(t, "/users/"+name, js)
}

// provision adds an active user to the fake directory, under identity.
func (e *env) provision(identity string, u saml.User) {
	e.dir.mu.Lock()
	defer e.dir.mu.Unlock()
	u.Active = true
	e.dir.users[identity] = u
}

// verifyAt checks, as the application would, the signed header of a request the upstream recorded.
func verifyAt(h http.Header, now time.Time) error {
	names := saml.DefaultHeaderNames
	names.Signature = "X-Scimbridge-Signature"
	r := &http.Request{Method: h.Get("X-Echo-Method"), RequestURI: h.Get("X-Echo-Path"), Header: h}
	return saml.VerifyRequest(r, secret, names, now, time.Minute)
}
