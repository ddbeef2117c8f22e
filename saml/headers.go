package saml

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// HeaderNames are the request headers the application receives from the gate. An empty name is not sent.
type HeaderNames struct {
	User      string // userName
	Email     string // primary email
	Roles     string // comma-separated app roles granted by the user's groups
	Groups    string // comma-separated group displayNames
	ID        string // SCIM id
	AppKey    string // the app's own key of the user's row
	Signature string // "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, user|t)>"; only with a secret
}

// DefaultHeaderNames are the defaults of [gate.headers], without a signed header.
var DefaultHeaderNames = HeaderNames{
	User: config.DefaultGateHeaders.User, Email: config.DefaultGateHeaders.Email,
	Roles: config.DefaultGateHeaders.Roles, Groups: config.DefaultGateHeaders.Groups, ID: config.DefaultGateHeaders.ID,
	AppKey: config.DefaultGateHeaders.AppKey,
}

// identityHeaders strips the identity headers a client sends and sets the gate's own.
type identityHeaders struct {
	names  HeaderNames
	secret []byte          // signs the Signature header; nil: no signature
	strip  map[string]bool // config.NormalizeHeaderName of every name, the signature's too
}

func newIdentityHeaders(names HeaderNames, secret []byte) *identityHeaders {
	h := &identityHeaders{names: names, secret: secret, strip: map[string]bool{}}
	for _, n := range []string{names.User, names.Email, names.Roles, names.Groups, names.ID, names.AppKey, names.Signature} {
		if n != "" {
			h.strip[config.NormalizeHeaderName(n)] = true
		}
	}
	return h
}

// isIdentity reports whether a header name is one of ours in any spelling: any case, and "_" for "-".
// Go keeps a name with "_" as sent ("x_forwarded_user"), and CGI, PHP, WSGI and Rack servers turn it into
// the same HTTP_X_FORWARDED_USER as "X-Forwarded-User", so deleting the canonical spelling is not enough.
func (h *identityHeaders) isIdentity(name string) bool {
	return h.strip[config.NormalizeHeaderName(name)]
}

// stripFrom deletes every header of hdr that is an identity header in some spelling; it returns their names.
func (h *identityHeaders) stripFrom(hdr http.Header) []string {
	var removed []string
	for k := range hdr {
		if h.isIdentity(k) {
			delete(hdr, k)
			removed = append(removed, k)
		}
	}
	return removed
}

// declaresIdentityTrailer reports whether a request announces an identity header as a trailer: trailers
// arrive after the body, past any stripping, so such a request is refused.
func (h *identityHeaders) declaresIdentityTrailer(r *http.Request) bool {
	for k := range r.Trailer {
		if h.isIdentity(k) {
			return true
		}
	}
	for _, v := range r.Header.Values("Trailer") {
		for _, k := range strings.Split(v, ",") {
			if h.isIdentity(strings.TrimSpace(k)) {
				return true
			}
		}
	}
	return false
}

var errBadHeaderValue = errors.New("saml: a user attribute holds a control character and cannot be sent as a header")

// set writes the user's headers on hdr (already stripped). Empty values are not sent.
func (h *identityHeaders) set(hdr http.Header, u User, now time.Time) error {
	put := func(name, value string) error {
		if name == "" || value == "" {
			return nil
		}
		if !validHeaderValue(value) {
			return errBadHeaderValue
		}
		hdr[name] = []string{value}
		return nil
	}
	for _, kv := range [][2]string{
		{h.names.User, u.UserName},
		{h.names.Email, u.Email},
		{h.names.Roles, strings.Join(u.Roles, ",")},
		{h.names.Groups, strings.Join(u.Groups, ",")},
		{h.names.ID, u.ID},
		{h.names.AppKey, u.AppKey},
	} {
		if err := put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if h.secret != nil && h.names.Signature != "" {
		return put(h.names.Signature, SignHeader(h.secret, u.UserName, now))
	}
	return nil
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// SignHeader is the value of the signed header for a user at a time:
// "t=<unix seconds>,v1=<hex of HMAC-SHA256(secret, user + "|" + t)>".
func SignHeader(secret []byte, user string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(headerMAC(secret, user, ts))
}

func headerMAC(secret []byte, user, ts string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(user + "|" + ts))
	return m.Sum(nil)
}

// VerifyHeader checks a signed header value against the user header the application received, in constant
// time, and that it was made within maxAge of now (either way, to allow for clock skew). A Go application
// behind the gate can call it; other languages do the same in a few lines (see README).
func VerifyHeader(secret []byte, user, value string, now time.Time, maxAge time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(value, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("saml: malformed signed header")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, headerMAC(secret, user, ts)) {
		return errors.New("saml: signed header does not match")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return errors.New("saml: signed header is too old")
	}
	return nil
}

// stripCookies removes the gate's own cookies (the session, the login-in-progress ones) from the Cookie
// headers sent to the application, leaving the application's cookies exactly as the browser sent them.
func stripCookies(hdr http.Header, isGateCookie func(name string) bool) {
	values := hdr.Values("Cookie")
	if len(values) == 0 {
		return
	}
	var kept []string
	for _, line := range values {
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(part, "=")
			if strings.TrimSpace(part) == "" || isGateCookie(strings.TrimSpace(name)) {
				continue
			}
			kept = append(kept, strings.TrimSpace(part))
		}
	}
	hdr.Del("Cookie")
	if len(kept) > 0 {
		hdr.Set("Cookie", strings.Join(kept, "; "))
	}
}
