package config

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Defaults of the [gate] section.
const (
	DefaultGateRecheckEvery       = 5 * time.Second
	DefaultGateSessionLifetime    = 8 * time.Hour
	DefaultGateIDPMetadataRefresh = time.Hour
	DefaultGateAppName            = "this application"
	DefaultGateSignedHeader       = "X-Scimbridge-Signature"

	// MinGateSecretLength is the shortest secret accepted for the signed header.
	MinGateSecretLength = 32
)

// DefaultGateHeaders are the request headers the gate sets for the application.
var DefaultGateHeaders = GateHeaders{
	User:   "X-Forwarded-User",
	Email:  "X-Forwarded-Email",
	Roles:  "X-Forwarded-Roles",
	Groups: "X-Forwarded-Groups",
	ID:     "X-Forwarded-User-Id",
	AppKey: "X-Forwarded-User-Key",
}

// Gate is the optional [gate] section: a SAML 2.0 service provider and reverse proxy in front of the
// application that only lets SCIM-provisioned, active users through. Absent, no gate runs.
type Gate struct {
	Listen             string        `toml:"listen"`               // host:port of the gate
	Upstream           string        `toml:"upstream"`             // the application, http(s)://host:port[/path]
	PublicURL          string        `toml:"public_url"`           // the URL browsers use; ACS = public_url + "/saml/acs"
	AppName            string        `toml:"app_name"`             // shown on the gate's pages
	IDPMetadataURL     string        `toml:"idp_metadata_url"`     // the IdP's metadata, fetched and refreshed
	IDPMetadataFile    string        `toml:"idp_metadata_file"`    // ... or read from a file once
	IDPMetadataRefresh Duration      `toml:"idp_metadata_refresh"` // how often idp_metadata_url is fetched again
	SPCertFile         string        `toml:"sp_cert_file"`         // PEM certificate of the service provider
	SPKeyFile          string        `toml:"sp_key_file"`          // PEM private key (RSA or ECDSA) of the service provider
	Identity           string        `toml:"identity"`             // "nameid", or "attribute:NAME"
	Match              string        `toml:"match"`                // "userName", or "email" (emails.value or userName)
	RecheckEvery       Duration      `toml:"recheck_every"`        // how long a directory answer is reused
	SessionLifetime    Duration      `toml:"session_lifetime"`     // lifetime of the gate's session cookie
	AllowIDPInitiated  bool          `toml:"allow_idp_initiated"`  // accept logins started at the IdP
	Bypass             []string      `toml:"bypass"`               // paths proxied without login: "/healthz" exact, "/static/" prefix
	SignedHeader       *SignedHeader `toml:"signed_header"`        // optional proof for the app that a request came through the gate
	Headers            GateHeaders   `toml:"headers"`              // names of the headers the app receives
}

// SignedHeader is gate.signed_header: a header holding an HMAC-SHA256 of the user and a timestamp.
type SignedHeader struct {
	Name       string `toml:"name"`
	SecretEnv  string `toml:"secret_env"`
	SecretFile string `toml:"secret_file"`
}

// GateHeaders is [gate.headers]: the header names the application receives.
type GateHeaders struct {
	User   string `toml:"user"`    // userName
	Email  string `toml:"email"`   // the primary (else first) email
	Roles  string `toml:"roles"`   // comma-separated app roles of the user ([roles]: its groups and direct assignments)
	Groups string `toml:"groups"`  // comma-separated displayNames of the user's groups
	ID     string `toml:"id"`      // the SCIM id
	AppKey string `toml:"app_key"` // the app's own key of the user's row (users.key)
}

// IdentityAttribute returns the assertion attribute the identity is read from, or "" for the NameID.
func (g *Gate) IdentityAttribute() string {
	name, _ := strings.CutPrefix(g.Identity, "attribute:")
	if name == g.Identity {
		return ""
	}
	return name
}

// Warnings lists gate settings that work but are unwise, for the caller to log at startup.
func (g *Gate) Warnings() []string {
	if g == nil {
		return nil
	}
	var w []string
	if strings.HasPrefix(g.PublicURL, "http://") {
		w = append(w, "gate.public_url is http://: the session cookie is not marked Secure; use https:// outside tests and demos")
	}
	if g.AllowIDPInitiated {
		w = append(w, "gate.allow_idp_initiated is on: logins started at the IdP are accepted (they cannot be tied to a request of this browser)")
	}
	return w
}

// SignedHeaderSecret reads the secret of gate.signed_header from its file or environment variable;
// nil when no signed header is configured. main passes os.Getenv and os.ReadFile.
func (g *Gate) SignedHeaderSecret(getenv func(string) string, readFile func(string) ([]byte, error)) ([]byte, error) {
	if g == nil || g.SignedHeader == nil {
		return nil, nil
	}
	s := g.SignedHeader
	var secret, from string
	if s.SecretFile != "" {
		data, err := readFile(s.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("gate.signed_header.secret_file: %w", err)
		}
		secret, from = strings.TrimSpace(string(data)), s.SecretFile
	} else {
		secret, from = strings.TrimSpace(getenv(s.SecretEnv)), "$"+s.SecretEnv
	}
	switch n := len(secret); {
	case n == 0:
		return nil, fmt.Errorf("gate.signed_header: no secret: %s is empty or not set", from)
	case n < MinGateSecretLength:
		return nil, fmt.Errorf("gate.signed_header: the secret from %s is %d characters long; it needs at least %d (make one with: openssl rand -hex 32)", from, n, MinGateSecretLength)
	}
	return []byte(secret), nil
}

// validateGate fills in the defaults of [gate] and reports every wrong value; nothing when there is no [gate].
func (c *Config) validateGate(p *problems) {
	g := c.Gate
	if g == nil {
		return
	}
	if _, port, err := net.SplitHostPort(g.Listen); err != nil || port == "" {
		p.add("gate.listen", "gate.listen must be host:port, such as \"127.0.0.1:9090\", got %q", g.Listen)
	} else if g.Listen == c.Server.Listen {
		p.add("gate.listen", "gate.listen must differ from server.listen (%q): the gate and the SCIM API listen separately", c.Server.Listen)
	}
	if u, ok := webURL(g.Upstream); !ok {
		p.add("gate.upstream", "gate.upstream must be the application's http:// or https:// address, such as \"http://127.0.0.1:3000\", got %q", g.Upstream)
	} else {
		g.Upstream = u
	}
	if u, ok := webURL(g.PublicURL); !ok {
		p.add("gate.public_url", "gate.public_url must be the http:// or https:// address browsers use for the application, such as \"https://app.example.com\", without query or fragment, got %q", g.PublicURL)
	} else {
		g.PublicURL = u
	}
	if g.AppName = strings.TrimSpace(g.AppName); g.AppName == "" {
		g.AppName = DefaultGateAppName
	}
	c.validateGateIdP(p)
	c.validateGateIdentity(p)
	c.validateGateBypass(p)
	c.validateGateHeaders(p)
}

func (c *Config) validateGateIdP(p *problems) {
	g := c.Gate
	switch {
	case g.IDPMetadataURL == "" && g.IDPMetadataFile == "":
		p.add("gate", "gate: set idp_metadata_url (the IdP's metadata URL) or idp_metadata_file")
	case g.IDPMetadataURL != "" && g.IDPMetadataFile != "":
		p.add("gate.idp_metadata_file", "gate.idp_metadata_url and gate.idp_metadata_file are both set; keep one")
	case g.IDPMetadataURL != "":
		u, err := url.Parse(g.IDPMetadataURL)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			p.add("gate.idp_metadata_url", "gate.idp_metadata_url must be an https:// address (http:// only on this machine), got %q", g.IDPMetadataURL)
		}
	}
	if g.IDPMetadataRefresh.Duration == 0 {
		g.IDPMetadataRefresh.Duration = DefaultGateIDPMetadataRefresh
	} else if g.IDPMetadataRefresh.Duration < time.Minute {
		p.add("gate.idp_metadata_refresh", "gate.idp_metadata_refresh must be at least 1m, got %s", g.IDPMetadataRefresh.Duration)
	}
	if g.SPCertFile == "" {
		p.add("gate.sp_cert_file", "gate.sp_cert_file must name the service provider's PEM certificate (make one with: openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=scimbridge -keyout sp.key -out sp.crt)")
	}
	if g.SPKeyFile == "" {
		p.add("gate.sp_key_file", "gate.sp_key_file must name the service provider's PEM private key")
	}
}

func (c *Config) validateGateIdentity(p *problems) {
	g := c.Gate
	switch id := strings.TrimSpace(g.Identity); {
	case id == "" || strings.EqualFold(id, "nameid"):
		g.Identity = "nameid"
	case len(id) > len("attribute:") && strings.EqualFold(id[:len("attribute:")], "attribute:") && strings.TrimSpace(id[len("attribute:"):]) != "":
		g.Identity = "attribute:" + strings.TrimSpace(id[len("attribute:"):])
	default:
		p.add("gate.identity", `gate.identity must be "nameid" or "attribute:NAME" (an assertion attribute, such as "attribute:email"), got %q`, g.Identity)
	}
	switch {
	case g.Match == "" || strings.EqualFold(g.Match, "userName"):
		g.Match = "userName"
	case strings.EqualFold(g.Match, "email"):
		g.Match = "email"
	default:
		p.add("gate.match", `gate.match must be "userName" or "email", got %q`, g.Match)
	}
	if d := g.RecheckEvery.Duration; d == 0 {
		g.RecheckEvery.Duration = DefaultGateRecheckEvery
	} else if d < 0 || d > 10*time.Minute {
		p.add("gate.recheck_every", "gate.recheck_every must be between 1ms and 10m (a deactivated user keeps access that long), got %s", d)
	}
	if d := g.SessionLifetime.Duration; d == 0 {
		g.SessionLifetime.Duration = DefaultGateSessionLifetime
	} else if d < time.Minute || d > 7*24*time.Hour {
		p.add("gate.session_lifetime", "gate.session_lifetime must be between 1m and 168h, got %s", d)
	}
}

func (c *Config) validateGateBypass(p *problems) {
	g := c.Gate
	own := "/saml/"
	if u, err := url.Parse(g.PublicURL); err == nil {
		own = strings.TrimRight(u.Path, "/") + "/saml/"
	}
	for i, b := range g.Bypass {
		switch {
		case !strings.HasPrefix(b, "/") || strings.ContainsAny(b, "?#\\%;") || strings.IndexFunc(b, unicode.IsSpace) >= 0:
			p.add("gate.bypass", "gate.bypass[%d] must be a plain URL path starting with \"/\" (no spaces, ?, #, %%, ; or \\), got %q", i, b)
		case b == "/":
			p.add("gate.bypass", "gate.bypass[%d] is \"/\", which would let every request through without login", i)
		case strings.Contains(b+"/", "/../") || strings.Contains(b+"/", "/./") || strings.Contains(b, "//"):
			p.add("gate.bypass", "gate.bypass[%d] must not contain \".\" or \"..\" segments or \"//\", got %q", i, b)
		case strings.HasPrefix(b, own) || strings.HasPrefix(own, b) && strings.HasSuffix(b, "/"):
			p.add("gate.bypass", "gate.bypass[%d] (%q) overlaps the gate's own endpoints under %s", i, b, own)
		}
	}
}

// reservedHeaders may not be used for identity: the proxy or HTTP itself owns them.
var reservedHeaders = []string{"Host", "Cookie", "Authorization", "Connection", "Content-Length", "Content-Type",
	"Transfer-Encoding", "Te", "Trailer", "Upgrade", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection",
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

func (c *Config) validateGateHeaders(p *problems) {
	g := c.Gate
	h := &g.Headers
	type field struct {
		key      string
		val      *string
		fallback string
	}
	fields := []field{
		{"gate.headers.user", &h.User, DefaultGateHeaders.User},
		{"gate.headers.email", &h.Email, DefaultGateHeaders.Email},
		{"gate.headers.roles", &h.Roles, DefaultGateHeaders.Roles},
		{"gate.headers.groups", &h.Groups, DefaultGateHeaders.Groups},
		{"gate.headers.id", &h.ID, DefaultGateHeaders.ID},
		{"gate.headers.app_key", &h.AppKey, DefaultGateHeaders.AppKey},
	}
	if s := g.SignedHeader; s != nil {
		fields = append(fields, field{"gate.signed_header.name", &s.Name, DefaultGateSignedHeader})
		switch {
		case s.SecretEnv == "" && s.SecretFile == "":
			p.add("gate.signed_header", "gate.signed_header needs secret_env (an environment variable) or secret_file holding the secret")
		case s.SecretEnv != "" && s.SecretFile != "":
			p.add("gate.signed_header", "gate.signed_header: secret_env and secret_file are both set; keep one")
		case s.SecretEnv != "" && !envNamePattern.MatchString(s.SecretEnv):
			p.add("gate.signed_header.secret_env", "gate.signed_header.secret_env is not an environment variable name (letters, digits and _); put the secret in that variable, not here")
		}
	}
	seen := map[string]string{}
	for _, f := range fields {
		if *f.val == "" {
			*f.val = f.fallback
		}
		if !validHeaderName(*f.val) {
			p.add(f.key, "%s must be a header name (letters, digits and -), got %q", f.key, *f.val)
			continue
		}
		*f.val = http.CanonicalHeaderKey(*f.val)
		norm := NormalizeHeaderName(*f.val)
		for _, r := range reservedHeaders {
			if norm == NormalizeHeaderName(r) {
				p.add(f.key, "%s cannot be %s: that header belongs to HTTP or to the proxy", f.key, r)
			}
		}
		if other, dup := seen[norm]; dup {
			p.add(f.key, "%s is the same header as %s (%q); each needs its own name", f.key, other, *f.val)
		}
		seen[norm] = f.key
	}
}

// NormalizeHeaderName is the spelling two header names share when a server may treat them as the same:
// lower case, with "_" read as "-" (CGI, PHP, WSGI and Rack all turn both into HTTP_X_FORWARDED_USER).
func NormalizeHeaderName(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

func validHeaderName(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// webURL checks an http(s) URL without query, fragment or user info and returns it without a trailing "/".
func webURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return strings.TrimRight(s, "/"), true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
