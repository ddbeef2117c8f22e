package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults of the [console] section.
const (
	DefaultConsoleRecentRequests   = 2000
	DefaultConsoleSessionLifetime  = 8 * time.Hour
	DefaultConsoleTokenEnv         = "SCIMBRIDGE_CONSOLE_TOKEN"
	maxConsoleRecentRequests       = 1000000
	minConsoleSessionLifetimeLimit = time.Minute
)

// Console is the optional [console] section: the admin web console (package console), on its own
// listener. Absent, no console runs. Admins sign in with the console token (token_env or token_file,
// never an IdP's SCIM token) or, with a [gate], through the IdP when in admin_group.
type Console struct {
	Listen          string   `toml:"listen"`           // host:port of the console
	PublicURL       string   `toml:"public_url"`       // how browsers reach it; required for SSO; https marks the cookie Secure
	TokenEnv        string   `toml:"token_env"`        // environment variable holding the admin token
	TokenFile       string   `toml:"token_file"`       // ... or a file holding it
	AdminGroup      string   `toml:"admin_group"`      // SCIM group (displayName) whose members sign in through the gate's IdP
	RecentRequests  int      `toml:"recent_requests"`  // how many recent SCIM requests the Requests page keeps in memory
	SessionLifetime Duration `toml:"session_lifetime"` // lifetime of a console session
}

func (c *Config) validateConsole(p *problems) {
	k := c.Console
	if k == nil {
		return
	}
	if _, port, err := net.SplitHostPort(k.Listen); err != nil || port == "" {
		p.add("console.listen", "console.listen must be host:port, such as \"127.0.0.1:9091\", got %q", k.Listen)
	} else if k.Listen == c.Server.Listen || (c.Gate != nil && k.Listen == c.Gate.Listen) || k.Listen == c.Metrics.Listen {
		p.add("console.listen", "console.listen must differ from the SCIM API's, the gate's and the metrics' listen addresses, got %q", k.Listen)
	}
	if k.PublicURL != "" {
		if u, ok := webURL(k.PublicURL); !ok {
			p.add("console.public_url", "console.public_url must be the http:// or https:// address browsers use for the console, such as \"https://scim-admin.example.com\", got %q", k.PublicURL)
		} else {
			k.PublicURL = u
		}
	}
	if k.TokenEnv != "" && !envNamePattern.MatchString(k.TokenEnv) {
		p.add("console.token_env", "console.token_env is not an environment variable name (letters, digits and _); put the token in that variable, not here")
	}
	if k.TokenEnv != "" && k.TokenFile != "" {
		p.add("console.token_file", "console.token_env and console.token_file are both set; keep one")
	}
	k.AdminGroup = strings.TrimSpace(k.AdminGroup)
	if k.AdminGroup != "" {
		if c.Gate == nil {
			p.add("console.admin_group", "console.admin_group signs admins in through the gate's IdP: it needs a [gate] section")
		}
		if k.PublicURL == "" {
			p.add("console.public_url", "console.admin_group needs console.public_url: the IdP sends its answer to public_url + \"/saml/acs\"")
		}
	}
	if k.TokenEnv == "" && k.TokenFile == "" && k.AdminGroup == "" {
		k.TokenEnv = DefaultConsoleTokenEnv
	}
	switch {
	case k.RecentRequests == 0:
		k.RecentRequests = DefaultConsoleRecentRequests
	case k.RecentRequests < 0 || k.RecentRequests > maxConsoleRecentRequests:
		p.add("console.recent_requests", "console.recent_requests must be between 1 and %d, got %d", maxConsoleRecentRequests, k.RecentRequests)
	}
	switch d := k.SessionLifetime.Duration; {
	case d == 0:
		k.SessionLifetime.Duration = DefaultConsoleSessionLifetime
	case d < minConsoleSessionLifetimeLimit:
		p.add("console.session_lifetime", "console.session_lifetime must be at least 1m, got %s", d)
	}
}

// ConsoleToken reads the console's admin token from console.token_file or console.token_env; "" when
// neither is set (SSO only). A set source that is empty, or a token shorter than MinTokenLength, fails.
func (k *Console) ConsoleToken(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	if k == nil || (k.TokenEnv == "" && k.TokenFile == "") {
		return "", nil
	}
	var token, from string
	if k.TokenFile != "" {
		data, err := readFile(k.TokenFile)
		if err != nil {
			return "", fmt.Errorf("console.token_file: %w", err)
		}
		token, from = strings.TrimSpace(string(data)), k.TokenFile
	} else {
		token, from = strings.TrimSpace(getenv(k.TokenEnv)), "$"+k.TokenEnv
	}
	switch n := len(token); {
	case n == 0 && k.AdminGroup != "":
		return "", nil // SSO signs in; the token is optional
	case n == 0:
		return "", fmt.Errorf("console: no admin token: %s is empty or not set (make one with: openssl rand -hex 32)", from)
	case n < MinTokenLength:
		return "", fmt.Errorf("console: the admin token from %s is %d characters long; it needs at least %d", from, n, MinTokenLength)
	}
	return token, nil
}

// Redacted is the effective configuration as the console shows it (as JSON, under the Go names of the
// keys), defaults filled in, with every secret the file itself may hold (a literal DSN, literal tokens,
// literal webhook secrets) replaced by "[redacted]". Secrets in variables and files are never read here.
func (c *Config) Redacted() *Config {
	const redacted = "[redacted]"
	cp := *c
	cp.RolesRaw = toml.Primitive{}
	if cp.Database.DSN != "" {
		cp.Database.DSN = redacted
	}
	cp.Auth.Tokens = append(TokenList(nil), c.Auth.Tokens...)
	for i := range cp.Auth.Tokens {
		if cp.Auth.Tokens[i].Value != "" {
			cp.Auth.Tokens[i].Value = redacted
		}
	}
	cp.Webhooks = append([]Webhook(nil), c.Webhooks...)
	for i := range cp.Webhooks {
		if cp.Webhooks[i].Secret != "" {
			cp.Webhooks[i].Secret = redacted
		}
	}
	return &cp
}
