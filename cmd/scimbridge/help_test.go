package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

// run runs the CLI with separate stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	c := &CLI{Stdout: &o, Stderr: &e, Getenv: func(k string) string { return env[k] }, ReadFile: os.ReadFile}
	code = c.Run(context.Background(), args)
	return code, o.String(), e.String()
}

// --help on every command exits 0 and prints that command's own flags, and only those, to stdout.
func TestHelpOnEveryCommand(t *testing.T) {
	tests := []struct {
		args      []string
		want, not []string
	}{
		{[]string{"serve", "--help"}, []string{"Usage: scimbridge serve --config FILE", "-config", "serve SCIM"}, nil},
		{[]string{"check", "-h"}, []string{"Usage: scimbridge check", "-config"}, nil},
		{[]string{"migrate", "--help"}, []string{"Usage: scimbridge migrate", "-config"}, nil},
		{[]string{"webhooks", "--help"}, []string{"scimbridge webhooks list", "scimbridge webhooks replay"}, nil},
		{[]string{"webhooks", "list", "--help"}, []string{"Usage: scimbridge webhooks list   --config FILE [--endpoint NAME]", "-endpoint", "-status", "-limit", "-config"},
			[]string{"-since", "-reason", "-dead", "-id "}},
		{[]string{"webhooks", "retry", "--help"}, []string{"-id", "-dead", "-endpoint"}, []string{"-since", "-limit", "-reason"}},
		{[]string{"webhooks", "skip", "--help"}, []string{"-id", "-reason"}, []string{"-since", "-limit", "-endpoint"}},
		{[]string{"webhooks", "replay", "--help"}, []string{"-endpoint", "-since", "send again the events since"}, []string{"-limit", "-id", "-status"}},
		{[]string{"webhooks", "enable", "--help"}, []string{"-endpoint"}, []string{"-since", "-limit"}},
		{[]string{"webhooks", "forget", "--help"}, []string{"-endpoint"}, []string{"-since", "-limit"}},
		{[]string{"plan", "--help"}, []string{"Usage: scimbridge plan --config FILE", "-json", "-user"}, []string{"-batch"}},
		{[]string{"golive", "--help"}, []string{"Usage: scimbridge golive --config FILE", "-batch"}, []string{"-json", "-user"}},
		{[]string{"--help"}, []string{"scimbridge serve"}, nil},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, nil, tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: help shows another command's flag %q:\n%s", tt.args, n, out)
			}
		}
	}
}

// A flag of another subcommand, or a bad flag, is a usage error: exit 2 with the command's help on stderr.
func TestBadFlagIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"webhooks", "list", "--since", "24h"}, {"serve", "--bogus"}} {
		code, out, errOut := run(t, nil, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "flag provided but not defined") || !strings.Contains(errOut, "Flags:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// A URL-style DSN fails with the form the driver takes, and without its password.
func TestURLDSNNamesTheForm(t *testing.T) {
	path := exampleConfig(t)
	for _, cmd := range []string{"migrate", "check", "serve"} {
		code, out, errOut := run(t, map[string]string{"SCIMBRIDGE_DSN": "mysql://app:pw-s3cret@db.example.com/legacy", "SCIMBRIDGE_TOKEN": token},
			cmd, "--config", path)
		// check reports it among its problems (stdout); migrate and serve fail with it (stderr).
		both := out + errOut
		if code != 1 || !strings.Contains(both, "user:pass@tcp(host:3306)/db") || strings.Contains(both, "pw-s3cret") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", cmd, code, out, errOut)
		}
	}
}

// serve with log.format = "json" and a named token: the access line is JSON, with the token's name.
func TestServeAccessLogIsJSONWithTheTokenName(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	path := exampleConfig(t)
	b, _ := os.ReadFile(path)
	conf := strings.Replace(string(b), `format = "text"`, `format = "json"`, 1) + "\n[[auth.tokens]]\nname = \"okta\"\nenv = \"OKTA_TOKEN\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	base, out, stop := startServe(t, map[string]string{"SCIMBRIDGE_DSN": dsn, "OKTA_TOKEN": token}, path)
	if status, body := postUser(t, base, `{"userName":"carol@example.com"}`); status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %s", status, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, out)
	}
	var line map[string]any
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("%v: %s", err, l)
			}
		}
	}
	if line["token_name"] != "okta" || line["path"] != "/scim/v2/Users" || line["status"] != float64(201) || strings.Contains(out.String(), token) {
		t.Fatalf("access line %v in:\n%s", line, out)
	}
	// The same name and request id reach the audit trail, written by the change's transaction.
	code, auditOut, errOut := run(t, map[string]string{"SCIMBRIDGE_DSN": dsn, "OKTA_TOKEN": token}, "audit", "--config", path, "--json")
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errOut)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(auditOut, "\n", 2)[0]), &row); err != nil {
		t.Fatalf("%v: %s", err, auditOut)
	}
	if row["actor"] != "okta" || row["request_id"] != line["request_id"] || row["operation"] != "user.created" {
		t.Fatalf("audit row %v, access line %v", row, line)
	}
}
