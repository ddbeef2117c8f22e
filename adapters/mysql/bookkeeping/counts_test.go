package bookkeeping

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

// The migration that fills user_counts counts the users that exist, tombstones left out, into 16 shard
// rows; Recount, after rows written without scimbridge, sets the sum to COUNT again and moves changes.
func TestUserCountsFillAndRecount(t *testing.T) {
	ctx := context.Background()
	db, err := Open(testdb.New(t, ""), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Migrate(ctx, db, "scim_"); err != nil {
		t.Fatal(err)
	}
	insert := func(i int, deleted bool) {
		t.Helper()
		del := "NULL"
		if deleted {
			del = "NOW(6)"
		}
		if _, err := db.Exec(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, deleted_at, doc)
			VALUES (?, ?, ?, ?, 1, 1, NOW(6), NOW(6), `+del+`, '{}')`, fmt.Sprintf("%x-user", i), i, fmt.Sprint("u", i), fmt.Sprint("u", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 9 {
		insert(i, i%4 == 3)
	}
	fill := -1
	for i, m := range migrations {
		if strings.HasPrefix(m.sql, "INSERT IGNORE INTO {p}user_counts") {
			fill = i
		}
	}
	if fill < 0 {
		t.Fatal("no migration fills user_counts")
	}
	if _, err := db.Exec("DELETE FROM scim_user_counts"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := migrations[fill].apply(ctx, conn, "scim_"); err != nil {
		t.Fatal(err)
	}
	check := func(stage string, rows, live int) Counts {
		t.Helper()
		var n int
		if err := db.Get(&n, "SELECT COUNT(*) FROM scim_user_counts"); err != nil {
			t.Fatal(err)
		}
		c, err := ReadCounts(ctx, db, NewTables("scim_", MySQL))
		if err != nil || n != rows || c.Live != int64(live) {
			t.Fatalf("%s: %d rows counting %d users, %v; want %d rows, %d users", stage, n, c.Live, err, rows, live)
		}
		return c
	}
	before := check("migration", CountShards, 7)
	for i := 9; i < 12; i++ {
		insert(i, false)
	}
	if err := Recount(ctx, db, NewTables("scim_", MySQL)); err != nil {
		t.Fatal(err)
	}
	if after := check("recount", CountShards, 10); after.Changes == before.Changes {
		t.Fatalf("changes %d after the recount, as before it: readers would keep what they derived from the old count", after.Changes)
	}
}
