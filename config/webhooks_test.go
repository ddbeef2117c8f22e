package config

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWebhookDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal+`
[[webhooks]]
url = "https://hooks.example.com/scim"
secret_env = "HOOK_SECRET"

[[webhooks]]
name = "audit"
url = "http://127.0.0.1:9000/in"
events = ["user.deleted", "group.*"]
secret_file = "/run/secrets/audit"
timeout = "2s"
give_up_after = "24h"
max_attempts = 10
retention = "720h"
concurrency = 16
`), "config.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{Name: "hooks.example.com", URL: "https://hooks.example.com/scim", Events: []string{"*"}, SecretEnv: "HOOK_SECRET",
			Timeout: Duration{5 * time.Second}, GiveUpAfter: Duration{72 * time.Hour}, Retention: Duration{168 * time.Hour}},
		{Name: "audit", URL: "http://127.0.0.1:9000/in", Events: []string{"user.deleted", "group.*"}, SecretFile: "/run/secrets/audit",
			Timeout: Duration{2 * time.Second}, GiveUpAfter: Duration{24 * time.Hour}, MaxAttempts: 10, Retention: Duration{720 * time.Hour}, Concurrency: 16},
	}
	if !reflect.DeepEqual(cfg.Webhooks, want) {
		t.Errorf("webhooks\n got %+v\nwant %+v", cfg.Webhooks, want)
	}
	if w := cfg.WebhookWarnings(); len(w) != 0 {
		t.Errorf("no warnings expected (loopback http is fine), got %q", w)
	}
}

func TestWebhookProblemsAreAllReportedWithTheirLines(t *testing.T) {
	src := minimal + `
[[webhooks]]
url = "ftp://x"
secret_env = "S"

[[webhooks]]
url = "https://a.example.com/1"
events = ["user.creatd", "usr.*", "user.*.x"]

[[webhooks]]
url = "https://a.example.com/2"
secret_env = "not a name"
timeout = "-1s"
retention = "10m"
max_attempts = -1

[[webhooks]]
name = "bad name!"
url = "https://b.example.com"
secret = "short"
secret_file = "/x"
`
	_, err := Parse([]byte(src), "c.toml")
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`c.toml:10: webhooks[0].url must be an http:// or https:// address`,
		`c.toml:13: webhooks[1] has no signing secret`,
		`c.toml:15: webhooks[1].events[0]: "user.creatd" is not an event scimbridge sends`,
		`(did you mean "user.created"?)`,
		`webhooks[1].events[1]: "usr.*": there are no "usr" events; the families are user, group and breaker`,
		`webhooks[1].events[2]: "user.*.x" is not an event type or pattern`,
		`c.toml:18: webhooks[2].name "a.example.com" is already the name of webhooks[1]`,
		`c.toml:19: webhooks[2].secret_env is not an environment variable name`,
		`c.toml:20: webhooks[2].timeout must be positive`,
		`c.toml:21: webhooks[2].retention must be at least 1h`,
		`c.toml:22: webhooks[2].max_attempts must be a positive number`,
		`c.toml:25: webhooks[3].name must be 1 to 64 letters`,
		`c.toml:28: webhooks[3]: set only one of secret, secret_env and secret_file`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "not a name") {
		t.Errorf("a misplaced secret_env value must not be echoed:\n%s", msg)
	}
}

func TestWebhookConcurrencyBounds(t *testing.T) {
	for _, v := range []string{"-1", "257"} {
		_, err := Parse([]byte(minimal+"\n[[webhooks]]\nurl = \"https://x.example.com\"\nsecret_env = \"S\"\nconcurrency = "+v+"\n"), "c.toml")
		if err == nil || !strings.Contains(err.Error(), "webhooks[0].concurrency must be 1 to 256 posts in flight, or left out for 8, got "+v) {
			t.Errorf("concurrency = %s: %v", v, err)
		}
	}
}

func TestWebhookUnknownKeySuggests(t *testing.T) {
	_, err := Parse([]byte(minimal+"\n[[webhooks]]\nurl = \"https://x.example.com\"\nsecret_env = \"S\"\nsecret_evn = \"T\"\n"), "c.toml")
	if err == nil || !strings.Contains(err.Error(), `unknown key "webhooks.secret_evn" (did you mean "webhooks.secret_env"?)`) {
		t.Fatalf("got %v", err)
	}
}

func TestWebhookSecret(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	cfg, err := Parse([]byte(minimal+`
[[webhooks]]
url = "https://a.example.com"
secret_env = "A_SECRET"
[[webhooks]]
url = "https://b.example.com"
secret_file = "/run/b"
[[webhooks]]
url = "https://c.example.com"
secret = "`+whsec+`"
[[webhooks]]
url = "https://d.example.com"
secret_env = "EMPTY"
`), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A_SECRET": whsec}
	getenv := func(k string) string { return env[k] }
	readFile := func(name string) ([]byte, error) {
		if name == "/run/b" {
			return []byte("a raw secret of enough length\n"), nil
		}
		return nil, fs.ErrNotExist
	}
	for i, want := range [][]byte{raw, []byte("a raw secret of enough length"), raw} {
		got, err := cfg.WebhookSecret(i, getenv, readFile)
		if err != nil || string(got) != string(want) {
			t.Errorf("webhook %d: got %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := cfg.WebhookSecret(3, getenv, readFile); err == nil || !strings.Contains(err.Error(), "$EMPTY is empty or not set") {
		t.Errorf("empty secret: %v", err)
	}
	if w := cfg.WebhookWarnings(); len(w) != 1 || !strings.Contains(w[0], "webhooks[2].secret keeps the signing secret") {
		t.Errorf("warnings: %q", w)
	}
	for _, bad := range []string{"whsec_!!!", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), "tiny"} {
		_, err := WebhookSecretBytes(bad)
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("%q: want an error that does not echo the secret, got %v", bad, err)
		}
	}
	if _, err := cfg.WebhookSecret(1, getenv, func(string) ([]byte, error) { return nil, fs.ErrPermission }); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("unreadable file: %v", err)
	}
}

func TestWebhookHTTPWarning(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"\n[[webhooks]]\nurl = \"http://app.internal/hooks\"\nsecret_env = \"S\"\n"), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.WebhookWarnings(); len(w) != 1 || !strings.Contains(w[0], "webhooks[0].url is http://") {
		t.Errorf("warnings: %q", w)
	}
}
