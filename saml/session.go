package saml

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// DefaultSessionCookie is the gate's session cookie: not the IdP's "session", nor samlsp's "token".
const DefaultSessionCookie = "scimbridge_gate"

// sessionCookies issues and reads the gate's session: a cookie holding an HS256 JWT with the identity the
// assertion proved. Its key is derived from the SP private key, so replicas sharing the key share sessions
// and nothing else needs to be configured. Whether the identity may still come in is asked of the
// directory on every request (see checker); the cookie only says who authenticated, and when.
type sessionCookies struct {
	name     string
	path     string
	secure   bool
	issuer   string // the public URL: a cookie of another gate is not accepted
	lifetime time.Duration
	key      []byte
	now      func() time.Time
}

type sessionClaims struct {
	jwt.RegisteredClaims
	Identity string `json:"idn"`
}

// sessionKey derives the HMAC key of session cookies from the SP private key.
func sessionKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("saml: SP key: %w", err)
	}
	m := hmac.New(sha256.New, der)
	m.Write([]byte("scimbridge gate session cookie v1"))
	return m.Sum(nil), nil
}

// issue sets the session cookie for identity.
func (s *sessionCookies) issue(w http.ResponseWriter, identity string) error {
	now := s.now()
	claims := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Audience:  jwt.ClaimStrings{s.issuer},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.lifetime)),
		},
		Identity: identity,
	}
	value, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(value, int(s.lifetime/time.Second)))
	return nil
}

// read returns the identity of a valid, unexpired session cookie.
func (s *sessionCookies) read(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.name)
	if err != nil || c.Value == "" {
		return "", false
	}
	var claims sessionClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(c.Value, &claims, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
		return "", false
	}
	now := s.now()
	switch {
	case claims.Identity == "", claims.Issuer != s.issuer, !claims.VerifyAudience(s.issuer, true):
		return "", false
	case claims.ExpiresAt == nil || !now.Before(claims.ExpiresAt.Time):
		return "", false
	case claims.NotBefore != nil && now.Before(claims.NotBefore.Time):
		return "", false
	}
	return claims.Identity, true
}

// clear deletes the session cookie.
func (s *sessionCookies) clear(w http.ResponseWriter) {
	http.SetCookie(w, s.cookie("", -1))
}

// cookie has the attributes every session cookie gets: host-only (no Domain), HttpOnly, SameSite=Lax
// (sent on top-level navigations from the IdP, not on cross-site subrequests), Secure unless the public
// URL is http://.
func (s *sessionCookies) cookie(value string, maxAge int) *http.Cookie {
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
