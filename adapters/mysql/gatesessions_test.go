package mysql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/scim"
)

func TestGateSessions(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"gina@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	gs := mysql.NewGateSessions(f.db, "scim_")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := strings.Repeat("ab", 32)

	if ok, err := gs.CreateSession(ctx, key, id, "7", "gina@example.com", now, now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("create: %v, %v", ok, err)
	}
	if uid, app, idn, err := gs.LookupSession(ctx, key, now.Add(time.Minute)); uid != id || app != "7" || idn != "gina@example.com" || err != nil {
		t.Errorf("lookup: %q %q %q %v", uid, app, idn, err)
	}
	if uid, _, _, err := gs.LookupSession(ctx, key, now.Add(time.Hour)); uid != "" || err != nil {
		t.Errorf("expired session found: %q %v", uid, err)
	}
	if ok, _ := gs.CreateSession(ctx, strings.Repeat("cd", 32), "no-such-user", "", "x", now, now.Add(time.Hour)); ok {
		t.Error("a session was created for a user the store does not have")
	}

	// Deactivation through the store ends the session in its transaction; an unrelated update does not.
	update := func(edit func(scim.Resource)) {
		t.Helper()
		if _, err := f.store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) { edit(cur); return cur, nil }); err != nil {
			t.Fatal(err)
		}
	}
	update(func(cur scim.Resource) { cur["displayName"] = "Gina" })
	if uid, _, _, _ := gs.LookupSession(ctx, key, now); uid != id {
		t.Error("an update that keeps the user active ended the session")
	}
	update(func(cur scim.Resource) { cur["active"] = false })
	if uid, _, _, _ := gs.LookupSession(ctx, key, now); uid != "" {
		t.Error("the deactivation left the session")
	}
	if ok, err := gs.CreateSession(ctx, key, id, "", "gina@example.com", now, now.Add(time.Hour)); ok || err != nil {
		t.Errorf("a session was created for a deactivated user: %v, %v", ok, err)
	}
	update(func(cur scim.Resource) { cur["active"] = true })
	if ok, _ := gs.CreateSession(ctx, key, id, "", "gina@example.com", now, now.Add(time.Hour)); !ok {
		t.Fatal("no session for the reactivated user")
	}
	if err := f.store.DeleteUser(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if uid, _, _, _ := gs.LookupSession(ctx, key, now); uid != "" {
		t.Error("the DELETE left the session")
	}
}

func TestGateAssertionsFirstUse(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a, b := mysql.NewGateSessions(f.db, "scim_"), mysql.NewGateSessions(f.db, "scim_") // two replicas
	key := strings.Repeat("0f", 32)
	if ok, err := a.FirstUse(ctx, key, now, now.Add(5*time.Minute)); !ok || err != nil {
		t.Fatalf("first use: %v, %v", ok, err)
	}
	for _, g := range []*mysql.GateSessions{a, b} {
		if ok, err := g.FirstUse(ctx, key, now.Add(time.Minute), now.Add(6*time.Minute)); ok || err != nil {
			t.Errorf("second use: %v, %v; want refused", ok, err)
		}
	}
	// Expired (crewjam refuses the assertion itself by then): the row is replaced, and old rows pruned.
	if ok, err := b.FirstUse(ctx, key, now.Add(5*time.Minute), now.Add(10*time.Minute)); !ok || err != nil {
		t.Errorf("after expiry: %v, %v", ok, err)
	}
	if _, err := a.FirstUse(ctx, strings.Repeat("1e", 32), now.Add(time.Hour), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.Get(&n, "SELECT COUNT(*) FROM scim_gate_assertions WHERE expires_at <= ?", now.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("%d expired rows left after a prune, %v", n, err)
	}
}

// A login that reads the user while a deactivation's writes are done but not committed sees the user
// still active and writes its session after the deactivation's DELETE of the user's sessions. The
// session must not outlive the deactivation: once it is committed, the lookup finds no session and the
// row is gone.
func TestGateSessionDuringDeactivation(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"hana@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	gs := mysql.NewGateSessions(f.db, "scim_")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := strings.Repeat("9a", 32)

	// The deactivation's writes, as the store's transaction makes them, short of its COMMIT.
	deact, err := f.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		t.Fatal(err)
	}
	defer deact.Rollback()
	for _, q := range []string{"UPDATE scim_users SET active = 0, version = version + 1 WHERE id = ?", "DELETE FROM scim_gate_sessions WHERE user_id = ?"} {
		if _, err := deact.ExecContext(ctx, q, id); err != nil {
			t.Fatal(err)
		}
	}
	created, err := gs.CreateSession(ctx, key, id, "", "hana@example.com", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := deact.Commit(); err != nil {
		t.Fatal(err)
	}
	uid, _, _, err := gs.LookupSession(ctx, key, now.Add(time.Minute))
	var n int
	if err2 := f.db.Get(&n, "SELECT COUNT(*) FROM scim_gate_sessions WHERE user_id = ?", id); err2 != nil {
		t.Fatal(err2)
	}
	if uid != "" || err != nil || n != 0 {
		t.Errorf("after the deactivation: lookup %q, %v; %d session rows (the login wrote one: %v); want no session", uid, err, n, created)
	}
}

// A session row whose user is no longer active or deleted (one a login on another Galera node wrote
// while this node committed the deactivation) is no session: the lookup reads the user again and drops
// the row.
func TestGateSessionOfAnInactiveUser(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ines@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	gs := mysql.NewGateSessions(f.db, "scim_")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := strings.Repeat("7c", 32)
	for _, state := range []string{"active = 0, deleted_at = NULL", "active = 1, deleted_at = NOW(6)", "active = 1, deleted_at = NULL"} {
		if _, err := f.db.ExecContext(ctx, "UPDATE scim_users SET active = 1, deleted_at = NULL WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		if ok, err := gs.CreateSession(ctx, key, id, "", "ines@example.com", now, now.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("create: %v, %v", ok, err)
		}
		if _, err := f.db.ExecContext(ctx, "UPDATE scim_users SET "+state+" WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		uid, _, _, err := gs.LookupSession(ctx, key, now)
		var rows int
		if err2 := f.db.Get(&rows, "SELECT COUNT(*) FROM scim_gate_sessions WHERE token_hash = ?", key); err2 != nil {
			t.Fatal(err2)
		}
		live := state == "active = 1, deleted_at = NULL"
		if err != nil || (uid == id) != live || rows != map[bool]int{false: 0, true: 1}[live] {
			t.Errorf("user %s: lookup %q, %v, %d rows; want the session %v", state, uid, err, rows, live)
		}
		if live {
			if err := gs.DeleteSession(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
	}
}
