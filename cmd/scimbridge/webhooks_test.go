package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

// serve delivers the outbox to [[webhooks]]; the webhooks commands show and replay deliveries.
func TestServeDeliversWebhooksAndCommandsActOnThem(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, _ := standardwebhooks.NewWebhook(secret)
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			t.Errorf("signature: %v", err)
		}
		mu.Lock()
		got = append(got, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	path := exampleConfig(t)
	conf, _ := os.ReadFile(path)
	conf = append(conf, []byte("\n[[webhooks]]\nname = \"app\"\nurl = \""+recv.URL+"/hooks\"\nevents = [\"user.*\"]\nsecret_env = \"HOOK_SECRET\"\n")...)
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := testdb.New(t, exampleSchema(t))
	env := map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token, "HOOK_SECRET": secret}
	base, out, stop := startServe(t, env, path)
	if status, body := postUser(t, base, `{"userName":"hook@example.com","name":{"givenName":"Hook"}}`); status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %s", status, body)
	}
	for deadline := time.Now().Add(10 * time.Second); received() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no webhook received:\n%s", out)
		}
	}
	if !strings.Contains(got[0], `"type":"user.created"`) || !strings.Contains(got[0], "hook@example.com") {
		t.Errorf("event: %s", got[0])
	}

	ops, opsOut := cli(t, env)
	if code := ops.Run(context.Background(), []string{"webhooks", "list", "--config", path}); code != 0 ||
		!strings.Contains(opsOut.String(), "app       active") {
		t.Errorf("list: %d\n%s", code, opsOut)
	}
	opsOut.Reset()
	var term strings.Builder
	ops.Terminal = &term
	if code := ops.Run(context.Background(), []string{"webhooks", "replay", "--config", path, "--endpoint", "app", "--since", "1h"}); code != 0 ||
		!strings.Contains(opsOut.String(), "1 events since") {
		t.Errorf("replay: %d\n%s", code, opsOut)
	}
	if !strings.Contains(term.String(), "replay: 1/1 (100%)") {
		t.Errorf("replay's progress on the terminal: %q", term.String())
	}
	ops.Terminal = nil
	for deadline := time.Now().Add(10 * time.Second); received() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replay not received:\n%s", out)
		}
	}
	opsOut.Reset()
	if code := ops.Run(context.Background(), []string{"webhooks", "retry", "--config", path}); code != 1 || !strings.Contains(opsOut.String(), "--id ID or --dead") {
		t.Errorf("retry without target: %d\n%s", code, opsOut)
	}
	opsOut.Reset()
	if code := ops.Run(context.Background(), []string{"webhooks", "skip", "--config", path}); code != 1 || !strings.Contains(opsOut.String(), "--id ID is required") {
		t.Errorf("skip without --id: %d\n%s", code, opsOut)
	}
	opsOut.Reset()
	if code := ops.Run(context.Background(), []string{"webhooks", "skip", "--config", path, "--id", "999999"}); code != 1 || !strings.Contains(opsOut.String(), "not found") {
		t.Errorf("skip of an unknown delivery: %d\n%s", code, opsOut)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, out)
	}
	if strings.Contains(out.String(), secret) {
		t.Error("the secret must never be logged")
	}
}
