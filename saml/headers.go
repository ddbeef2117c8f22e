package saml

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// HeaderNames are the request headers the application receives from the gate. An empty name is not sent.
type HeaderNames struct {
	User      string // userName
	Email     string // primary email
	Roles     string // app roles granted by the user's groups, a list (see EncodeList)
	Groups    string // group displayNames, a list (see EncodeList)
	ID        string // SCIM id
	AppKey    string // the app's own key of the user's row
	Signature string // "t=<unix seconds>,v1=<hex HMAC-SHA256>" over the request and the headers above (signature.go)
}

// DefaultHeaderNames are the defaults of [gate.headers], without a signed header.
var DefaultHeaderNames = HeaderNames{
	User: config.DefaultGateHeaders.User, Email: config.DefaultGateHeaders.Email,
	Roles: config.DefaultGateHeaders.Roles, Groups: config.DefaultGateHeaders.Groups, ID: config.DefaultGateHeaders.ID,
	AppKey: config.DefaultGateHeaders.AppKey,
}

// signedOrder is the fixed order of the identity headers in the signature's canonical string.
func (n HeaderNames) signedOrder() []string {
	return []string{n.User, n.Email, n.ID, n.AppKey, n.Groups, n.Roles}
}

// identityHeaders strips the identity and forwarding headers a client sends and sets the gate's own.
type identityHeaders struct {
	names  HeaderNames
	secret []byte          // signs the Signature header; nil: no signature
	strip  map[string]bool // config.NormalizeHeaderName of every identity name, the signature's too
}

func newIdentityHeaders(names HeaderNames, secret []byte) *identityHeaders {
	h := &identityHeaders{names: names, secret: secret, strip: map[string]bool{}}
	for _, n := range append(names.signedOrder(), names.Signature) {
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

// isForwarding reports whether a header name, in any spelling, is one that proxies set to say where a
// request came from or what it asked for. Applications and their frameworks (werkzeug's ProxyFix, Rails,
// Symfony's trusted proxies, IIS URL rewriting) believe these from the hop in front of them, which is the
// gate: only the gate's own values may reach them.
func isForwarding(name string) bool {
	n := config.NormalizeHeaderName(name)
	switch n {
	case "forwarded", "x-real-ip", "x-original-url", "x-rewrite-url", "x-client-ip":
		return true
	}
	return strings.HasPrefix(n, "x-forwarded-")
}

// stripFrom deletes every header of hdr that is an identity or forwarding header in some spelling. It
// returns the identity ones (forwarding headers come from any load balancer in front: not worth a warning).
func (h *identityHeaders) stripFrom(hdr http.Header) []string {
	var removed []string
	for k := range hdr {
		switch {
		case h.isIdentity(k):
			removed = append(removed, k)
			delete(hdr, k)
		case isForwarding(k):
			delete(hdr, k)
		}
	}
	return removed
}

// declaresStrippedTrailer reports whether a request announces an identity or forwarding header as a
// trailer: trailers arrive after the body, past any stripping, so such a request is refused.
func (h *identityHeaders) declaresStrippedTrailer(r *http.Request) bool {
	stripped := func(k string) bool { return h.isIdentity(k) || isForwarding(k) }
	for k := range r.Trailer {
		if stripped(k) {
			return true
		}
	}
	for _, v := range r.Header.Values("Trailer") {
		for _, k := range strings.Split(v, ",") {
			if stripped(strings.TrimSpace(k)) {
				return true
			}
		}
	}
	return false
}

var errBadHeaderValue = errors.New("saml: a user attribute holds a control character and cannot be sent as a header")

// headerValue is one identity header as the gate sends it; an empty value is not sent (but is signed).
type headerValue struct{ name, value string }

// values are the user's identity headers, in the signature's order, for the configured names. Lists are
// encoded with EncodeList, so that no element can pose as several.
func (h *identityHeaders) values(u User) ([]headerValue, error) {
	out := []headerValue{} // not nil: a signed-in request, whatever is configured
	for _, kv := range []headerValue{
		{h.names.User, u.UserName},
		{h.names.Email, u.Email},
		{h.names.ID, u.ID},
		{h.names.AppKey, u.AppKey},
		{h.names.Groups, EncodeList(u.Groups)},
		{h.names.Roles, EncodeList(u.Roles)},
	} {
		if kv.name == "" {
			continue
		}
		if !validHeaderValue(kv.value) {
			return nil, errBadHeaderValue
		}
		out = append(out, kv)
	}
	return out, nil
}

// apply writes the identity headers (and the signed header, over method and uri as sent upstream) on hdr.
func (h *identityHeaders) apply(hdr http.Header, vals []headerValue, method, uri string, now time.Time) {
	for _, kv := range vals {
		if kv.value != "" {
			hdr[kv.name] = []string{kv.value}
		}
	}
	if h.secret != nil && h.names.Signature != "" {
		hdr[h.names.Signature] = []string{sign(h.secret, now, method, uri, vals)}
	}
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// EncodeList is how the gate sends a list (groups, roles): each element percent-encoded as UTF-8 bytes,
// every byte except RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) as %XX, joined with ",". A
// group named "Sales,Admins" is "Sales%2CAdmins": one element, never a membership of Admins. An empty
// list is "" (the header is not sent).
func EncodeList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		for j := 0; j < len(s); j++ {
			c := s[j]
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				b.WriteByte(c)
			} else {
				const hexDigits = "0123456789ABCDEF"
				b.WriteByte('%')
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
			}
		}
	}
	return b.String()
}

// DecodeList reads a list header: split on ",", then percent-decode each element. "" is the empty list.
func DecodeList(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = s
	}
	return parts, nil
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
