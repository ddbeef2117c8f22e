package mysql_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// storeOn builds a store for a schema and mapping of the test's own.
func storeOn(t *testing.T, schema, usersTOML string, clock *time.Time) (*mysql.Store, *fixture) {
	t.Helper()
	store, db, _ := testfix.Store(t, 5, schema, usersTOML, mysql.Options{Now: func() time.Time { return *clock }})
	return store, &fixture{db: db, clock: clock}
}

// A table named `user` with an `order` column (reserved words), a UUID key made by scimbridge, and
// deactivation kept as a DATETIME.
func TestReservedWordsUUIDKeyAndDeactivationTimestamp(t *testing.T) {
	schema := "CREATE TABLE `user` (`key` CHAR(36) NOT NULL PRIMARY KEY, `order` VARCHAR(190) NOT NULL UNIQUE, " +
		"`deactivated_at` DATETIME NULL) ENGINE=InnoDB;"
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store, f := storeOn(t, schema, `
table = "user"
key = "key"
key_generation = "uuid"
[columns]
order = "userName"
deactivated_at = { from = "active", when_true = "null", when_false = "now" }
`, &clock)
	ctx := context.Background()
	r, err := store.CreateUser(ctx, resource(t, `{"userName":"kim@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	var row struct {
		Key         string     `db:"key"`
		Deactivated *time.Time `db:"deactivated_at"`
	}
	if err := f.db.Get(&row, "SELECT `key`, deactivated_at FROM `user` WHERE `order` = 'kim@example.com'"); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(row.Key) || row.Deactivated != nil {
		t.Fatalf("row after create: %+v", row)
	}

	id := r["id"].(string)
	deactivate := func(cur scim.Resource) (scim.Resource, error) { cur["active"] = false; return cur, nil }
	if _, err := store.UpdateUser(ctx, id, deactivate); err != nil {
		t.Fatal(err)
	}
	_ = f.db.Get(&row, "SELECT `key`, deactivated_at FROM `user`")
	if row.Deactivated == nil || !row.Deactivated.Equal(clock) {
		t.Fatalf("deactivated_at = %v, want %v", row.Deactivated, clock)
	}
	// A later change while inactive keeps the original deactivation time.
	clock = clock.Add(time.Hour)
	rename := func(cur scim.Resource) (scim.Resource, error) { cur["userName"] = "kim2@example.com"; return cur, nil }
	got, err := store.UpdateUser(ctx, id, rename)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.db.Get(&row, "SELECT `key`, deactivated_at FROM `user`")
	if !row.Deactivated.Equal(clock.Add(-time.Hour)) || got["active"] != false {
		t.Fatalf("after rename: deactivated_at %v (want unchanged), active %v", row.Deactivated, got["active"])
	}
	reactivate := func(cur scim.Resource) (scim.Resource, error) { cur["active"] = true; return cur, nil }
	if _, err := store.UpdateUser(ctx, id, reactivate); err != nil {
		t.Fatal(err)
	}
	_ = f.db.Get(&row, "SELECT `key`, deactivated_at FROM `user`")
	if row.Deactivated != nil {
		t.Fatalf("deactivated_at after reactivation = %v, want NULL", row.Deactivated)
	}
	page, err := store.ListUsers(ctx, scim.ListQuery{Filter: mustFilter(t, `active eq true`), StartIndex: 1, Count: 10})
	if err != nil || page.Total != 1 {
		t.Fatalf("active eq true: %d results, %v", page.Total, err)
	}
}

// A random string key of a configured alphabet, epoch-millisecond deactivation, and on_delete = "delete".
func TestRandomKeyEpochMillisAndHardDelete(t *testing.T) {
	schema := "CREATE TABLE accounts (id VARCHAR(26) NOT NULL PRIMARY KEY, login VARCHAR(190) NOT NULL, " +
		"DeleteAt BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB;"
	clock := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	store, f := storeOn(t, schema, `
table = "accounts"
key_generation = { random_length = 26, alphabet = "abcdefghijkmnopqrstuvwxyz0123456789" }
on_delete = "delete"
[columns]
login = "userName"
DeleteAt = { from = "active", when_true = 0, when_false = "now_unix_ms" }
`, &clock)
	ctx := context.Background()
	r, err := store.CreateUser(ctx, resource(t, `{"userName":"lee","active":false}`))
	if err != nil {
		t.Fatal(err)
	}
	var row struct {
		ID       string `db:"id"`
		DeleteAt int64  `db:"DeleteAt"`
	}
	if err := f.db.Get(&row, "SELECT id, DeleteAt FROM accounts"); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-km-z0-9]{26}$`).MatchString(row.ID) || row.DeleteAt != clock.UnixMilli() {
		t.Fatalf("row = %+v, want a 26-character key and DeleteAt %d", row, clock.UnixMilli())
	}
	if r["active"] != false {
		t.Errorf("active read back as %v", r["active"])
	}
	if err := store.DeleteUser(ctx, r["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = f.db.Get(&n, "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM scim_users)")
	if n != 0 {
		t.Fatalf("%d rows left after a hard delete", n)
	}
}

func mustFilter(t *testing.T, s string) scim.Expr {
	t.Helper()
	e, err := scim.ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
