// Package saml is scimbridge's SAML gate: a reverse proxy in front of the application that signs people
// in through the company's IdP as a SAML 2.0 service provider (crewjam/saml's samlsp) and lets through
// only those the SCIM directory knows as provisioned and active. Every proxied request re-checks the
// user (answers are kept recheck_every), so a user deactivated through SCIM loses access within seconds,
// not when a cookie expires. The application receives the user in headers that clients cannot forge.
//
// The package is named saml like crewjam's: that one is imported as crewsaml everywhere.
package saml

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Options configure a Gate. FromConfig builds them from the [gate] section.
type Options struct {
	Upstream          *url.URL          // the application
	PublicURL         *url.URL          // the URL browsers use; the SP's endpoints are under its path + "/saml/"
	AppName           string            // shown on the gate's pages
	Key               crypto.Signer     // SP private key, RSA or ECDSA
	Certificate       *x509.Certificate // SP certificate, for the key
	IDPMetadata       []byte            // the IdP metadata (read from a file), or:
	IDPMetadataURL    string            // where to fetch it, again every MetadataRefresh
	MetadataRefresh   time.Duration     // default 1h
	HTTPClient        *http.Client      // for the metadata URL; default: a client with a timeout
	IdentityAttribute string            // assertion attribute holding the identity; "" for the NameID
	AllowIDPInitiated bool              // accept unsolicited responses (logins started at the IdP)
	Directory         Directory         // who may come in
	RecheckEvery      time.Duration     // how long a directory answer is used; default 5s
	Sessions          SessionStore      // the sessions, server-side and shared by replicas (*mysql.GateSessions)
	Replay            ReplayStore       // assertions already used, shared likewise (*mysql.GateSessions)
	SessionLifetime   time.Duration     // default 8h
	SessionCookie     string            // kept as given; default SessionCookieName(PublicURL)
	Bypass            []string          // paths proxied without login: exact, or a prefix ending in "/"
	Headers           HeaderNames       // zero value: DefaultHeaderNames
	HeaderSecret      []byte            // signs Headers.Signature; nil for no signed header
	Transport         http.RoundTripper // to the application; default: timeouts on every step
	Now               func() time.Time  // default time.Now
	Rand              io.Reader         // session tokens; default crypto/rand.Reader
	Log               *slog.Logger      // default discards
}

// Gate is the SAML gate. It is an http.Handler; Serve runs it on its own listener.
type Gate struct {
	opts    Options
	log     *slog.Logger
	paths   gatePaths
	sp      atomic.Pointer[spState] // nil until IdP metadata has loaded
	session *sessions
	checker *checker
	headers *identityHeaders
	bypass  []bypassRule
	proxy   *httputil.ReverseProxy
	pages   map[pageKind][]byte
	stats   counters
}

type gatePaths struct {
	prefix, home, own, metadata, acs, login, logout string // paths
	metadataURL, acsURL, logoutURL                  string // absolute
}

// New builds a gate. Metadata given as bytes must parse; from a URL it is fetched now and, should that
// fail, again in the background by Serve (sign-in answers 503 meanwhile; bypass paths and existing
// sessions keep working).
func New(ctx context.Context, o Options) (*Gate, error) {
	if err := defaults(&o); err != nil {
		return nil, err
	}
	g := &Gate{opts: o, log: o.Log}
	prefix := strings.TrimRight(o.PublicURL.Path, "/")
	origin := o.PublicURL.Scheme + "://" + o.PublicURL.Host
	g.paths = gatePaths{prefix: prefix, home: prefix + "/", own: prefix + "/saml/",
		metadata: prefix + "/saml/metadata", acs: prefix + "/saml/acs", login: prefix + "/saml/login", logout: prefix + "/saml/logout"}
	g.paths.metadataURL, g.paths.acsURL, g.paths.logoutURL = origin+g.paths.metadata, origin+g.paths.acs, origin+g.paths.logout

	key, err := csrfKey(o.Key)
	if err != nil {
		return nil, err
	}
	g.session = &sessions{store: o.Sessions, name: o.SessionCookie, path: g.paths.home, secure: o.PublicURL.Scheme == "https",
		lifetime: o.SessionLifetime, csrfKey: key, rand: o.Rand, now: o.Now}
	g.checker = newChecker(o.Directory, o.RecheckEvery, o.Now)
	g.headers = newIdentityHeaders(o.Headers, o.HeaderSecret)
	g.bypass = parseBypass(o.Bypass)
	g.proxy = g.newProxy()
	if g.pages, err = renderPages(o.AppName, g.paths.home); err != nil {
		return nil, err
	}
	if o.IDPMetadataURL == "" {
		if err := g.useMetadata(o.IDPMetadata); err != nil {
			return nil, err
		}
	} else {
		_ = g.RefreshMetadata(ctx) // logged; retried by Serve
	}
	return g, nil
}

func defaults(o *Options) error {
	var problems []string
	if o.Upstream == nil || o.PublicURL == nil {
		problems = append(problems, "Upstream and PublicURL are required")
	}
	switch o.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		problems = append(problems, fmt.Sprintf("the SP key must be RSA or ECDSA, not %T", o.Key))
	}
	if o.Certificate == nil {
		problems = append(problems, "the SP certificate is required")
	}
	if (o.IDPMetadataURL == "") == (len(o.IDPMetadata) == 0) {
		problems = append(problems, "give either IDPMetadata or IDPMetadataURL")
	}
	if o.Directory == nil {
		problems = append(problems, "a Directory is required")
	}
	if o.Sessions == nil || o.Replay == nil {
		problems = append(problems, "a session store and a replay store are required")
	}
	if o.PublicURL != nil {
		https, root := o.PublicURL.Scheme == "https", strings.TrimRight(o.PublicURL.Path, "/") == ""
		switch {
		case strings.HasPrefix(o.SessionCookie, "__Host-") && !(https && root):
			problems = append(problems, "a __Host- session cookie needs an https public URL without a path")
		case strings.HasPrefix(o.SessionCookie, "__Secure-") && !https:
			problems = append(problems, "a __Secure- session cookie needs an https public URL")
		}
	}
	if len(problems) > 0 {
		return errors.New("saml: " + strings.Join(problems, "; "))
	}
	if o.AppName == "" {
		o.AppName = "this application"
	}
	if o.MetadataRefresh <= 0 {
		o.MetadataRefresh = time.Hour
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: metadataFetchTimeout}
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = 5 * time.Second
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 8 * time.Hour
	}
	if o.SessionCookie == "" {
		o.SessionCookie = SessionCookieName(o.PublicURL)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Headers == (HeaderNames{}) {
		o.Headers = DefaultHeaderNames
	}
	if o.Transport == nil {
		o.Transport = newTransport()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ServeHTTP strips every client-sent identity and forwarding header first, on every path, then serves
// the gate's own endpoints, bypass paths (without login), and everything else for signed-in, allowed
// users only.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if removed := g.headers.stripFrom(r.Header); len(removed) > 0 {
		n := g.stats.spoofedHeaders.Add(1)
		g.log.Warn("gate: dropped identity headers sent by the client", "headers", removed, "path", r.URL.Path,
			"remote", r.RemoteAddr, "spoofed_total", n)
	}
	if g.headers.declaresStrippedTrailer(r) {
		g.page(w, http.StatusBadRequest, pageBadRequest)
		return
	}
	path := r.URL.Path
	if strings.HasPrefix(path, g.paths.own) {
		g.serveOwn(w, r)
		return
	}
	if g.bypassed(path) {
		g.stats.bypassed.Add(1)
		g.proxyAs(w, r, nil)
		return
	}
	sess, ok, err := g.session.load(r.Context(), r)
	if err != nil {
		g.refuse(w, r, "", User{}, unavailable, err, "session")
		return
	}
	if !ok {
		g.requireLogin(w, r)
		return
	}
	user, ok := g.allow(w, r, sess)
	if !ok {
		return
	}
	vals, err := g.headers.values(user)
	if err != nil {
		g.log.Error("gate: cannot forward the user", "identity", sess.identity, "user_id", user.ID, "err", err)
		g.page(w, http.StatusInternalServerError, pageError)
		return
	}
	g.stats.proxied.Add(1)
	g.proxyAs(w, r, vals)
}

// allow decides a signed-in request: the directory (its answer reused for recheck_every) must still
// resolve the session's identity to the very user the session was started for (same SCIM id, and same
// app key when both are known), provisioned and active. An identity that now names another account
// (an email moved to someone else, a userName deleted and created again) or nobody, or a deactivated
// user, ends the user's sessions: it is refused, never let in as the other account.
func (g *Gate) allow(w http.ResponseWriter, r *http.Request, sess session) (User, bool) {
	user, v, err := g.checker.check(r.Context(), sess.identity, false)
	if v == unavailable {
		g.refuse(w, r, sess.identity, user, v, err, "request")
		return User{}, false
	}
	if v == allowed && (user.ID != sess.userID || sess.appKey != "" && user.AppKey != "" && user.AppKey != sess.appKey) {
		n := g.stats.rebound.Add(1)
		g.log.Warn("gate: access refused: the identity now belongs to another user; session ended", "identity", sess.identity,
			"session_user_id", sess.userID, "now_user_id", user.ID, "path", r.URL.Path, "rebound_total", n)
		g.endUserSessions(r, sess)
		g.session.clear(w)
		noStore(w)
		g.page(w, http.StatusForbidden, pageSessionEnded)
		return User{}, false
	}
	if v != allowed {
		g.endUserSessions(r, sess)
		g.session.clear(w)
		g.refuse(w, r, sess.identity, user, v, err, "request")
		return User{}, false
	}
	return user, true
}

// endUserSessions deletes every session of the session's user; a failure is logged (the request is
// refused anyway, and the next one is checked again).
func (g *Gate) endUserSessions(r *http.Request, sess session) {
	if err := g.opts.Sessions.DeleteUserSessions(context.WithoutCancel(r.Context()), sess.userID); err != nil {
		g.log.Error("gate: ending sessions", "user_id", sess.userID, "err", err)
	}
}

// serveOwn serves the endpoints under {public path}/saml/; nothing there reaches the application.
func (g *Gate) serveOwn(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == g.paths.logout {
		g.serveLogout(w, r)
		return
	}
	st := g.sp.Load()
	switch r.URL.Path {
	case g.paths.metadata, g.paths.acs, g.paths.login:
		if st == nil {
			w.Header().Set("Retry-After", "30")
			g.page(w, http.StatusServiceUnavailable, pageUnavailable)
			return
		}
	default:
		g.page(w, http.StatusNotFound, pageNotFound)
		return
	}
	switch r.URL.Path {
	case g.paths.metadata:
		g.serveMetadata(w, st)
	case g.paths.acs:
		g.serveACS(w, r, st)
	default:
		g.serveLogin(w, r, st)
	}
}

// requireLogin sends a browser navigating to a page to the IdP; other requests (an API call, a script's
// fetch, a form POST) get 401, since a redirect to the IdP would not help them.
func (g *Gate) requireLogin(w http.ResponseWriter, r *http.Request) {
	mode := r.Header.Get("Sec-Fetch-Mode")
	navigation := (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(mode == "" || mode == "navigate") && r.Header.Get("X-Requested-With") == ""
	st := g.sp.Load()
	switch {
	case !navigation:
		noStore(w)
		g.page(w, http.StatusUnauthorized, pageSignInRequired)
	case st == nil:
		w.Header().Set("Retry-After", "30")
		g.page(w, http.StatusServiceUnavailable, pageUnavailable)
	default:
		g.startLogin(w, r, st, r.URL.RequestURI())
	}
}
