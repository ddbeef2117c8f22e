package demo

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/crypto/bcrypt"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/saml"
)

// The SAML side of the demo: crewjam/saml's test IdP (samlidp, in memory) and scimbridge's gate in front
// of the sample app, built from a [gate] section by internal/app as for `scimbridge serve`.

// DefaultRecheckEvery is the demo gate's recheck_every: how long a directory answer (groups, roles) is
// reused. A deactivation through SCIM ends the user's sessions at once, whatever it is.
const DefaultRecheckEvery = 2 * time.Second

// Unprovisioned is the IdP user that SCIM never provisions: the gate refuses it.
const Unprovisioned = "dan@example.com"

// IdPUser is a login of the demo IdP. Its NameID is Email, which the gate looks up as a SCIM userName.
type IdPUser struct {
	Login, Email, Password string
	Expect                 string // what signing in through the gate shows
}

var idpUsers = []IdPUser{
	{Login: "carol", Email: NewUser, Expect: "refused (not provisioned) until step 1 creates her; then let in, " +
		"with roles from her group after step 4; step 6 ends her session, and signing in again is refused (deactivated)"},
	{Login: "alice", Email: "alice@example.com", Expect: "refused (not provisioned) until step 2 adopts her row; then let in " +
		"(no roles: the gate forwards roles from SCIM groups only, not her hand-given support role)"},
	{Login: "dan", Email: Unprovisioned, Expect: "known to the IdP, never provisioned through SCIM: always the 403 " +
		"\"not provisioned\" page, and the app never sees a request of his"},
}

const (
	tokenEnv      = "SCIMBRIDGE_TOKEN"       // config.example.toml's auth.tokens_env; answered by the demo's getenv
	gateSecretEnv = "SCIMBRIDGE_GATE_SECRET" // answered by the demo's own getenv, not the environment
	spCertFile    = "demo-sp.crt"            // in-memory files the demo's readFile serves
	spKeyFile     = "demo-sp.key"
	spID          = "scimbridge-gate" // the service's name at the IdP
	rsaSHA256     = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
)

// GateURL is the sample app's page behind the SAML gate.
func (d *Demo) GateURL() string { return d.gateURL + "/" }

// IdPURL is the test IdP's base URL; its metadata is at IdPURL() + "/metadata".
func (d *Demo) IdPURL() string { return d.idpURL }

// IdPUsers are the test IdP's logins, with their passwords.
func (d *Demo) IdPUsers() []IdPUser { return append([]IdPUser(nil), d.idpUsers...) }

// RecheckEvery is the gate's recheck_every.
func (d *Demo) RecheckEvery() time.Duration { return d.cfg.Gate.RecheckEvery.Duration }

// GateTOML is the [gate] section the gate runs with, appended to config.example.toml.
func (d *Demo) GateTOML() string { return d.gateTOML }

// GateStats are the gate's counters.
func (d *Demo) GateStats() saml.Stats { return d.gate.Stats() }

// gateSection is the [gate] section the demo runs with, appended to config.example.toml and parsed with it.
func gateSection(listen, public, upstream, idp string, recheck time.Duration) string {
	return fmt.Sprintf(`
[gate]
listen = %q
upstream = %q
public_url = %q
app_name = "Legacy App"
idp_metadata_url = "%s/metadata"
sp_cert_file = %q
sp_key_file = %q
identity = "nameid"
match = "userName"
recheck_every = %q
signed_header = { name = %q, secret_env = %q }
`, listen, upstream, public, idp, spCertFile, spKeyFile, recheck.String(), config.DefaultGateSignedHeader, gateSecretEnv)
}

// keyPair is a 2048-bit RSA key with a self-signed certificate.
type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	err  error
}

func newKeyPair(cn string) keyPair {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return keyPair{err: err}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return keyPair{err: err}
	}
	cert, err := x509.ParseCertificate(der)
	return keyPair{key: key, cert: cert, err: err}
}

// newKeyPairs makes the IdP's and the SP's keys in the background, while the database starts.
func newKeyPairs() <-chan [2]keyPair {
	out := make(chan [2]keyPair, 1)
	go func() {
		sp := make(chan keyPair, 1)
		go func() { sp <- newKeyPair("scimbridge-demo-gate") }()
		idp := newKeyPair("scimbridge-demo-idp")
		out <- [2]keyPair{idp, <-sp}
	}()
	return out
}

// startIdP runs samlidp on ln with the demo's users, each with a new random password.
func (d *Demo) startIdP(ln net.Listener, kp keyPair, log *slog.Logger) error {
	u, err := url.Parse(d.idpURL)
	if err != nil {
		return err
	}
	idp, err := samlidp.New(samlidp.Options{URL: *u, Key: kp.key, Certificate: kp.cert, Store: &samlidp.MemoryStore{},
		Logger: slog.NewLogLogger(log.Handler(), slog.LevelDebug)})
	if err != nil {
		return fmt.Errorf("the test IdP: %w", err)
	}
	// Its login form posts to /login, which answers JSON and ends the flow (crewjam/saml issue 613): /sso
	// takes the same form and goes on to the gate.
	idp.IDP.LoginURL = idp.IDP.SSOURL
	idp.IDP.SignatureMethod = rsaSHA256 // what Okta and Entra use
	for _, iu := range idpUsers {
		buf := make([]byte, 6)
		_, _ = rand.Read(buf)
		iu.Password = hex.EncodeToString(buf)
		// The lowest bcrypt cost: these are throw-away passwords, printed on the screen.
		hash, err := bcrypt.GenerateFromPassword([]byte(iu.Password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		if err := idp.Store.Put("/users/"+iu.Login, samlidp.User{Name: iu.Login, Email: iu.Email, CommonName: iu.Login,
			HashedPassword: hash}); err != nil {
			return err
		}
		d.idpUsers = append(d.idpUsers, iu)
	}
	d.idp = idp
	d.idpSrv = d.serve(ln, idpFront(idp), log)
	return nil
}

// idpFront serves what browsers and the gate use of the IdP (metadata and sign-in); samlidp's REST API
// (users, services, sessions), which asks for no credentials, is only called in-process. It also keeps
// the IdP without sessions: every sign-in asks for a password, so one browser can try each login in turn
// (the IdP's cookie would otherwise sign the next person in as the last one).
func idpFront(idp http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !(r.URL.Path == "/metadata" && get || r.URL.Path == "/sso" && (get || r.Method == http.MethodPost)) {
			http.NotFound(w, r)
			return
		}
		r.Header.Del("Cookie")
		idp.ServeHTTP(&noSetCookie{ResponseWriter: w}, r)
	})
}

// noSetCookie drops the Set-Cookie headers of a response.
type noSetCookie struct {
	http.ResponseWriter
	wrote bool
}

func (w *noSetCookie) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Del("Set-Cookie")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noSetCookie) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// spFiles are the gate's SP certificate and key as the files its [gate] section names, in memory.
func spFiles(kp keyPair) (map[string][]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(kp.key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		spCertFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.cert.Raw}),
		spKeyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// registerGate registers the gate's SP metadata at the IdP, as an IdP administrator would import it. The
// gate itself is scimbridge's (internal/app builds it from the [gate] section, as serve does).
func (d *Demo) registerGate() error {
	md := call(d.gate, http.MethodGet, d.gateURL+"/saml/metadata", nil)
	if md.Code != http.StatusOK {
		return fmt.Errorf("the gate has no IdP metadata from %s: %d %s", d.cfg.Gate.IDPMetadataURL, md.Code, md.Body)
	}
	if rec := call(d.idp, http.MethodPut, d.idpURL+"/services/"+spID, md.Body.Bytes()); rec.Code/100 != 2 {
		return fmt.Errorf("registering the gate at the IdP: %d %s", rec.Code, rec.Body)
	}
	return nil
}

// call runs one request through h in-process.
func call(h http.Handler, method, target string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, bytes.NewReader(body)))
	return rec
}
