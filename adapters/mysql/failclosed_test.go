package mysql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A status the app set that the active map does not list reads as inactive everywhere: on GET, in lists
// filtered by active, and in webhook payloads; it is logged once per user and value.
func TestUnknownActiveValueFailsClosed(t *testing.T) {
	f := newFixture(t, usersTOML)
	m := testfix.Users(t, usersTOML)
	logs := &lockedBuffer{}
	store := mysql.New(f.db, m, mysql.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	ctx := context.Background()
	u, err := store.CreateUser(ctx, resource(t, `{"userName":"una@example.com","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	for _, status := range []int{0, 4, -1, 7} {
		if _, err := f.db.Exec("UPDATE users SET status = ? WHERE email = 'una@example.com'", status); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			got, err := store.GetUser(ctx, id)
			if err != nil || got["active"] != false {
				t.Fatalf("status %d: active = %#v (%v), want false", status, got["active"], err)
			}
		}
		if _, err := store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) {
			cur["title"] = "t" + strings.Repeat("x", status+2)
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
		var payload []byte
		if err := f.db.Get(&payload, "SELECT payload FROM scim_outbox ORDER BY seq DESC LIMIT 1"); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Resource map[string]any `json:"resource"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Resource["active"] != false {
			t.Errorf("status %d: webhook payload active = %#v: %s", status, ev.Resource["active"], payload)
		}
	}
	if n := strings.Count(logs.String(), "status value is not in the mapping's active map"); n != 4 {
		t.Errorf("logged %d times, want once per value (4):\n%s", n, logs)
	}
	for _, v := range []string{"value=0", "value=4", "value=-1", "value=7"} {
		if !strings.Contains(logs.String(), v) {
			t.Errorf("log lacks %s:\n%s", v, logs)
		}
	}
	page, err := store.ListUsers(ctx, scim.ListQuery{Filter: mustFilter(t, "active eq true"), StartIndex: 1, Count: 10})
	if err != nil || page.Total != 0 {
		t.Errorf("active eq true lists %d users (%v); status 7 is not active", page.Total, err)
	}
}
