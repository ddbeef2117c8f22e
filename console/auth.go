package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// CookieName is the console's session cookie.
const CookieName = "scimbridge_console"

// session is one signed-in admin. Sessions live in memory: a restart signs everyone out, which for a
// console of one process is acceptable and keeps its state out of the app's database.
type session struct {
	who      string // "token", or the IdP identity
	how      string // "token" or "SSO"
	csrf     string
	expires  time.Time
	checked  time.Time // SSO: when the directory last confirmed the admin group
	identity string    // SSO: the identity to check again
}

func (s *session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// sessions maps the SHA-256 of each session token to its session: a memory dump holds no token.
type sessions struct {
	mu       sync.Mutex
	byDigest map[[32]byte]*session
	secure   bool
	lifetime time.Duration
	rand     io.Reader
	now      func() time.Time
}

func newSessions(secure bool, lifetime time.Duration, rand io.Reader, now func() time.Time) *sessions {
	return &sessions{byDigest: map[[32]byte]*session{}, secure: secure, lifetime: lifetime, rand: rand, now: now}
}

func (ss *sessions) random() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(ss.rand, b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// start creates a session and sets its cookie: HttpOnly, SameSite=Strict (no other site's page can make
// the browser send it), Secure over https.
func (ss *sessions) start(w http.ResponseWriter, s *session) error {
	token, err := ss.random()
	if err != nil {
		return err
	}
	if s.csrf, err = ss.random(); err != nil {
		return err
	}
	now := ss.now()
	s.expires, s.checked = now.Add(ss.lifetime), now
	ss.mu.Lock()
	for d, old := range ss.byDigest { // expired sessions go when a new one starts: the map stays small
		if !now.Before(old.expires) {
			delete(ss.byDigest, d)
		}
	}
	ss.byDigest[sha256.Sum256([]byte(token))] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: ss.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ss.lifetime.Seconds())})
	return nil
}

func (ss *sessions) get(r *http.Request) (*session, [32]byte) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, [32]byte{}
	}
	d := sha256.Sum256([]byte(ck.Value))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byDigest[d]
	if s == nil {
		return nil, d
	}
	if !ss.now().Before(s.expires) {
		delete(ss.byDigest, d)
		return nil, d
	}
	return s, d
}

func (ss *sessions) end(w http.ResponseWriter, d [32]byte) {
	ss.mu.Lock()
	delete(ss.byDigest, d)
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: ss.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// signedIn returns the request's session, or nil. An SSO session is confirmed again against the
// directory every SSOOptions.RecheckEvery: an admin removed from the admin group, or deactivated,
// through SCIM loses the console within that time.
func (c *Console) signedIn(r *http.Request) *session {
	s, d := c.sessions.get(r)
	if s == nil || s.how != "SSO" || c.sso == nil {
		return s
	}
	c.sessions.mu.Lock()
	last := s.checked
	c.sessions.mu.Unlock()
	if c.o.Now().Sub(last) < c.sso.o.RecheckEvery {
		return s
	}
	if ok, _ := c.sso.isAdmin(r.Context(), s.identity); !ok {
		c.sessions.mu.Lock()
		delete(c.sessions.byDigest, d)
		c.sessions.mu.Unlock()
		c.log.Warn("console: session ended: no longer an admin", "identity", s.identity)
		return nil
	}
	c.sessions.mu.Lock()
	s.checked = c.o.Now()
	c.sessions.mu.Unlock()
	return s
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "login", nil, "Sign in", map[string]any{
		"ReturnTo": safeReturn(r.URL.Query().Get("return_to")),
		"Token":    c.o.Token != "",
		"SSO":      c.sso != nil,
	})
}

// login checks the admin token (constant time, on digests). Origin must be the console's, so that no
// other site can sign a browser into the console.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.refused(w, "This request did not come from the console's own pages.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	_ = r.ParseForm() // an unreadable form has no token
	got := sha256.Sum256([]byte(strings.TrimSpace(r.PostForm.Get("token"))))
	want := sha256.Sum256([]byte(c.o.Token))
	if c.o.Token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		c.log.Warn("console: sign-in refused: wrong token", "remote", r.RemoteAddr)
		c.render(w, http.StatusForbidden, "login", nil, "Sign in", map[string]any{
			"ReturnTo": safeReturn(r.PostForm.Get("return_to")), "Token": c.o.Token != "", "SSO": c.sso != nil,
			"Error": "That is not the console's admin token."})
		return
	}
	if err := c.sessions.start(w, &session{who: "admin token", how: "token"}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.log.Info("console: signed in", "how", "token", "remote", r.RemoteAddr)
	http.Redirect(w, r, safeReturn(r.PostForm.Get("return_to")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	_, d := c.sessions.get(r)
	c.sessions.end(w, d)
	c.log.Info("console: signed out", "who", s.who)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeReturn returns target when it is a path of the console, else "/": never another site.
func safeReturn(target string) string {
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return target
}
