package config

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"
)

// gateMinimal is the smallest [gate] section.
const gateMinimal = minimal + `
[gate]
listen = "127.0.0.1:9090"
upstream = "http://127.0.0.1:3000"
public_url = "https://app.example.com"
idp_metadata_url = "https://idp.example.com/metadata"
sp_cert_file = "/etc/scimbridge/sp.crt"
sp_key_file = "/etc/scimbridge/sp.key"
`

func TestGateAbsent(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gate != nil || cfg.Gate.Warnings() != nil {
		t.Errorf("gate = %+v, want none", cfg.Gate)
	}
	if s, err := cfg.Gate.SignedHeaderSecret(nil, nil); s != nil || err != nil {
		t.Errorf("secret without a gate: %q, %v", s, err)
	}
}

func TestGateDefaults(t *testing.T) {
	cfg, err := Parse([]byte(gateMinimal), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gate
	tests := []struct {
		name      string
		got, want any
	}{
		{"app_name", g.AppName, "this application"},
		{"identity", g.Identity, "nameid"},
		{"identity attribute", g.IdentityAttribute(), ""},
		{"match", g.Match, "userName"},
		{"recheck_every", g.RecheckEvery.Duration, 5 * time.Second},
		{"session_lifetime", g.SessionLifetime.Duration, 8 * time.Hour},
		{"idp_metadata_refresh", g.IDPMetadataRefresh.Duration, time.Hour},
		{"allow_idp_initiated", g.AllowIDPInitiated, false},
		{"bypass", len(g.Bypass), 0},
		{"headers", g.Headers, DefaultGateHeaders},
		{"signed_header", g.SignedHeader, (*SignedHeader)(nil)},
		{"warnings", len(g.Warnings()), 0},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// gateExample is the [gate] section of the issue, as an administrator would write it.
const gateExample = minimal + `
[gate]
listen = "127.0.0.1:9090"
upstream = "http://127.0.0.1:3000/"
public_url = "https://app.example.com/"      # the SP's external URL
app_name = "Legacy App"
idp_metadata_file = "/etc/scimbridge/idp.xml"
sp_cert_file = "/etc/scimbridge/sp.crt"
sp_key_file = "/etc/scimbridge/sp.key"
identity = "attribute:email"
match = "email"
recheck_every = "2s"
session_lifetime = "12h"
allow_idp_initiated = true
bypass = ["/healthz", "/static/"]
signed_header = { name = "x-scimbridge-signature", secret_env = "SCIMBRIDGE_GATE_SECRET" }
[gate.headers]
user = "X-Remote-User"
email = "x-remote-email"
roles = "X-Forwarded-Roles"
groups = "X-Forwarded-Groups"
id = "X-Forwarded-User-Id"
`

func TestGateValues(t *testing.T) {
	cfg, err := Parse([]byte(gateExample), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gate
	want := &Gate{
		Listen: "127.0.0.1:9090", Upstream: "http://127.0.0.1:3000", PublicURL: "https://app.example.com",
		AppName: "Legacy App", IDPMetadataFile: "/etc/scimbridge/idp.xml", IDPMetadataRefresh: Duration{time.Hour},
		SPCertFile: "/etc/scimbridge/sp.crt", SPKeyFile: "/etc/scimbridge/sp.key",
		Identity: "attribute:email", Match: "email", RecheckEvery: Duration{2 * time.Second},
		SessionLifetime: Duration{12 * time.Hour}, AllowIDPInitiated: true, Bypass: []string{"/healthz", "/static/"},
		SignedHeader: &SignedHeader{Name: "X-Scimbridge-Signature", SecretEnv: "SCIMBRIDGE_GATE_SECRET"},
		Headers: GateHeaders{User: "X-Remote-User", Email: "X-Remote-Email", Roles: "X-Forwarded-Roles",
			Groups: "X-Forwarded-Groups", ID: "X-Forwarded-User-Id", AppKey: "X-Forwarded-User-Key"},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("gate =\n%+v\nwant\n%+v", g, want)
	}
	if a := g.IdentityAttribute(); a != "email" {
		t.Errorf("identity attribute %q", a)
	}
	if w := g.Warnings(); len(w) != 1 || !strings.Contains(w[0], "allow_idp_initiated") {
		t.Errorf("warnings %q", w)
	}
}

func TestGateErrors(t *testing.T) {
	tests := []struct {
		name   string
		change string // appended to gateMinimal's [gate] section (later keys override by replacement below)
		want   []string
	}{
		{"listen", `listen = "9090"`, []string{`gate.listen must be host:port`}},
		{"listen as server", `listen = "127.0.0.1:8080"`, []string{`gate.listen must differ from server.listen`}},
		{"upstream", `upstream = "ftp://x"`, []string{`gate.upstream must be the application's http:// or https:// address`}},
		{"public_url", `public_url = "https://app.example.com/?a=1"`, []string{`gate.public_url must be the http:// or https://`}},
		{"both metadata", `idp_metadata_file = "/x.xml"`, []string{`gate.idp_metadata_url and gate.idp_metadata_file are both set`}},
		{"no metadata", `idp_metadata_url = ""`, []string{`gate: set idp_metadata_url`}},
		{"http metadata", `idp_metadata_url = "http://idp.example.com/md"`, []string{`https:// address (http:// only on this machine)`}},
		{"refresh", `idp_metadata_refresh = "5s"`, []string{`gate.idp_metadata_refresh must be at least 1m`}},
		{"cert", `sp_cert_file = ""`, []string{`gate.sp_cert_file must name`}},
		{"identity", `identity = "email"`, []string{`gate.identity must be "nameid" or "attribute:NAME"`}},
		{"identity empty attribute", `identity = "attribute: "`, []string{`gate.identity must be`}},
		{"match", `match = "id"`, []string{`gate.match must be "userName" or "email", got "id"`}},
		{"recheck", `recheck_every = "1h"`, []string{`gate.recheck_every must be between 1ms and 10m`}},
		{"recheck negative", `recheck_every = "-1s"`, []string{`gate.recheck_every must be between`}},
		{"recheck not a duration", `recheck_every = "often"`, []string{`gate.recheck_every: "often" is not a duration`}},
		{"session", `session_lifetime = "10s"`, []string{`gate.session_lifetime must be between 1m and 168h`}},
		{"bypass relative", `bypass = ["static/"]`, []string{`gate.bypass[0] must be a plain URL path`}},
		{"bypass root", `bypass = ["/healthz", "/"]`, []string{`gate.bypass[1] is "/", which would let every request through`}},
		{"bypass dots", `bypass = ["/a/../b"]`, []string{`gate.bypass[0] must not contain "." or ".." segments`}},
		{"bypass percent", `bypass = ["/a%2f"]`, []string{`gate.bypass[0] must be a plain URL path`}},
		{"bypass own", `bypass = ["/saml/metadata"]`, []string{`overlaps the gate's own endpoints under /saml/`}},
		{"header invalid", "[gate.headers]\nuser = \"X Remote User\"", []string{`gate.headers.user must be a header name`}},
		{"header underscore", "[gate.headers]\nuser = \"X_Remote_User\"", []string{`gate.headers.user must be a header name`}},
		{"header reserved", "[gate.headers]\nemail = \"cookie\"", []string{`gate.headers.email cannot be Cookie`}},
		{"header duplicate", "[gate.headers]\nroles = \"x-forwarded-user\"", []string{`gate.headers.roles is the same header as gate.headers.user`}},
		{"signed header without secret", `signed_header = { name = "X-Sig" }`, []string{`gate.signed_header needs secret_env`}},
		{"signed header both secrets", `signed_header = { secret_env = "A", secret_file = "/s" }`, []string{`secret_env and secret_file are both set`}},
		{"signed header env name", `signed_header = { secret_env = "s3cr3t value" }`, []string{`gate.signed_header.secret_env is not an environment variable name`}},
		{"signed header name clash", `signed_header = { name = "X-Forwarded-Email", secret_env = "S" }`, []string{`gate.signed_header.name is the same header as gate.headers.email`}},
		{"unknown key", `recheck_evry = "5s"`, []string{`unknown key "gate.recheck_evry" (did you mean "gate.recheck_every"?)`}},
		{"unknown header key", "[gate.headers]\nmail = \"X-Mail\"", []string{`unknown key "gate.headers.mail" (did you mean "gate.headers.email"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := replaceGateKeys(gateMinimal, tt.change)
			_, err := Parse([]byte(src), "config.toml")
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "config.toml:") {
				t.Errorf("error does not start with a file and line: %v", err)
			}
		})
	}
}

// replaceGateKeys sets the keys of change in the [gate] section of src: a key already there is replaced
// on its line (so messages point at it); a new key or table is added at the end.
func replaceGateKeys(src, change string) string {
	if strings.HasPrefix(change, "[") {
		return src + change + "\n"
	}
	key, _, _ := strings.Cut(change, " =")
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, key+" =") {
			lines[i] = change
			return strings.Join(lines, "\n")
		}
	}
	return src + change + "\n"
}

func TestGateErrorLines(t *testing.T) {
	src := gateMinimal + "match = \"id\"\nrecheck_every = \"1h\"\n"
	_, err := Parse([]byte(src), "config.toml")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`config.toml:16: gate.match must be "userName" or "email", got "id"`,
		`config.toml:17: gate.recheck_every must be between 1ms and 10m`,
	}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want %q", i, lines, w)
		}
	}
}

func TestGateSignedHeaderSecret(t *testing.T) {
	long := strings.Repeat("k", MinGateSecretLength)
	env := map[string]string{"GOOD": " " + long + "\n", "SHORT": "abc"}
	getenv := func(k string) string { return env[k] }
	readFile := func(p string) ([]byte, error) {
		if p == "/run/secrets/gate" {
			return []byte(long + "\n"), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	for _, tt := range []struct {
		sh      SignedHeader
		want    string
		wantErr string
	}{
		{SignedHeader{SecretEnv: "GOOD"}, long, ""},
		{SignedHeader{SecretFile: "/run/secrets/gate"}, long, ""},
		{SignedHeader{SecretEnv: "SHORT"}, "", "is 3 characters long; it needs at least 32"},
		{SignedHeader{SecretEnv: "UNSET"}, "", "$UNSET is empty or not set"},
		{SignedHeader{SecretFile: "/nope"}, "", "gate.signed_header.secret_file: open /nope"},
	} {
		g := &Gate{SignedHeader: &tt.sh}
		got, err := g.SignedHeaderSecret(getenv, readFile)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%+v: err = %v, want %q", tt.sh, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || string(got) != tt.want):
			t.Errorf("%+v: %q, %v", tt.sh, got, err)
		case err != nil && strings.Contains(err.Error(), "abc"):
			t.Errorf("the secret is in the message: %v", err)
		}
		if tt.sh.SecretFile == "/nope" && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("file error does not unwrap: %v", err)
		}
	}
}

func TestGateWarnings(t *testing.T) {
	cfg, err := Parse([]byte(replaceGateKeys(gateMinimal, `public_url = "http://127.0.0.1:9090"`)), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Gate.Warnings(); len(w) != 1 || !strings.Contains(w[0], "not marked Secure") {
		t.Errorf("warnings %q", w)
	}
}

func TestNormalizeHeaderName(t *testing.T) {
	for _, n := range []string{"X-Forwarded-User", "x_forwarded_user", "X_FORWARDED-USER", "x-forwarded-user"} {
		if got := NormalizeHeaderName(n); got != "x-forwarded-user" {
			t.Errorf("NormalizeHeaderName(%q) = %q", n, got)
		}
	}
}
