package saml

import (
	"errors"
	"net/http"

	crewsaml "github.com/crewjam/saml"
)

// maxACSBody bounds the POST the IdP sends to the ACS (a SAMLResponse is a few KiB, tens with groups).
const maxACSBody = 1 << 20

// serveACS receives the IdP's answer: it validates the SAMLResponse (crewjam/saml: signature,
// issuer, audience, destination, recipient, validity window; InResponseTo unless IdP-initiated logins are
// allowed), refuses an assertion already used, resolves the identity in the directory, and only then sets
// the session cookie. A refused login gets a page that says why without any internal detail; the reason
// goes to the log, without the assertion.
func (g *Gate) serveACS(w http.ResponseWriter, r *http.Request, st *spState) {
	noStore(w)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		g.page(w, http.StatusMethodNotAllowed, pageError)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxACSBody)
	if err := r.ParseForm(); err != nil {
		g.loginFailed(w, "unreadable form", err)
		return
	}
	if r.PostForm.Get("SAMLart") != "" || r.URL.Query().Get("SAMLart") != "" {
		// The gate asks for the HTTP-POST binding only: no back-channel artifact resolution.
		g.loginFailed(w, "artifact binding not accepted", nil)
		return
	}
	var possible []string
	if st.sp.AllowIDPInitiated {
		possible = append(possible, "")
	}
	for _, tr := range st.tracker.GetTrackedRequests(r) {
		possible = append(possible, tr.SAMLRequestID)
	}
	assertion, err := st.sp.ParseResponse(r, possible)
	if err != nil {
		var invalid *crewsaml.InvalidResponseError
		if errors.As(err, &invalid) {
			err = invalid.PrivateErr // its Response field is the whole assertion: never logged
		}
		g.loginFailed(w, "invalid SAML response", err)
		return
	}
	first, err := g.firstUse(r.Context(), assertion)
	if err != nil {
		g.refuse(w, r, "", User{}, unavailable, err, "login")
		return
	}
	if !first {
		n := g.stats.replays.Add(1)
		g.log.Warn("gate: login refused: assertion already used (replay)", "assertion_id", assertion.ID, "replays_total", n)
		g.stats.loginFailures.Add(1)
		g.page(w, http.StatusForbidden, pageLoginFailed)
		return
	}
	identity := g.identityOf(assertion)
	if identity == "" {
		what := "NameID"
		if g.opts.IdentityAttribute != "" {
			what = "attribute " + g.opts.IdentityAttribute
		}
		g.loginFailed(w, "the assertion has no "+what+" (see gate.identity)", nil)
		return
	}
	user, v, err := g.checker.check(r.Context(), identity, true)
	if v != allowed {
		g.refuse(w, r, identity, user, v, err, "login")
		return
	}

	redirect := g.paths.home
	if relay := r.PostForm.Get("RelayState"); relay != "" {
		if tr, err := st.tracker.GetTrackedRequest(r, relay); err == nil {
			_ = st.tracker.StopTrackingRequest(w, r, relay)
			redirect = tr.URI
		} else if st.sp.AllowIDPInitiated {
			redirect = relay // IdP-initiated: RelayState is where to go (checked just below)
		}
	}
	if len(identity) > maxIdentityLength {
		g.loginFailed(w, "the identity is longer than 1024 bytes", nil)
		return
	}
	started, err := g.session.start(r.Context(), w, user, identity)
	if err != nil {
		g.refuse(w, r, identity, user, unavailable, err, "login")
		return
	}
	if !started { // deactivated or deleted through SCIM since the directory answered
		g.refuse(w, r, identity, user, deactivated, nil, "login")
		return
	}
	n := g.stats.logins.Add(1)
	g.log.Info("gate: login", "identity", identity, "user_id", user.ID, "logins_total", n)
	http.Redirect(w, r, safeRedirect(redirect, g.paths.home), http.StatusFound)
}

func (g *Gate) loginFailed(w http.ResponseWriter, reason string, err error) {
	n := g.stats.loginFailures.Add(1)
	args := []any{"reason", reason, "login_failures_total", n}
	if err != nil {
		args = append(args, "err", err.Error())
	}
	g.log.Warn("gate: login refused", args...)
	g.page(w, http.StatusForbidden, pageLoginFailed)
}

// refuse answers a request (or a login) whose identity the directory does not let in, and counts it.
func (g *Gate) refuse(w http.ResponseWriter, r *http.Request, identity string, user User, v verdict, err error, during string) {
	noStore(w)
	switch v {
	case notProvisioned:
		n := g.stats.notProvisioned.Add(1)
		g.log.Warn("gate: access refused: account not provisioned", "identity", identity, "during", during,
			"ambiguous", errors.Is(err, ErrAmbiguous), "path", r.URL.Path, "not_provisioned_total", n)
		g.page(w, http.StatusForbidden, pageNotProvisioned)
	case deactivated:
		n := g.stats.deactivated.Add(1)
		g.log.Warn("gate: access refused: account deactivated", "identity", identity, "user_id", user.ID,
			"during", during, "path", r.URL.Path, "deactivated_total", n)
		g.page(w, http.StatusForbidden, pageDeactivated)
	default:
		n := g.stats.directoryErrors.Add(1)
		g.log.Error("gate: directory unavailable", "identity", identity, "during", during, "err", err, "directory_errors_total", n)
		w.Header().Set("Retry-After", "5")
		g.page(w, http.StatusServiceUnavailable, pageUnavailable)
	}
}

// serveLogin starts an SP-initiated login: GET {public path}/saml/login?return_to=/some/page.
func (g *Gate) serveLogin(w http.ResponseWriter, r *http.Request, st *spState) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		g.page(w, http.StatusMethodNotAllowed, pageError)
		return
	}
	g.startLogin(w, r, st, r.URL.Query().Get("return_to"))
}

// serveLogout ends the gate's session (the IdP's own session is left alone). GET shows a form; only
// its POST, from a page of this site carrying the session's CSRF token, deletes the session from the
// store (on every replica at once) and clears the cookie. A cross-site POST, or one without the token,
// is refused and the session stays: another site cannot sign a user out (nor in as someone else).
func (g *Gate) serveLogout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		token, ok := g.session.token(r)
		if !ok {
			g.session.clear(w)
			g.page(w, http.StatusOK, pageSignedOut)
			return
		}
		g.logoutPage(w, g.session.csrf(token))
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		g.page(w, http.StatusMethodNotAllowed, pageError)
		return
	}
	if !g.sameSite(r) {
		g.log.Warn("gate: logout refused: cross-site request", "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		g.page(w, http.StatusForbidden, pageLogoutRefused)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	_ = r.ParseForm() // an unreadable form has no token
	token, ok := g.session.token(r)
	if !ok {
		g.session.clear(w)
		g.page(w, http.StatusOK, pageSignedOut)
		return
	}
	if !g.session.validCSRF(token, r.PostForm.Get("csrf")) {
		g.log.Warn("gate: logout refused: no valid CSRF token")
		g.page(w, http.StatusForbidden, pageLogoutRefused)
		return
	}
	if err := g.session.end(r.Context(), token); err != nil {
		g.refuse(w, r, "", User{}, unavailable, err, "logout")
		return
	}
	g.log.Info("gate: logout")
	g.session.clear(w)
	g.page(w, http.StatusOK, pageSignedOut)
}

// sameSite reports whether a request comes from a page of the gate's own origin, as far as the browser
// says: Sec-Fetch-Site (when sent) must be same-origin or none (typed in), and Origin (when sent) the
// public URL's. Browsers send at least one of them with every form POST.
func (g *Gate) sameSite(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	return o == "" || o == g.opts.PublicURL.Scheme+"://"+g.opts.PublicURL.Host
}
