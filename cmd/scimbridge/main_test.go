package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

const token = "cli-test-token-0123456789"

func cli(t *testing.T, env map[string]string) (*CLI, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	return &CLI{
		Stdout: &out, Stderr: &out,
		Getenv:   func(k string) string { return env[k] },
		ReadFile: os.ReadFile,
	}, &out
}

// exampleConfig writes config.example.toml with its listen address moved to a free port.
func exampleConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(b), `listen = "127.0.0.1:8080"`, `listen = "127.0.0.1:0"`, 1)
	path := filepath.Join(t.TempDir(), "scimbridge.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func exampleSchema(t *testing.T) string {
	b, err := os.ReadFile("../../examples/legacy-app/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVersionAndUsage(t *testing.T) {
	c, out := cli(t, nil)
	if code := c.Run(context.Background(), []string{"version"}); code != 0 || !strings.HasPrefix(out.String(), "scimbridge ") {
		t.Fatalf("version: %d %q", code, out)
	}
	out.Reset()
	if code := c.Run(context.Background(), []string{"frobnicate"}); code != 2 || !strings.Contains(out.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, out)
	}
}

func TestBadConfigNamesTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	_ = os.WriteFile(path, []byte("[users]\ntable = \"users\"\ncolums = 1\n"), 0o600)
	c, out := cli(t, nil)
	if code := c.Run(context.Background(), []string{"check", "--config", path}); code != 1 || !strings.Contains(out.String(), "bad.toml:3: unknown key \"users.colums\"") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestCheckExitCodes(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}) // serve needs a token: so does check
	if code := c.Run(context.Background(), []string{"check", "--config", exampleConfig(t)}); code != 0 || !strings.Contains(out.String(), "ok: the mapping fits") ||
		!strings.Contains(out.String(), "note: topology: a single server") {
		t.Fatalf("check on the example schema: exit %d\n%s", code, out)
	}

	broken := testdb.New(t, "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(10) NOT NULL) ENGINE=InnoDB;")
	c, out = cli(t, map[string]string{"SCIMBRIDGE_DSN": broken, "SCIMBRIDGE_TOKEN": token})
	code := c.Run(context.Background(), []string{"check", "--config", exampleConfig(t)})
	if code != 1 || strings.Count(out.String(), "PROBLEM:") < 5 {
		t.Fatalf("check on a broken schema: exit %d, want 1 and every problem listed\n%s", code, out)
	}
}

// startServe runs "serve --config path" with env until the test calls stop; it returns the SCIM base URL
// once the server listens, the command's output and stop, which ends the command and returns its exit
// code (stop waits at most 20 seconds, then fails the test).
func startServe(t *testing.T, env map[string]string, path string) (base string, out *bytes.Buffer, stop func() int) {
	t.Helper()
	c, out := cli(t, env)
	addrc := make(chan net.Addr, 1)
	c.OnListen = func(a net.Addr) { addrc <- a }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan int, 1)
	go func() { done <- c.Run(ctx, []string{"serve", "--config", path}) }()
	select {
	case a := <-addrc:
		base = "http://" + a.String() + "/scim/v2"
	case code := <-done:
		t.Fatalf("serve exited %d:\n%s", code, out)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	stop = func() int {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
	return base, out, stop
}

// postUser POSTs a user (JSON) to base/Users with the test token and returns the status and body.
func postUser(t *testing.T, base, user string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/Users", strings.NewReader(user))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// serve runs the real command: migrations, SCIM over HTTP, and a clean stop when the context ends.
func TestServeMigratesServesAndStops(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	base, out, stop := startServe(t, map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}, exampleConfig(t))
	if status, body := postUser(t, base, `{"userName":"carol@example.com","name":{"givenName":"Carol"}}`); status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %s", status, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d after shutdown:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "shutting down") || strings.Contains(out.String(), token) {
		t.Errorf("log should report the shutdown and never the token:\n%s", out)
	}
}
