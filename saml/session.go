package saml

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultSessionCookie is the base name of the gate's session cookie: not the IdP's "session", nor
// samlsp's "token". SessionCookieName adds the browser-enforced prefix an https public URL allows.
const DefaultSessionCookie = "scimbridge_gate"

// SessionCookieName is the session cookie's name for a public URL: "__Host-scimbridge_gate" for https
// at the root (the browser then insists on Secure, Path=/ and no Domain, so no sibling subdomain can
// set or shadow it), "__Secure-scimbridge_gate" for https under a sub-path (Path is that sub-path, which
// __Host- forbids), and the plain name for http (tests, demos), where browsers refuse both prefixes.
func SessionCookieName(public *url.URL) string {
	switch {
	case public.Scheme != "https":
		return DefaultSessionCookie
	case public.Path == "" || public.Path == "/":
		return "__Host-" + DefaultSessionCookie
	default:
		return "__Secure-" + DefaultSessionCookie
	}
}

// SessionStore keeps the gate's sessions server-side, shared by every gate replica (*mysql.GateSessions).
// key is the hex SHA-256 of the cookie's random token: the store never holds a value a browser presents.
// A session is bound to the SCIM id (and the app's key) the identity resolved to at login.
type SessionStore interface {
	// CreateSession stores a session; false when the store no longer has the user as active.
	CreateSession(ctx context.Context, key, userID, appKey, identity string, created, expires time.Time) (bool, error)
	// LookupSession returns the session under key unexpired at now whose user the store still has as
	// active; userID is "" when there is none. (A login racing a deactivation, or on another cluster
	// node, can write a session the deactivation's DeleteUserSessions did not see.)
	LookupSession(ctx context.Context, key string, now time.Time) (userID, appKey, identity string, err error)
	DeleteSession(ctx context.Context, key string) error
	DeleteUserSessions(ctx context.Context, userID string) error
}

// session is a signed-in browser's session as stored.
type session struct {
	token    string // the cookie's value; never stored, never logged
	userID   string
	appKey   string
	identity string
}

// sessions issues, reads and ends the gate's sessions. The cookie holds only a random token; who it
// belongs to is in the store, so logout and SCIM deactivation end it on every replica at once.
type sessions struct {
	store    SessionStore
	name     string
	path     string
	secure   bool
	lifetime time.Duration
	csrfKey  []byte // derives the logout form's token from the session token
	rand     io.Reader
	now      func() time.Time
}

// tokenBytes is the size of a session token: 256 bits from the injected randomness.
const tokenBytes = 32

// maxIdentityLength bounds what a session row keeps of the identity (gate_sessions.identity).
const maxIdentityLength = 1024

// csrfKey derives the HMAC key of logout tokens from the SP private key, so replicas sharing the key
// accept each other's logout forms and nothing else needs to be configured.
func csrfKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("saml: SP key: %w", err)
	}
	m := hmac.New(sha256.New, der)
	m.Write([]byte("scimbridge gate logout csrf v1"))
	return m.Sum(nil), nil
}

func storeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// start stores a new session for user and sets its cookie; false when the store refused it (the user is
// no longer active there).
func (s *sessions) start(ctx context.Context, w http.ResponseWriter, u User, identity string) (bool, error) {
	buf := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return false, fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	now := s.now()
	ok, err := s.store.CreateSession(ctx, storeKey(token), u.ID, u.AppKey, identity, now, now.Add(s.lifetime))
	if err != nil || !ok {
		return false, err
	}
	http.SetCookie(w, s.cookie(token, int(s.lifetime/time.Second)))
	return true, nil
}

// token returns the cookie's token when it has the form of one; anything else is no session (and no query).
func (s *sessions) token(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.name)
	if err != nil {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != tokenBytes {
		return "", false
	}
	return c.Value, true
}

// load returns the request's unexpired session; ok is false without one, err when the store failed.
func (s *sessions) load(ctx context.Context, r *http.Request) (session, bool, error) {
	token, ok := s.token(r)
	if !ok {
		return session{}, false, nil
	}
	userID, appKey, identity, err := s.store.LookupSession(ctx, storeKey(token), s.now())
	if err != nil || userID == "" {
		return session{}, false, err
	}
	return session{token: token, userID: userID, appKey: appKey, identity: identity}, true, nil
}

// end deletes a session from the store.
func (s *sessions) end(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, storeKey(token))
}

// csrf is the logout form's token for a session: only a page of this gate, read with the session's
// cookie, can know it.
func (s *sessions) csrf(token string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("logout\n" + token))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *sessions) validCSRF(token, got string) bool {
	return hmac.Equal([]byte(s.csrf(token)), []byte(got))
}

// clear deletes the session cookie.
func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie("", -1))
}

// cookie has the attributes every session cookie gets: host-only (no Domain), HttpOnly, SameSite=Lax
// (sent on top-level navigations from the IdP, not on cross-site subrequests), Secure unless the public
// URL is http://.
func (s *sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     s.name,
		Value:    value,
		Path:     s.path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}
