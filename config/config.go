// Package config reads scimbridge's TOML configuration file: it decodes it, fills in defaults, checks every
// value and reports all problems at once, each with the file name, the line and the key. Secrets (API
// tokens, the database DSN) never have to live in the file: Tokens and DSN gather them from environment
// variables and files, with the lookups injected so that tests control them.
package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/mapping"
)

// Default values, also written in config.example.toml.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultBasePath          = "/scim/v2"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultDSNEnv            = "SCIMBRIDGE_DSN"
	DefaultBookkeepingPrefix = "scim_"
	DefaultMaxOpenConns      = 20
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "text"

	// MinTokenLength is the shortest API token accepted.
	MinTokenLength = 16
)

// DefaultTokensEnv are the environment variables read for API tokens when auth.tokens_env is not set:
// two, so that a new token can be rolled out before the old one is withdrawn.
var DefaultTokensEnv = []string{"SCIMBRIDGE_TOKEN", "SCIMBRIDGE_TOKEN_NEXT"}

// Config is the whole configuration file.
type Config struct {
	Server   Server                `toml:"server"`
	Auth     Auth                  `toml:"auth"`
	Database Database              `toml:"database"`
	Users    mapping.UsersConfig   `toml:"users"`
	Log      Log                   `toml:"log"`
	Roles    []mapping.RolesConfig `toml:"-"`     // [roles], or several [[roles]] stores
	RolesRaw toml.Primitive        `toml:"roles"` // decoded into Roles by Parse: a table or an array of tables
	Groups   *mapping.GroupsConfig `toml:"groups"`
	Gate     *Gate                 `toml:"gate"`
	Webhooks []Webhook             `toml:"webhooks"`
	Metrics  Metrics               `toml:"metrics"`
	Console  *Console              `toml:"console"`

	Audit   Audit   `toml:"audit"`
	Breaker Breaker `toml:"breaker"`
	Drift   Drift   `toml:"drift"`

	users  *mapping.Users
	roles  []*mapping.Roles
	groups *mapping.Groups
}

// Server is the [server] section: where the SCIM API listens.
type Server struct {
	Listen          string   `toml:"listen"`           // host:port
	BasePath        string   `toml:"base_path"`        // starts with "/", no trailing "/"; "" when served at the root
	MaxBodyBytes    int64    `toml:"max_body_bytes"`   // largest request body accepted
	ShutdownTimeout Duration `toml:"shutdown_timeout"` // how long requests in flight may finish on shutdown
	PublicURL       string   `toml:"public_url"`       // scheme://host[/prefix] for meta.location; "" derives it from the request
	PatchResponse   string   `toml:"patch_response"`   // "resource": 200 with the resource (RFC 7644, Okta); "no_content": 204
	// ExtraSchemas is what to do with a URN in a body's "schemas" that is neither the resource's nor a
	// declared extension's: "ignore" (default) or "refuse" (which also refuses a body without "schemas").
	ExtraSchemas     string   `toml:"extra_schemas"`
	MaxValueBytes    int      `toml:"max_value_bytes"`    // largest attribute value kept in scimbridge's own document
	MaxDocumentBytes int      `toml:"max_document_bytes"` // largest document (all such attributes of one resource)
	RetryWindow      Duration `toml:"retry_window"`       // a POST repeating a create this recent answers 201; "0s" turns it off
	// Mode is ModeLive (SCIM writes the app's tables) or ModeShadow (it writes copies; see Shadow).
	Mode string `toml:"mode"`
}

// Auth is the [auth] section: where the bearer tokens the IdP presents come from.
type Auth struct {
	// Tokens are [[auth.tokens]] named sources (name, env or file), or literal tokens (allowed but
	// discouraged, see Warnings) in the old flat form.
	Tokens     TokenList `toml:"tokens"`
	TokensEnv  []string  `toml:"tokens_env"`  // environment variables holding tokens named "default"
	TokensFile string    `toml:"tokens_file"` // a file with one token a line, named "default"
}

// Database is the [database] section.
type Database struct {
	DSN               string `toml:"dsn"`      // literal DSN; discouraged when it holds a password
	DSNEnv            string `toml:"dsn_env"`  // environment variable holding the DSN
	DSNFile           string `toml:"dsn_file"` // file holding the DSN
	BookkeepingPrefix string `toml:"bookkeeping_prefix"`
	MaxOpenConns      int    `toml:"max_open_conns"`
}

// Log is the [log] section.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// SlogLevel returns the level as a slog.Level (info for anything unknown; Parse has rejected those).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Duration is a time.Duration written in TOML as a string such as "15s" or "1m30s".
type Duration struct{ time.Duration }

// UnmarshalText parses a duration with time.ParseDuration, or a whole number of days ("400d").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"15s\", \"2m\", \"1m30s\" or \"400d\"", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns a configuration with every default filled in and an empty [users] section.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:           DefaultListen,
			BasePath:         DefaultBasePath,
			MaxBodyBytes:     DefaultMaxBodyBytes,
			PatchResponse:    "resource",
			ShutdownTimeout:  Duration{DefaultShutdownTimeout},
			ExtraSchemas:     "ignore",
			MaxValueBytes:    64 << 10,
			MaxDocumentBytes: 256 << 10,
			RetryWindow:      Duration{2 * time.Minute},
			Mode:             ModeLive,
		},
		Auth: Auth{TokensEnv: append([]string(nil), DefaultTokensEnv...)},
		Database: Database{
			DSNEnv:            DefaultDSNEnv,
			BookkeepingPrefix: DefaultBookkeepingPrefix,
			MaxOpenConns:      DefaultMaxOpenConns,
		},
		Log:   Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Audit: Audit{Retention: Duration{DefaultAuditRetention}},
	}
}

// Load reads, decodes, completes and checks the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes, completes and checks a configuration; name (usually the file's path) starts every message.
// All problems are reported together, one a line, as "name:line: message".
func Parse(data []byte, name string) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a BOM left by a Windows editor
	src := string(data)

	// Parse once without a target so that syntax errors are told apart from errors about values.
	var raw map[string]any
	if _, err := toml.Decode(src, &raw); err != nil {
		return nil, syntaxError(name, err)
	}
	lines := scanKeyLines(src)
	p := &problems{name: name, lines: lines}

	cfg := Default()
	md, err := toml.Decode(src, cfg)
	if err != nil {
		return nil, p.decodeError(err)
	}
	switch raw["roles"].(type) {
	case map[string]any:
		cfg.Roles = make([]mapping.RolesConfig, 1)
		err = md.PrimitiveDecode(cfg.RolesRaw, &cfg.Roles[0])
	case []map[string]any:
		err = md.PrimitiveDecode(cfg.RolesRaw, &cfg.Roles)
	case nil:
	default:
		p.addMsg("roles must be a table ([roles]) or an array of tables ([[roles]])")
	}
	if err != nil {
		return nil, p.decodeError(err)
	}
	p.unknownKeys(md.Undecoded())
	cfg.validate(p)
	cfg.validateTokens(p, md.IsDefined("auth", "tokens_env"))
	cfg.validateMetrics(p)
	cfg.validateBreaker(p)
	cfg.validateDrift(p)
	cfg.validateConsole(p)

	users, err := mapping.Compile(cfg.Users)
	for _, e := range unjoin(err) {
		p.addMsg(e.Error())
	}
	roles, err := mapping.CompileRoleStores(cfg.Roles)
	for _, e := range unjoin(err) {
		p.addMsg(e.Error())
	}
	groups, err := mapping.CompileGroups(cfg.Groups)
	for _, e := range unjoin(err) {
		p.addMsg(e.Error())
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	cfg.users, cfg.roles, cfg.groups = users, roles, groups
	return cfg, nil
}

// RolesMapping returns the compiled [roles] mapping, the first of several [[roles]]; nil when the
// configuration has none.
func (c *Config) RolesMapping() *mapping.Roles {
	if len(c.roles) == 0 {
		return nil
	}
	return c.roles[0]
}

// MoreRoleStores returns the [[roles]] stores after the first (RolesMapping).
func (c *Config) MoreRoleStores() []*mapping.Roles {
	if len(c.roles) < 2 {
		return nil
	}
	return c.roles[1:]
}

// RoleStores returns every compiled role store, in the configuration's order.
func (c *Config) RoleStores() []*mapping.Roles { return c.roles }

// GroupsMapping returns the compiled [groups] section; nil when the configuration has none. Its
// MirrorMapping is the [groups.mirror] to pass to the store (nil-safe).
func (c *Config) GroupsMapping() *mapping.Groups { return c.groups }

// UsersMapping returns the compiled [users] mapping; nil for a Config that did not come from Load or Parse.
func (c *Config) UsersMapping() *mapping.Users { return c.users }

var (
	prefixPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,15}$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate normalizes values and reports every one that is wrong.
func (c *Config) validate(p *problems) {
	s := &c.Server
	if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
		p.add("server.listen", "server.listen must be host:port, such as %q or \":8080\", got %q", DefaultListen, s.Listen)
	}
	switch {
	case !strings.HasPrefix(s.BasePath, "/"):
		p.add("server.base_path", `server.base_path must start with "/" (use "/" to serve at the root), got %q`, s.BasePath)
	case strings.ContainsAny(s.BasePath, "?#") || strings.IndexFunc(s.BasePath, unicode.IsSpace) >= 0:
		p.add("server.base_path", "server.base_path must be a plain URL path without spaces, \"?\" or \"#\", got %q", s.BasePath)
	default:
		s.BasePath = strings.TrimRight(s.BasePath, "/")
	}
	if !oneOf(s.PatchResponse, "resource", "no_content") {
		p.add("server.patch_response", `server.patch_response must be "resource" or "no_content", got %q`, s.PatchResponse)
	}
	if !oneOf(s.Mode, ModeLive, ModeShadow) {
		p.add("server.mode", `server.mode must be "live" or "shadow", got %q`, s.Mode)
	}
	if !oneOf(s.ExtraSchemas, "ignore", "refuse") {
		p.add("server.extra_schemas", `server.extra_schemas must be "ignore" or "refuse", got %q`, s.ExtraSchemas)
	}
	if s.MaxValueBytes <= 0 || s.MaxDocumentBytes < s.MaxValueBytes {
		p.add("server.max_value_bytes", "server.max_value_bytes must be positive and at most server.max_document_bytes, got %d and %d",
			s.MaxValueBytes, s.MaxDocumentBytes)
	}
	if s.RetryWindow.Duration < 0 {
		p.add("server.retry_window", "server.retry_window must not be negative, got %s", s.RetryWindow.Duration)
	}
	if s.MaxBodyBytes <= 0 {
		p.add("server.max_body_bytes", "server.max_body_bytes must be a positive number of bytes, got %d", s.MaxBodyBytes)
	}
	if s.ShutdownTimeout.Duration <= 0 {
		p.add("server.shutdown_timeout", "server.shutdown_timeout must be positive, got %s", s.ShutdownTimeout.Duration)
	}
	if c.Audit.Retention.Duration < 0 {
		p.add("audit.retention", "audit.retention must be a duration such as \"400d\" (0 keeps the audit trail for ever), got %s", c.Audit.Retention.Duration)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			p.add("server.public_url", "server.public_url must be an http:// or https:// address such as \"https://scim.example.com\", without query or fragment, got %q", s.PublicURL)
		} else {
			s.PublicURL = strings.TrimRight(s.PublicURL, "/")
		}
	}

	for i, name := range c.Auth.TokensEnv {
		if !envNamePattern.MatchString(name) {
			// The value is not printed: someone may have put a token here instead of a variable name.
			p.add("auth.tokens_env", "auth.tokens_env[%d] is not an environment variable name (letters, digits and _); put the token in that variable, not here", i)
		}
	}

	d := &c.Database
	if d.DSNEnv != "" && !envNamePattern.MatchString(d.DSNEnv) {
		p.add("database.dsn_env", "database.dsn_env is not an environment variable name (letters, digits and _); put the DSN in that variable, not here")
	}
	if !prefixPattern.MatchString(d.BookkeepingPrefix) {
		p.add("database.bookkeeping_prefix", "database.bookkeeping_prefix must be a lowercase letter followed by at most 15 lowercase letters, digits or _, such as %q; got %q", DefaultBookkeepingPrefix, d.BookkeepingPrefix)
	}
	if d.MaxOpenConns < 1 {
		p.add("database.max_open_conns", "database.max_open_conns must be at least 1, got %d", d.MaxOpenConns)
	}

	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		p.add("log.level", `log.level must be "debug", "info", "warn" or "error", got %q`, c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		p.add("log.format", `log.format must be "text" or "json", got %q`, c.Log.Format)
	}
	c.validateGate(p)
	c.validateWebhooks(p)
}

// Warnings lists settings that work but are unwise, for the caller to log at startup.
func (c *Config) Warnings() []string {
	var w []string
	if slices.ContainsFunc(c.Auth.Tokens, func(ts TokenSource) bool { return ts.Value != "" }) {
		w = append(w, "auth.tokens keeps API tokens in the configuration file; prefer [[auth.tokens]] entries with env or file, or auth.tokens_env or auth.tokens_file")
	}
	if c.Database.DSN != "" {
		if strings.Contains(c.Database.DSN, ":") && strings.Contains(c.Database.DSN, "@") {
			w = append(w, "database.dsn keeps the database password in the configuration file; prefer database.dsn_env or database.dsn_file")
		}
		if c.Database.DSNFile != "" {
			w = append(w, "database.dsn and database.dsn_file are both set; database.dsn is used")
		}
	}
	return w
}

// joinWith joins items as in "A, B and C".
func joinWith(items []string, conj string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
