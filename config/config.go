// Package config reads scimbridge's TOML configuration file: it decodes it, fills in defaults, checks every
// value and reports all problems at once, each with the file name, the line and the key. Secrets (API
// tokens, the database DSN) never have to live in the file: Tokens and DSN gather them from environment
// variables and files, with the lookups injected so that tests control them.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	Server   Server               `toml:"server"`
	Auth     Auth                 `toml:"auth"`
	Database Database             `toml:"database"`
	Users    mapping.UsersConfig  `toml:"users"`
	Log      Log                  `toml:"log"`
	Roles    *mapping.RolesConfig `toml:"roles"`
	Gate     *Gate                `toml:"gate"`

	users *mapping.Users
	roles *mapping.Roles
}

// Server is the [server] section: where the SCIM API listens.
type Server struct {
	Listen          string   `toml:"listen"`           // host:port
	BasePath        string   `toml:"base_path"`        // starts with "/", no trailing "/"; "" when served at the root
	MaxBodyBytes    int64    `toml:"max_body_bytes"`   // largest request body accepted
	ShutdownTimeout Duration `toml:"shutdown_timeout"` // how long requests in flight may finish on shutdown
	PublicURL       string   `toml:"public_url"`       // scheme://host[/prefix] for meta.location; "" derives it from the request
	PatchResponse   string   `toml:"patch_response"`   // "resource": 200 with the resource (RFC 7644, Okta); "no_content": 204
}

// Auth is the [auth] section: where the bearer tokens the IdP presents come from.
type Auth struct {
	Tokens     []string `toml:"tokens"`      // literal tokens; allowed but discouraged (see Warnings)
	TokensEnv  []string `toml:"tokens_env"`  // environment variables holding tokens
	TokensFile string   `toml:"tokens_file"` // a file with one token a line
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

// UnmarshalText parses a duration with time.ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"15s\", \"2m\" or \"1m30s\"", b)
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
			Listen:          DefaultListen,
			BasePath:        DefaultBasePath,
			MaxBodyBytes:    DefaultMaxBodyBytes,
			PatchResponse:   "resource",
			ShutdownTimeout: Duration{DefaultShutdownTimeout},
		},
		Auth: Auth{TokensEnv: append([]string(nil), DefaultTokensEnv...)},
		Database: Database{
			DSNEnv:            DefaultDSNEnv,
			BookkeepingPrefix: DefaultBookkeepingPrefix,
			MaxOpenConns:      DefaultMaxOpenConns,
		},
		Log: Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
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
	p.unknownKeys(md.Undecoded())
	cfg.validate(p)

	users, err := mapping.Compile(cfg.Users)
	for _, e := range unjoin(err) {
		p.addMsg(e.Error())
	}
	roles, err := mapping.CompileRoles(cfg.Roles)
	for _, e := range unjoin(err) {
		p.addMsg(e.Error())
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	cfg.users, cfg.roles = users, roles
	return cfg, nil
}

// RolesMapping returns the compiled [roles] mapping; nil when the configuration has none.
func (c *Config) RolesMapping() *mapping.Roles { return c.roles }

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
	if s.MaxBodyBytes <= 0 {
		p.add("server.max_body_bytes", "server.max_body_bytes must be a positive number of bytes, got %d", s.MaxBodyBytes)
	}
	if s.ShutdownTimeout.Duration <= 0 {
		p.add("server.shutdown_timeout", "server.shutdown_timeout must be positive, got %s", s.ShutdownTimeout.Duration)
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
}

// Warnings lists settings that work but are unwise, for the caller to log at startup.
func (c *Config) Warnings() []string {
	var w []string
	if len(c.Auth.Tokens) > 0 {
		w = append(w, "auth.tokens keeps API tokens in the configuration file; prefer auth.tokens_env or auth.tokens_file")
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

// Tokens gathers the API tokens: auth.tokens, then each variable of auth.tokens_env (which may hold several
// tokens separated by commas or spaces), then the lines of auth.tokens_file (blank lines and lines starting
// with # are skipped). It fails when there is none, or when one is shorter than MinTokenLength; no message
// ever holds a token. main passes os.Getenv and os.ReadFile.
func (c *Config) Tokens(getenv func(string) string, readFile func(string) ([]byte, error)) ([]string, error) {
	var (
		tokens []string
		errs   []error
		seen   = map[string]bool{}
	)
	take := func(tok, from string) {
		switch {
		case utf8.RuneCountInString(tok) < MinTokenLength:
			errs = append(errs, fmt.Errorf("auth: the token from %s is %d characters long; tokens need at least %d (make one with: openssl rand -hex 32)",
				from, utf8.RuneCountInString(tok), MinTokenLength))
		case strings.IndexFunc(tok, unicode.IsSpace) >= 0:
			errs = append(errs, fmt.Errorf("auth: the token from %s contains a space", from))
		case !seen[tok]:
			seen[tok] = true
			tokens = append(tokens, tok)
		}
	}
	for i, tok := range c.Auth.Tokens {
		take(strings.TrimSpace(tok), fmt.Sprintf("auth.tokens[%d]", i))
	}
	for _, name := range c.Auth.TokensEnv {
		fields := strings.FieldsFunc(getenv(name), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		for i, tok := range fields {
			from := "$" + name
			if len(fields) > 1 {
				from = fmt.Sprintf("$%s (token %d)", name, i+1)
			}
			take(tok, from)
		}
	}
	if f := c.Auth.TokensFile; f != "" {
		data, err := readFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.tokens_file: %w", err))
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			take(line, fmt.Sprintf("%s line %d", f, i+1))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		var tried []string
		switch n := len(c.Auth.TokensEnv); {
		case n == 1:
			tried = append(tried, "the environment variable "+c.Auth.TokensEnv[0]+" is empty or not set")
		case n > 1:
			tried = append(tried, "the environment variables "+joinWith(c.Auth.TokensEnv, "and")+" are empty or not set")
		}
		if c.Auth.TokensFile != "" {
			tried = append(tried, "auth.tokens_file ("+c.Auth.TokensFile+") holds no token")
		}
		if len(tried) == 0 {
			return nil, errors.New("auth: no API token: set auth.tokens_env or auth.tokens_file")
		}
		return nil, fmt.Errorf("auth: no API token: %s", strings.Join(tried, ", and "))
	}
	return tokens, nil
}

// DSN returns the database DSN: database.dsn if set, else the content of database.dsn_file (trimmed),
// else the variable named by database.dsn_env. main passes os.Getenv and os.ReadFile.
func (c *Config) DSN(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	d := c.Database
	if dsn := strings.TrimSpace(d.DSN); dsn != "" {
		return dsn, nil
	}
	if d.DSNFile != "" {
		data, err := readFile(d.DSNFile)
		if err != nil {
			return "", fmt.Errorf("database.dsn_file: %w", err)
		}
		dsn := strings.TrimSpace(string(data))
		if dsn == "" {
			return "", fmt.Errorf("database.dsn_file: %s is empty", d.DSNFile)
		}
		return dsn, nil
	}
	if d.DSNEnv == "" {
		return "", errors.New("database: no DSN: set database.dsn_env, database.dsn_file or database.dsn")
	}
	if dsn := strings.TrimSpace(getenv(d.DSNEnv)); dsn != "" {
		return dsn, nil
	}
	return "", fmt.Errorf("database: no DSN: the environment variable %s is empty or not set (or set database.dsn_file)", d.DSNEnv)
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

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// problems collects the errors of one file, each placed at the line of the key it names.
type problems struct {
	name  string
	lines keyLines
	errs  []error
}

// lineError is one problem at a line of the configuration file (line 0 when no line is known).
type lineError struct {
	file string
	line int
	col  int // 0 when unknown
	msg  string
	err  error // the underlying error, if any
}

func (e *lineError) Error() string {
	if e.line > 0 && e.col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
	}
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

func (e *lineError) Unwrap() error { return e.err }

// add records a problem about key ("server.base_path").
func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.find(splitKey(key)), msg: fmt.Sprintf(format, args...)})
}

// addMsg records a message that starts with the key it is about ("users.columns.email: ...").
func (p *problems) addMsg(msg string) {
	p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.find(leadingKey(msg)), msg: msg})
}

// err reports the problems in the order of their lines, those without a line last.
func (p *problems) err() error {
	line := func(e error) int {
		if le, ok := e.(*lineError); ok && le.line > 0 {
			return le.line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(p.errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(p.errs...)
}

var leadingKeyPattern = regexp.MustCompile(`^(server|auth|database|users|log)((\.[A-Za-z0-9_-]+)|(\[[0-9]+\]))*`)

// leadingKey extracts the key a message starts with, such as users.extensions[1].urn, as path pieces with
// the index of the array element kept in brackets on the piece ("extensions[1]").
func leadingKey(msg string) []string {
	return splitKey(leadingKeyPattern.FindString(msg))
}

func splitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// syntaxError turns a TOML syntax error into "name:line:col: message" followed by the offending lines.
func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &lineError{file: name, msg: err.Error(), err: err}
	}
	msg := pe.Message
	// ErrorWithPosition is "toml: error: ...\n\nAt line N, column C:\n\n<excerpt>"; keep the excerpt.
	if parts := strings.SplitN(pe.ErrorWithPosition(), "\n\n", 3); len(parts) == 3 {
		msg += "\n\n" + strings.TrimRight(parts[2], "\n")
	}
	return &lineError{file: name, line: pe.Position.Line, col: pe.Position.Col, msg: msg, err: pe}
}

var (
	typeErrPattern   = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "((?:[^"\\]|\\.)*)"\): (.*)$`)
	incompatPattern  = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (.+)$`)
	unknownInPattern = regexp.MustCompile(`unknown key "([^"]+)"`)
)

// decodeError turns an error from decoding into the Config (a value of the wrong type, or an error from a
// custom UnmarshalTOML in package mapping) into "name:line: key: message".
func (p *problems) decodeError(err error) error {
	var (
		key  string
		line int
		msg  = err.Error()
	)
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key, line, msg = pe.LastKey, pe.Position.Line, pe.Message
	} else if m := typeErrPattern.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], m[3]
	}
	if m := incompatPattern.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("expected %s, got %s", describeType(m[2]), describeType(m[1]))
	}
	path := splitKey(key)
	if m := unknownInPattern.FindStringSubmatch(msg); m != nil && key != "" {
		// The line of the unknown key itself, when a table spans several lines.
		if l := p.lines.exact(append(append([]string(nil), path...), m[1])); l > 0 {
			line = l
		}
	}
	if line == 0 {
		line = p.lines.find(path)
	}
	switch last := path[max(len(path)-1, 0):]; {
	case key == "":
	case len(last) == 1 && (strings.HasPrefix(msg, last[0]+":") || strings.HasPrefix(msg, last[0]+".")):
		// The message names its key already ("key_generation.random_length must be a number"): complete it.
		msg = strings.Join(append(path[:len(path)-1:len(path)-1], msg), ".")
	default:
		msg = key + ": " + msg
	}
	return &lineError{file: p.name, line: line, msg: msg, err: err}
}

func describeType(t string) string {
	switch strings.ToLower(t) {
	case "string":
		return "a string"
	case "integer", "int64":
		return "a whole number"
	case "float", "float64":
		return "a number"
	case "bool", "boolean":
		return "true or false"
	case "array", "slice":
		return "a list [...]"
	case "table", "hash", "map":
		return "a table"
	}
	return t
}

// unknownKeys reports the keys the decoder left unused: misspelt keys and sections this version does not
// know. A key inside an unknown table is not reported again.
func (p *problems) unknownKeys(keys []toml.Key) {
	undecoded := map[string]bool{}
	for _, k := range keys {
		undecoded[joinKey(k)] = true
	}
	occurrence := map[string]int{}
	for _, k := range keys {
		reported := false
		for j := 1; j < len(k); j++ {
			if undecoded[joinKey(k[:j])] {
				reported = true
				break
			}
		}
		if reported {
			continue
		}
		n := occurrence[joinKey(k)]
		occurrence[joinKey(k)]++
		msg := fmt.Sprintf("unknown key %q", k.String())
		if s := suggestKey(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.nth(k, n), msg: msg})
	}
}

var unmarshalerType = reflect.TypeOf((*toml.Unmarshaler)(nil)).Elem()

// suggestKey returns k with its first unknown piece replaced by the closest known key of that table, or "".
func suggestKey(k toml.Key) string {
	t := reflect.TypeOf(Config{})
	for i, piece := range k {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
			return "" // a map or a custom type: any key may be right
		}
		var names []string
		var next reflect.Type
		for j := 0; j < t.NumField(); j++ {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
			if strings.EqualFold(name, piece) {
				next = f.Type
			}
		}
		if next == nil {
			best := closest(piece, names)
			if best == "" {
				return ""
			}
			fixed := append(toml.Key(nil), k[:i+1]...)
			fixed[i] = best
			return fixed.String()
		}
		t = next
	}
	return ""
}

// closest returns the candidate nearest to s by edit distance, or "" when none is near enough.
func closest(s string, candidates []string) string {
	best, bestD := "", max(2, utf8.RuneCountInString(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// keyLines maps every key of a TOML document (its pieces lowercased and joined by joinKey) to the lines
// where it is defined, in document order. BurntSushi/toml keeps positions to itself, so scanKeyLines reads
// the text again: it follows [table] and [[array]] headers, dotted keys, inline tables and arrays, and
// skips strings and comments. It only runs on text the TOML parser has accepted.
type keyLines map[string][]int

func joinKey(k []string) string { return strings.ToLower(strings.Join(k, "\x00")) }

// exact returns the first line defining the key, or 0.
func (kl keyLines) exact(k []string) int {
	if l := kl[joinKey(k)]; len(l) > 0 {
		return l[0]
	}
	return 0
}

// nth returns the line of the n-th definition of the key (the n-th element of an array of tables), or
// else the line of its nearest enclosing key.
func (kl keyLines) nth(k []string, n int) int {
	if l := kl[joinKey(k)]; len(l) > 0 {
		return l[min(n, len(l)-1)]
	}
	return kl.find(k)
}

// find returns the line of the key, or of its nearest enclosing key that is in the document; 0 when none
// is. A piece may carry an array index, "extensions[1]", which picks the definition of that element.
func (kl keyLines) find(k []string) int {
	clean := make([]string, len(k))
	index := make([]int, len(k))
	for i, piece := range k {
		clean[i] = piece
		if open := strings.IndexByte(piece, '['); open > 0 && strings.HasSuffix(piece, "]") {
			if n, err := strconv.Atoi(piece[open+1 : len(piece)-1]); err == nil {
				clean[i], index[i] = piece[:open], n
			}
		}
	}
	for j := len(clean); j > 0; j-- {
		n := 0
		for i := 0; i < j; i++ {
			if index[i] > 0 {
				n = index[i]
			}
		}
		if l := kl[joinKey(clean[:j])]; len(l) > 0 {
			return l[min(n, len(l)-1)]
		}
	}
	return 0
}

type keyScanner struct {
	s    string
	i    int
	line int
	out  keyLines
}

func scanKeyLines(src string) keyLines {
	sc := &keyScanner{s: src, line: 1, out: keyLines{}}
	var table []string
	for {
		sc.skipBlank(true)
		if sc.eof() {
			return sc.out
		}
		start := sc.i
		if sc.peek() == '[' {
			double := strings.HasPrefix(sc.s[sc.i:], "[[")
			sc.next()
			if double {
				sc.next()
			}
			line := sc.line
			table = sc.key()
			sc.record(nil, table, line)
			sc.skipBlank(false)
			for !sc.eof() && sc.peek() == ']' {
				sc.next()
			}
		} else {
			line := sc.line
			k := sc.key()
			sc.record(table, k, line)
			sc.skipBlank(false)
			if sc.peek() == '=' {
				sc.next()
				sc.value(concat(table, k))
			}
		}
		if sc.i == start { // cannot happen on valid TOML; never loop forever
			sc.next()
		}
	}
}

// record notes that key (and each of its dotted prefixes) is defined at line, under the table prefix.
func (sc *keyScanner) record(prefix, key []string, line int) {
	for j := 1; j <= len(key); j++ {
		k := joinKey(concat(prefix, key[:j]))
		sc.out[k] = append(sc.out[k], line)
	}
}

func concat(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

func (sc *keyScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *keyScanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *keyScanner) next() {
	if sc.eof() {
		return
	}
	if sc.s[sc.i] == '\n' {
		sc.line++
	}
	sc.i++
}

// skipBlank skips spaces and comments, and newlines too when newlines is set.
func (sc *keyScanner) skipBlank(newlines bool) {
	for !sc.eof() {
		switch c := sc.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n'):
			sc.next()
		case c == '#':
			for !sc.eof() && sc.peek() != '\n' {
				sc.next()
			}
		default:
			return
		}
	}
}

// key reads a dotted key: bare, "quoted" or 'literal' pieces separated by dots.
func (sc *keyScanner) key() []string {
	var pieces []string
	for {
		sc.skipBlank(false)
		start := sc.i
		switch sc.peek() {
		case '"', '\'':
			sc.skipString()
			raw := sc.s[start:sc.i]
			piece := raw[1 : len(raw)-1]
			if raw[0] == '"' {
				if u, err := strconv.Unquote(raw); err == nil {
					piece = u
				}
			}
			pieces = append(pieces, piece)
		default:
			for !sc.eof() && isBareKeyChar(sc.peek()) {
				sc.next()
			}
			pieces = append(pieces, sc.s[start:sc.i])
		}
		sc.skipBlank(false)
		if sc.peek() != '.' {
			return pieces
		}
		sc.next()
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips a value; the keys of inline tables in it are recorded under path.
func (sc *keyScanner) value(path []string) {
	sc.skipBlank(false)
	switch sc.peek() {
	case '"', '\'':
		sc.skipString()
	case '{':
		sc.next()
		for !sc.eof() {
			sc.skipBlank(true)
			switch sc.peek() {
			case '}':
				sc.next()
				return
			case ',':
				sc.next()
				continue
			}
			start, line := sc.i, sc.line
			k := sc.key()
			sc.record(path, k, line)
			sc.skipBlank(true)
			if sc.peek() == '=' {
				sc.next()
				sc.value(concat(path, k))
			}
			if sc.i == start {
				sc.next()
			}
		}
	case '[':
		sc.next()
		for !sc.eof() {
			sc.skipBlank(true)
			switch sc.peek() {
			case ']':
				sc.next()
				return
			case ',':
				sc.next()
				continue
			}
			start := sc.i
			sc.value(path)
			if sc.i == start {
				sc.next()
			}
		}
	default: // number, boolean, date and time (which may hold a space)
		for !sc.eof() && !strings.ContainsRune(",]}#\n", rune(sc.peek())) {
			sc.next()
		}
	}
}

// skipString skips a basic, literal or multi-line string, the cursor on its first quote.
func (sc *keyScanner) skipString() {
	q := sc.peek()
	if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(q), 3)) {
		sc.next()
		sc.next()
		sc.next()
		for !sc.eof() {
			if q == '"' && sc.peek() == '\\' {
				sc.next()
				sc.next()
				continue
			}
			if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(q), 3)) {
				for !sc.eof() && sc.peek() == q { // up to two quotes may end the content
					sc.next()
				}
				return
			}
			sc.next()
		}
		return
	}
	sc.next()
	for !sc.eof() && sc.peek() != '\n' {
		c := sc.peek()
		sc.next()
		if q == '"' && c == '\\' {
			sc.next()
			continue
		}
		if c == q {
			return
		}
	}
}
