package app_test

import (
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// serve prunes audit rows older than [audit] retention while it runs, and keeps younger ones.
func TestServePrunesTheAuditTrail(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.Audit.Retention.Duration = 24 * time.Hour
	clock := testfix.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	dsn := exampleDB(t)
	r := start(t, cfg, app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_TOKEN": token}), DSN: dsn, Now: clock.Now,
		AuditPruneEvery: 10 * time.Millisecond})
	if status, _ := r.do(t, "POST", "/Users", `{"userName":"old@example.com"}`); status != 201 {
		t.Fatalf("POST: %d", status)
	}
	db := testfix.Open(t, dsn, 1)
	count := func(name string) int {
		var n int
		if err := db.Get(&n, "SELECT COUNT(*) FROM scim_audit WHERE name = ?", name); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("old@example.com") == 0 {
		t.Fatal("no audit row for the create")
	}
	clock.Advance(25 * time.Hour)
	if status, _ := r.do(t, "POST", "/Users", `{"userName":"new@example.com"}`); status != 201 {
		t.Fatalf("POST: %d", status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count("old@example.com") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the old audit rows were not pruned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if count("new@example.com") == 0 {
		t.Fatal("the new audit row was pruned too")
	}
}
