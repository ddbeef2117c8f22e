package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// `scimbridge breaker status` shows a tripped breaker and what it holds; `release` closes it and lets
// the held deactivation through on its retry; `reject` makes the next held one answer 409.
func TestBreakerCommands(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	path := exampleConfig(t)
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(b, "\n[breaker]\nmax_deactivations = 1\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": dsn})
	if code := c.Run(context.Background(), []string{"migrate", "--config", path}); code != 0 {
		t.Fatalf("migrate: %d\n%s", code, out)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	db := testfix.Open(t, dsn, 2)
	brk := breaker.New(db, breaker.Config{MaxDeactivations: cfg.Breaker.MaxDeactivations, Window: cfg.Breaker.Window.Duration, Hold: true,
		RetryAfter: time.Minute}, breaker.Options{NewID: uuid.NewString})
	s := mysql.New(db, cfg.UsersMapping(), mysql.Options{Guard: brk})
	ctx := context.Background()
	var ids []string
	for _, u := range []string{"x@example.com", "y@example.com", "z@example.com"} {
		r, err := s.CreateUser(ctx, scim.Resource{"userName": u, "active": true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r["id"].(string))
	}
	if err := s.DeleteUser(ctx, ids[0], nil); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteUser(ctx, ids[1], nil)
	if se := scim.AsError(err); se.Status != 503 || se.RetryAfter != time.Minute {
		t.Fatalf("second delete: %v", err)
	}

	out.Reset()
	if code := c.Run(ctx, []string{"breaker", "status", "--config", path}); code != 0 {
		t.Fatalf("status: %d\n%s", code, out)
	}
	for _, want := range []string{"breaker: tripped since", "more than max_deactivations = 1", "deactivations in the window: 1",
		ids[1] + "  y@example.com  delete", "held"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if code := c.Run(ctx, []string{"breaker", "status", "--config", path, "--json"}); code != 0 {
		t.Fatalf("status --json: %d\n%s", code, out)
	}
	var st breaker.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.State != "tripped" || len(st.Held) != 1 || st.Held[0].UserID != ids[1] {
		t.Fatalf("status --json: %v %s", err, out)
	}

	out.Reset()
	if code := c.Run(ctx, []string{"breaker", "release", "--config", path, "--by", "alice"}); code != 0 ||
		!strings.Contains(out.String(), "1 held deactivation(s) will go through") {
		t.Fatalf("release: %d\n%s", code, out)
	}
	if err := s.DeleteUser(ctx, ids[1], nil); err != nil {
		t.Fatalf("released delete retried: %v", err)
	}
	if _, err := s.GetUser(ctx, ids[1]); scim.AsError(err).Status != 404 {
		t.Fatalf("y after its released delete: %v", err)
	}

	// The window started again at the release: z is its first deactivation, w its second.
	if err := s.DeleteUser(ctx, ids[2], nil); err != nil {
		t.Fatal(err)
	}
	w, err := s.CreateUser(ctx, scim.Resource{"userName": "w@example.com", "active": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, w["id"].(string), nil); scim.AsError(err).Status != 503 {
		t.Fatalf("w: %v", err)
	}
	out.Reset()
	if code := c.Run(ctx, []string{"breaker", "reject", "--config", path}); code != 0 || !strings.Contains(out.String(), "answered 409") {
		t.Fatalf("reject: %d\n%s", code, out)
	}
	var se *scim.Error
	if err := s.DeleteUser(ctx, w["id"].(string), nil); !errors.As(err, &se) || se.Status != 409 {
		t.Fatalf("rejected delete retried: %v", err)
	}
	if _, err := s.GetUser(ctx, w["id"].(string)); err != nil {
		t.Fatalf("w after the rejected delete: %v", err)
	}

	out.Reset()
	if code := c.Run(ctx, []string{"breaker", "frob"}); code != 2 || !strings.Contains(out.String(), "unknown breaker command") {
		t.Fatalf("unknown subcommand: %d %s", code, out)
	}
}
