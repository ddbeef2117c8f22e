package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// minimal is the smallest valid configuration: a users table with a userName column and an active flag
// (deactivation on DELETE needs one).
const minimal = `
[users]
table = "users"

[users.columns]
email = "userName"
is_active = "active"
`

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"server.listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"server.base_path", cfg.Server.BasePath, "/scim/v2"},
		{"server.max_body_bytes", cfg.Server.MaxBodyBytes, int64(1 << 20)},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout.Duration, 15 * time.Second},
		{"server.public_url", cfg.Server.PublicURL, ""},
		{"auth.tokens", len(cfg.Auth.Tokens), 0},
		{"auth.tokens_env", cfg.Auth.TokensEnv, []string{"SCIMBRIDGE_TOKEN", "SCIMBRIDGE_TOKEN_NEXT"}},
		{"auth.tokens_file", cfg.Auth.TokensFile, ""},
		{"database.dsn", cfg.Database.DSN, ""},
		{"database.dsn_env", cfg.Database.DSNEnv, "SCIMBRIDGE_DSN"},
		{"database.dsn_file", cfg.Database.DSNFile, ""},
		{"database.bookkeeping_prefix", cfg.Database.BookkeepingPrefix, "scim_"},
		{"database.max_open_conns", cfg.Database.MaxOpenConns, 20},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "text"},
		{"users mapping compiled", cfg.UsersMapping() != nil, true},
		{"users.key default", cfg.UsersMapping().Key, "id"},
		{"no warnings", len(cfg.Warnings()), 0},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestValues(t *testing.T) {
	cfg, err := Parse([]byte(`
[server]
listen = ":9000"
base_path = "/api/scim/"
max_body_bytes = 2048
shutdown_timeout = "1m30s"
public_url = "https://scim.example.com/"

[auth]
tokens_env = []
tokens_file = "/run/secrets/t"

[database]
dsn_file = "/run/secrets/dsn"
bookkeeping_prefix = "sb_"
max_open_conns = 5

[log]
level = "DEBUG"
format = "json"
`+minimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Server
	if s.Listen != ":9000" || s.BasePath != "/api/scim" || s.MaxBodyBytes != 2048 ||
		s.ShutdownTimeout.Duration != 90*time.Second || s.PublicURL != "https://scim.example.com" {
		t.Errorf("server = %+v", s)
	}
	if len(cfg.Auth.TokensEnv) != 0 || cfg.Auth.TokensFile != "/run/secrets/t" {
		t.Errorf("auth = %+v (an explicit empty tokens_env must stay empty)", cfg.Auth)
	}
	if cfg.Database.BookkeepingPrefix != "sb_" || cfg.Database.MaxOpenConns != 5 || cfg.Database.DSNEnv != "SCIMBRIDGE_DSN" {
		t.Errorf("database = %+v", cfg.Database)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "json" || cfg.Log.SlogLevel().String() != "DEBUG" {
		t.Errorf("log = %+v", cfg.Log)
	}
}

func TestBasePathRoot(t *testing.T) {
	cfg, err := Parse([]byte("[server]\nbase_path = \"/\"\n"+minimal), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BasePath != "" {
		t.Errorf("base_path %q, want \"\" for the root", cfg.Server.BasePath)
	}
}

// messages returns the messages of a joined error.
func messages(err error) []string {
	var out []string
	for _, e := range unjoin(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // each must be in the error, in this order (problems are sorted by line)
		not  []string // must not be in the error
	}{
		{
			name: "unknown top-level key",
			toml: "listen = \"x\"\n" + minimal,
			want: []string{`config.toml:1: unknown key "listen"`},
		},
		{
			name: "unknown top-level table",
			toml: minimal + "\n[gateway]\nlisten = \"x\"\nupstream = \"y\"\n",
			want: []string{`config.toml:9: unknown key "gateway"`},
			not:  []string{"gateway.listen", "gateway.upstream"},
		},
		{
			name: "unknown nested key with suggestion",
			toml: `[users]
table = "users"

[users.colums]
email = "userName"
`,
			want: []string{
				`config.toml:1: users.columns: no column holds userName`,
				`config.toml:4: unknown key "users.colums" (did you mean "users.columns"?)`,
			},
			not: []string{"users.colums.email"},
		},
		{
			name: "several unknown keys, all reported",
			toml: `[server]
listen = ":1"
max_body_size = 10
basepath = "/x"

[database]
dsn_env = "X"
bookeeping_prefix = "a_"
` + minimal,
			want: []string{
				`config.toml:3: unknown key "server.max_body_size" (did you mean "server.max_body_bytes"?)`,
				`config.toml:4: unknown key "server.basepath" (did you mean "server.base_path"?)`,
				`config.toml:8: unknown key "database.bookeeping_prefix" (did you mean "database.bookkeeping_prefix"?)`,
			},
		},
		{
			name: "unknown key in an inline table and a dotted key",
			toml: `log = { level = "info", formt = "json" }
server.listn = ":1"
` + minimal,
			want: []string{
				`config.toml:1: unknown key "log.formt" (did you mean "log.format"?)`,
				`config.toml:2: unknown key "server.listn" (did you mean "server.listen"?)`,
			},
		},
		{
			name: "unknown key in the second element of an array of tables",
			toml: minimal + `
[[users.extensions]]
urn = "urn:acme:a:User"

[[users.extensions]]
urn = "urn:acme:b:User"
atributes = { x = "string" }
`,
			want: []string{`config.toml:14: unknown key "users.extensions.atributes" (did you mean "users.extensions.attributes"?)`},
		},
		{
			name: "unknown key after multi-line strings",
			toml: `# a "comment" with = signs and [brackets]
[server]
public_url = """
https://a
"""
listen = '''x
[y]'''
tokens = 1
` + minimal,
			want: []string{`config.toml:8: unknown key "server.tokens"`},
		},
		{
			name: "syntax error keeps its line",
			toml: "[server]\nlisten = \"127.0.0.1:8080\"\nbase_path = /scim\n",
			want: []string{"config.toml:3:13: expected value", "3 | base_path = /scim"},
		},
		{
			name: "wrong type names key and line",
			toml: "[server]\n\nmax_body_bytes = \"1MB\"\n" + minimal,
			want: []string{`config.toml:3: server.max_body_bytes: expected a whole number, got a string`},
		},
		{
			name: "bad duration",
			toml: "[server]\nshutdown_timeout = \"15\"\n" + minimal,
			want: []string{`config.toml:2: server.shutdown_timeout: "15" is not a duration`},
		},
		{
			name: "unknown key inside a column spec (custom UnmarshalTOML)",
			toml: minimal + "first = { from = \"name.givenName\", trasform = \"lower\" }\n",
			want: []string{`config.toml:8: users.columns.first: unknown key "trasform"`},
		},
		{
			name: "unknown key inside a column spec table over several lines",
			toml: minimal + "\n[users.columns.status]\nfrom = \"active\"\nmapp = { true = 1 }\n",
			want: []string{`config.toml:11: users.columns.status: unknown key "mapp"`},
		},
		{
			name: "bad key_generation",
			toml: "[users]\ntable = \"u\"\nkey_generation = { length = 3 }\n[users.columns]\nemail = \"userName\"\n",
			want: []string{`config.toml:3: users.key_generation: unknown key "length" (random_length, alphabet)`},
		},
		{
			name: "key_generation of the wrong type",
			toml: "[users]\ntable = \"u\"\nkey_generation = { random_length = \"26\" }\n[users.columns]\nemail = \"userName\"\n",
			want: []string{`config.toml:3: users.key_generation.random_length must be a number`},
		},
		{
			name: "bad bookkeeping prefix",
			toml: "[database]\nbookkeeping_prefix = \"Scim-\"\n" + minimal,
			want: []string{`config.toml:2: database.bookkeeping_prefix must be`},
		},
		{
			name: "bookkeeping prefix too long",
			toml: "[database]\nbookkeeping_prefix = \"abcdefghijklmnopq\"\n" + minimal,
			want: []string{`config.toml:2: database.bookkeeping_prefix must be`},
		},
		{
			name: "bad base_path",
			toml: "[server]\nbase_path = \"scim/v2\"\n" + minimal,
			want: []string{`config.toml:2: server.base_path must start with "/"`},
		},
		{
			name: "validation errors reported together",
			toml: `[server]
listen = "nohostport"
max_body_bytes = 0
shutdown_timeout = "-1s"
public_url = "ftp://x"

[database]
max_open_conns = 0
dsn_env = "MY DSN"

[auth]
tokens_env = ["abc-def-secret-looking-value"]

[log]
level = "verbose"
format = "xml"
` + minimal,
			want: []string{
				"config.toml:2: server.listen must be host:port",
				"config.toml:3: server.max_body_bytes must be a positive",
				"config.toml:4: server.shutdown_timeout must be positive",
				"config.toml:5: server.public_url must be",
				"config.toml:8: database.max_open_conns must be at least 1",
				"config.toml:9: database.dsn_env is not",
				"config.toml:12: auth.tokens_env[0] is not an environment variable name",
				`config.toml:15: log.level must be "debug", "info", "warn" or "error", got "verbose"`,
				`config.toml:16: log.format must be "text" or "json", got "xml"`,
			},
			not: []string{"abc-def-secret-looking-value", "MY DSN"},
		},
		{
			name: "mapping errors surface with their line",
			toml: `[users]
table = "users"
on_delete = "purge"

[users.columns]
email = "userName"
first_name = "nmae.givenName"
`,
			want: []string{
				`config.toml:3: users.on_delete must be "deactivate" or "delete", got "purge"`,
				`config.toml:7: users.columns.first_name: unknown SCIM attribute "nmae.givenName"`,
			},
		},
		{
			name: "missing users section",
			toml: "[server]\nlisten = \":1\"\n",
			want: []string{"config.toml: users.table is required", "config.toml: users.columns: no column holds userName"},
		},
		{
			name: "bad extension points at its element",
			toml: minimal + `
[[users.extensions]]
urn = "urn:acme:a:User"

[[users.extensions]]
urn = "acme"
`,
			want: []string{`config.toml:12: users.extensions[1]: urn must start with "urn:"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.toml), "config.toml")
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			text := err.Error()
			rest := text
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("error lacks (or has out of order) %q:\n%s", w, text)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(text, n) {
					t.Errorf("error should not contain %q:\n%s", n, text)
				}
			}
			if t.Failed() {
				return
			}
			n := 0 // wanted messages that start a problem of their own
			for _, w := range tt.want {
				if strings.HasPrefix(w, "config.toml") {
					n++
				}
			}
			if got := len(messages(err)); got < n {
				t.Errorf("want %d separate problems, got %d:\n%s", n, got, text)
			}
		})
	}
}

func TestSyntaxErrorUnwrapsToParseError(t *testing.T) {
	_, err := Parse([]byte("a = [1,\n 2,,]\n"), "x.toml")
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%v (%T) does not unwrap to toml.ParseError", err, err)
	}
	if pe.Position.Line != 2 || !strings.HasPrefix(err.Error(), "x.toml:2:") {
		t.Errorf("line %d, error %q", pe.Position.Line, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scimbridge.toml")
	if err := os.WriteFile(path, []byte(minimal+"colour = \"blue\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Any key is a column name in users.columns, so the error is about the value of colour.
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":8: users.columns.colour: unknown SCIM attribute") {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// fakeEnv returns getenv and readFile backed by maps.
func fakeEnv(env map[string]string, files map[string]string) (func(string) string, func(string) ([]byte, error)) {
	return func(k string) string { return env[k] },
		func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
}

const (
	tokA = "aaaaaaaaaaaaaaaaaaaa"
	tokB = "bbbbbbbbbbbbbbbbbbbb"
	tokC = "cccccccccccccccccccc"
	tokD = "dddddddddddddddddddd"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name    string
		auth    string // the [auth] section
		env     map[string]string
		files   map[string]string
		want    []string
		wantErr []string // substrings of the error
		secret  string   // must not appear in the error
	}{
		{
			name: "one env var",
			env:  map[string]string{"SCIMBRIDGE_TOKEN": tokA},
			want: []string{tokA},
		},
		{
			name: "rotation: both default variables",
			env:  map[string]string{"SCIMBRIDGE_TOKEN": tokA, "SCIMBRIDGE_TOKEN_NEXT": tokB},
			want: []string{tokA, tokB},
		},
		{
			name: "several variables, comma and space separated",
			auth: `tokens_env = ["T1", "T2"]`,
			env:  map[string]string{"T1": tokA + ", " + tokB, "T2": " " + tokC + "\n" + tokD + " ", "SCIMBRIDGE_TOKEN": tokA},
			want: []string{tokA, tokB, tokC, tokD},
		},
		{
			name:  "file with comments and blank lines",
			auth:  `tokens_env = []` + "\n" + `tokens_file = "/run/secrets/tokens"`,
			files: map[string]string{"/run/secrets/tokens": "# current\n" + tokA + "\n\n   \n  # next one, rolled out on Monday\n  " + tokB + "  \r\n"},
			want:  []string{tokA, tokB},
		},
		{
			name:  "literal, env and file together, duplicates once",
			auth:  `tokens = ["` + tokA + `"]` + "\n" + `tokens_file = "/t"`,
			env:   map[string]string{"SCIMBRIDGE_TOKEN_NEXT": tokB + "," + tokA},
			files: map[string]string{"/t": tokC + "\n"},
			want:  []string{tokA, tokB, tokC},
		},
		{
			name:    "none at all names what was tried",
			auth:    `tokens_file = "/t"`,
			files:   map[string]string{"/t": "# nothing yet\n"},
			wantErr: []string{"no API token", "SCIMBRIDGE_TOKEN", "SCIMBRIDGE_TOKEN_NEXT", "auth.tokens_file (/t)"},
		},
		{
			name:    "nothing configured",
			auth:    `tokens_env = []`,
			wantErr: []string{"no API token", "tokens_env or auth.tokens_file"},
		},
		{
			name:    "too short from env",
			env:     map[string]string{"SCIMBRIDGE_TOKEN": tokA + ",short-secret"},
			wantErr: []string{"$SCIMBRIDGE_TOKEN (token 2) is 12 characters long", "at least 16"},
			secret:  "short-secret",
		},
		{
			name:    "too short in file",
			auth:    `tokens_file = "/t"`,
			files:   map[string]string{"/t": tokA + "\nhunter2\n"},
			wantErr: []string{"/t line 2 is 7 characters long"},
			secret:  "hunter2",
		},
		{
			name:    "too short literal",
			auth:    `tokens = ["pa55word"]`,
			wantErr: []string{"auth.tokens[0] is 8 characters long"},
			secret:  "pa55word",
		},
		{
			name:    "missing file",
			auth:    `tokens_file = "/nope"`,
			env:     map[string]string{"SCIMBRIDGE_TOKEN": tokA},
			wantErr: []string{"auth.tokens_file", "/nope"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("[auth]\n"+tt.auth+"\n"+minimal), "config.toml")
			if err != nil {
				t.Fatal(err)
			}
			getenv, readFile := fakeEnv(tt.env, tt.files)
			got, err := cfg.Tokens(getenv, readFile)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; tokens %q", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Errorf("error %q reveals the token", err)
				}
				for _, tok := range []string{tokA, tokB, tokC, tokD} {
					if strings.Contains(err.Error(), tok) {
						t.Errorf("error %q reveals a token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokens = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDSN(t *testing.T) {
	const (
		lit  = "app:lit@tcp(db:3306)/app"
		file = "app:file@tcp(db:3306)/app"
		env  = "app:env@tcp(db:3306)/app"
	)
	tests := []struct {
		name    string
		db      string
		env     map[string]string
		files   map[string]string
		want    string
		wantErr string
	}{
		{"env by default", ``, map[string]string{"SCIMBRIDGE_DSN": env}, nil, env, ""},
		{"custom env", `dsn_env = "APP_DSN"`, map[string]string{"APP_DSN": " " + env + "\n", "SCIMBRIDGE_DSN": "no"}, nil, env, ""},
		{"file beats env", `dsn_file = "/d"`, map[string]string{"SCIMBRIDGE_DSN": env}, map[string]string{"/d": "\n" + file + "\n"}, file, ""},
		{"literal beats file and env", `dsn = "` + lit + `"` + "\n" + `dsn_file = "/d"`, map[string]string{"SCIMBRIDGE_DSN": env}, map[string]string{"/d": file}, lit, ""},
		{"none names the variable", ``, nil, nil, "", "SCIMBRIDGE_DSN is empty or not set"},
		{"none without env", `dsn_env = ""`, map[string]string{"SCIMBRIDGE_DSN": env}, nil, "", "set database.dsn_env, database.dsn_file or database.dsn"},
		{"missing file", `dsn_file = "/d"`, map[string]string{"SCIMBRIDGE_DSN": env}, nil, "", "database.dsn_file: open /d"},
		{"empty file", `dsn_file = "/d"`, nil, map[string]string{"/d": "  \n"}, "", "/d is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("[database]\n"+tt.db+"\n"+minimal), "config.toml")
			if err != nil {
				t.Fatal(err)
			}
			getenv, readFile := fakeEnv(tt.env, tt.files)
			got, err := cfg.DSN(getenv, readFile)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DSN = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	cfg, err := Parse([]byte("[auth]\ntokens = [\""+tokA+"\"]\n[database]\ndsn = \"u:p@tcp(h)/d\"\n"+minimal), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings(), "\n")
	for _, want := range []string{"auth.tokens", "database.dsn keeps the database password"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	if strings.Contains(w, tokA) || strings.Contains(w, "u:p@") {
		t.Errorf("warnings reveal a secret: %q", w)
	}
}

// TestExampleConfigParses keeps config.example.toml, the documented reference, working.
func TestExampleConfigParses(t *testing.T) {
	path := filepath.Join("..", "config.example.toml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.UsersMapping()
	if m.Table != "users" || m.Key != "id" || m.KeyGen.Kind != "auto_increment" || m.OnExisting != "adopt" ||
		m.MatchExistingBy != "email" || m.OnDelete != "deactivate" {
		t.Errorf("users mapping %+v", m)
	}
	var cols []string
	for _, c := range m.Columns {
		cols = append(cols, c.Name)
	}
	want := []string{"created_at", "department", "display_name", "email", "email_lower", "employee_no", "first_name",
		"job_title", "last_name", "locale", "password_hash", "phone", "source", "status", "updated_at"}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %q, want %q", cols, want)
	}
	if len(cfg.Warnings()) != 0 {
		t.Errorf("the example should not draw warnings: %q", cfg.Warnings())
	}
	if !reflect.DeepEqual(cfg.Auth.TokensEnv, DefaultTokensEnv) || cfg.Database.DSNEnv != DefaultDSNEnv {
		t.Errorf("example secrets: %+v %+v", cfg.Auth, cfg.Database)
	}
}

// TestExampleAlternatives checks that the alternatives config.example.toml shows in comments compile:
// each commented line is uncommented in turn into a copy of the example.
func TestExampleAlternatives(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	example := string(data)
	tests := []struct {
		name    string
		replace map[string]string
	}{
		{"deactivation timestamp", map[string]string{
			`status = { from = "active", map = { true = 1, false = [3, 2] } }`:                 "",
			`#   deactivated_at = { from = "active", when_true = "null", when_false = "now" }`: `deactivated_at = { from = "active", when_true = "null", when_false = "now" }`,
		}},
		{"deactivation epoch ms", map[string]string{
			`status = { from = "active", map = { true = 1, false = [3, 2] } }`:                    "",
			`#   deactivated_at = { from = "active", when_true = 0, when_false = "now_unix_ms" }`: `deactivated_at = { from = "active", when_true = 0, when_false = "now_unix_ms" }`,
		}},
		{"uuid keys", map[string]string{`key_generation = "auto_increment"`: `key_generation = "uuid"`}},
		{"random keys", map[string]string{
			`key_generation = "auto_increment"`: `key_generation = { random_length = 26, alphabet = "abcdefghijkmnopqrstuvwxyz0123456789" }`,
		}},
		{"public url, tokens file, dsn file", map[string]string{
			`# public_url = `:  `public_url = `,
			`# tokens_file = `: `tokens_file = `,
			`# dsn_file = `:    `dsn_file = `,
		}},
		{"emails in their own table", map[string]string{
			"# [[users.lists]]\n":               "[[users.lists]]\n",
			"# attribute = \"emails\"\n":        "attribute = \"emails\"\n",
			"# table = \"user_emails\"\n":       "table = \"user_emails\"\n",
			"# foreign_key = \"user_id\"\n":     "foreign_key = \"user_id\"\n",
			"# columns = { address = \"value\"": "columns = { address = \"value\"",
		}},
		{"breaker", map[string]string{
			"# [breaker]\n":             "[breaker]\n",
			"# max_deactivations = 25 ": "max_deactivations = 25 ",
			"# max_percent = 10 ":       "max_percent = 10 ",
			"# window = \"1h\"\n":       "window = \"1h\"\n",
			"# on_trip = \"hold\" ":     "on_trip = \"hold\" ",
			"# auto_release = false ":   "auto_release = false ",
			"# retry_after = \"5m\" ":   "retry_after = \"5m\" ",
		}},
		{"custom extension", map[string]string{
			"#   cost_center = ":          "cost_center = ",
			"# [[users.extensions]]\n":    "[[users.extensions]]\n",
			"# urn = ":                    "urn = ",
			"# name = \"AcmeUser\"":       "name = \"AcmeUser\"",
			"# description = ":            "description = ",
			"# attributes = { costCenter": "attributes = { costCenter",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := example
			for old, new := range tt.replace {
				if strings.Count(text, old) != 1 {
					t.Fatalf("the example has %d copies of %q", strings.Count(text, old), old)
				}
				text = strings.Replace(text, old, new, 1)
			}
			cfg, err := Parse([]byte(text), "config.example.toml")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.UsersMapping() == nil {
				t.Fatal("no mapping")
			}
		})
	}
}

func TestScanKeyLines(t *testing.T) {
	src := `a = 1 # c = 2
"quoted.key" = 'x # not a comment'
b.c = { d = 1, e.f = [
  { g = 2 },
], h = """
x = 1
""" }
date = 1979-05-27 07:32:00Z

[[arr]]
k = 1
[[arr]]
k = 2
[t."sub table"]
'lit' = 3
`
	kl := scanKeyLines(src)
	tests := []struct {
		key  []string
		want []int
	}{
		{[]string{"a"}, []int{1}},
		{[]string{"c"}, nil},
		{[]string{"quoted.key"}, []int{2}},
		{[]string{"b", "c"}, []int{3}},
		{[]string{"b", "c", "d"}, []int{3}},
		{[]string{"b", "c", "e", "f"}, []int{3}},
		{[]string{"b", "c", "e", "f", "g"}, []int{4}},
		{[]string{"b", "c", "h"}, []int{5}},
		{[]string{"x"}, nil},
		{[]string{"date"}, []int{8}},
		{[]string{"arr"}, []int{10, 12}},
		{[]string{"arr", "k"}, []int{11, 13}},
		{[]string{"t", "sub table"}, []int{14}},
		{[]string{"t", "sub table", "lit"}, []int{15}},
	}
	for _, tt := range tests {
		if got := kl[joinKey(tt.key)]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q at lines %v, want %v", tt.key, got, tt.want)
		}
	}
	if got := kl.find([]string{"arr[1]", "k"}); got != 13 {
		t.Errorf("arr[1].k at %d, want 13", got)
	}
	if got := kl.find([]string{"t", "nothing"}); got != 14 {
		t.Errorf("fallback to the enclosing table: %d, want 14", got)
	}
}

func TestSuggestKey(t *testing.T) {
	tests := []struct {
		key  toml.Key
		want string
	}{
		{toml.Key{"servr"}, "server"},
		{toml.Key{"users", "colums"}, "users.columns"},
		{toml.Key{"users", "colums", "email"}, "users.columns"},
		{toml.Key{"users", "extensions", "urm"}, "users.extensions.urn"},
		{toml.Key{"roles"}, ""},
		{toml.Key{"server", "completely_different"}, ""},
	}
	for _, tt := range tests {
		if got := suggestKey(tt.key); got != tt.want {
			t.Errorf("suggestKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func ExampleConfig_Tokens() {
	cfg, err := Parse([]byte(minimal), "config.toml")
	if err != nil {
		panic(err)
	}
	env := map[string]string{"SCIMBRIDGE_TOKEN": "0123456789abcdef0123"}
	tokens, err := cfg.Tokens(func(k string) string { return env[k] }, os.ReadFile)
	fmt.Println(len(tokens), err)
	// Output: 1 <nil>
}
