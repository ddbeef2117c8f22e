package console_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

const idpPassword = "correct horse battery staple"

// idp is crewjam's samlidp, the IdP of the SSO tests.
type idp struct {
	srv *httptest.Server
}

func newIdP(t *testing.T) *idp {
	t.Helper()
	key, cert := newCert(t, "idp")
	i := &idp{srv: httptest.NewServer(nil)}
	t.Cleanup(i.srv.Close)
	u, _ := url.Parse(i.srv.URL)
	s, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	s.IDP.SignatureMethod = dsig.RSASHA256SignatureMethod
	// Its login form posts to /login, which answers JSON and ends the flow (crewjam/saml issue 613): /sso
	// takes the same form and goes on to the service provider (as in the demo).
	s.IDP.LoginURL = s.IDP.SSOURL
	i.srv.Config.Handler = s
	return i
}

func (i *idp) put(t *testing.T, path string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, i.srv.URL+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

// addUser creates an IdP login; its NameID is its email, which the directory looks up as a userName.
func (i *idp) addUser(t *testing.T, name, email string) {
	js, _ := json.Marshal(map[string]any{"name": name, "email": email, "password": idpPassword})
	i.put(t, "/users/"+name, js)
}

func newCert(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
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

// ssoEnv is an env with a [gate] whose IdP is samlidp and a console that signs in members of
// "Console Admins" through it (and has no token).
type ssoEnv struct {
	*env
	idp   *idp
	clock *testfix.Clock
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	i := newIdP(t)
	dir := t.TempDir()
	key, cert := newCert(t, "sp")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, key)})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if os.WriteFile(filepath.Join(dir, "sp.key"), keyPEM, 0o600) != nil || os.WriteFile(filepath.Join(dir, "sp.crt"), certPEM, 0o600) != nil {
		t.Fatal("writing the SP key")
	}
	gateLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(upstream.Close)
	clock := testfix.NewClock(time.Now())
	gate := `
[gate]
listen = "` + gateLn.Addr().String() + `"
upstream = "` + upstream.URL + `"
public_url = "http://` + gateLn.Addr().String() + `"
idp_metadata_url = "` + i.srv.URL + `/metadata"
sp_cert_file = "` + filepath.Join(dir, "sp.crt") + `"
sp_key_file = "` + filepath.Join(dir, "sp.key") + `"
recheck_every = "5s"
`
	e := newEnv(t, setup{console: `admin_group = "Console Admins"`, toml: gate, opts: func(o *app.Options) {
		o.GateListener = gateLn
		o.Now = clock.Now
	}})
	s := &ssoEnv{env: e, idp: i, clock: clock}
	// The console is a service provider of its own at the IdP, registered with its own metadata.
	resp, md := e.browser(t).get(t, e.console+"/saml/metadata")
	if resp.StatusCode != http.StatusOK || !strings.Contains(md, e.console+"/saml/acs") {
		t.Fatalf("console metadata: %s\n%s", resp.Status, md)
	}
	i.put(t, "/services/console", []byte(md))
	return s
}

func mustPKCS8(t *testing.T, key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in:\n%s", page)
	}
	v := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}

// ssoSignIn runs a browser's sign-in through the IdP as login and returns the console's answer to the
// IdP's POST to the ACS.
func (s *ssoEnv) ssoSignIn(t *testing.T, b *browser, login string) (*http.Response, string) {
	t.Helper()
	_, page := b.get(t, s.console+"/login?return_to=/users")
	if !strings.Contains(page, `href="/saml/login?return_to=%2fusers"`) {
		t.Fatalf("sign-in page has no SSO link:\n%s", page)
	}
	resp, page := b.get(t, s.console+"/saml/login?return_to=/users")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), s.idp.srv.URL+"/sso") {
		t.Fatalf("SSO start: %s at %s\n%s", resp.Status, resp.Request.URL, page)
	}
	action, f := form(t, page)
	f.Set("user", login)
	f.Set("password", idpPassword)
	resp, page = b.post(t, action, f, s.idp.srv.URL)
	acs, answer := form(t, page)
	if resp.StatusCode != http.StatusOK || acs != s.console+"/saml/acs" || answer.Get("SAMLResponse") == "" {
		t.Fatalf("IdP login: %s, form to %q\n%s", resp.Status, acs, page)
	}
	return b.post(t, acs, answer, s.idp.srv.URL)
}

// Members of the admin group (an IdP group pushed over SCIM) sign in through the IdP; an IdP user in
// another group, and one SCIM never provisioned, are refused and get no session. Removed from the group
// through SCIM, an admin loses the console at the next recheck.
func TestSSOSignInNeedsTheAdminGroup(t *testing.T) {
	s := newSSOEnv(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.idp.addUser(t, u, u+"@example.com")
	}
	alice := s.mustDo(t, "POST", "/Users", `{"userName":"alice@example.com","name":{"givenName":"Alice"}}`, 201)
	s.mustDo(t, "POST", "/Users", `{"userName":"bob@example.com","name":{"givenName":"Bob"}}`, 201)
	admins := s.mustDo(t, "POST", "/Groups", `{"displayName":"Console Admins","members":[{"value":"`+alice["id"].(string)+`"}]}`, 201)
	s.mustDo(t, "POST", "/Groups", `{"displayName":"Support"}`, 201)

	b := s.browser(t)
	resp, page := s.ssoSignIn(t, b, "alice")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<meta http-equiv="refresh" content="0; url=/users">`) {
		t.Fatalf("alice's sign-in: %s\n%s", resp.Status, page)
	}
	resp, page = b.get(t, s.console+"/users")
	if resp.Request.URL.Path != "/users" || !strings.Contains(page, "alice@example.com</span>") {
		t.Fatalf("alice after sign-in: %s at %s\n%s", resp.Status, resp.Request.URL, page)
	}

	for login, why := range map[string]string{
		"bob":   "not a member of the console&#39;s admin group (Console Admins)",
		"carol": "no provisioned user matches that identity",
	} {
		other := s.browser(t)
		resp, page := s.ssoSignIn(t, other, login)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, why) {
			t.Fatalf("%s's sign-in: %s, want 403 saying %q\n%s", login, resp.Status, why, page)
		}
		if resp, _ := other.get(t, s.console+"/users"); resp.Request.URL.Path != "/login" {
			t.Fatalf("%s was refused but has a session: %s", login, resp.Request.URL)
		}
	}

	s.mustDo(t, "PATCH", "/Groups/"+admins["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+alice["id"].(string)+`\"]"}]}`, 200)
	if resp, _ := b.get(t, s.console+"/users"); resp.Request.URL.Path != "/users" {
		t.Fatalf("within recheck_every the session is trusted: %s", resp.Request.URL)
	}
	s.clock.Advance(6 * time.Second)
	if resp, _ := b.get(t, s.console+"/users"); resp.Request.URL.Path != "/login" {
		t.Fatalf("alice, out of the admin group, still has the console: %s", resp.Request.URL)
	}
}
