package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// bulkUsers inserts n users with plain SQL, as an import or a benchmark seed would: app rows and
// bookkeeping rows, and no values rows.
func bulkUsers(t *testing.T, f *fixture, n int) {
	t.Helper()
	for i := range n {
		res, err := f.db.Exec("INSERT INTO users (email, email_lower, status, password_hash, created_at) VALUES (?, ?, 1, '!', NOW())",
			fmt.Sprintf("bulk%d", i), fmt.Sprintf("bulk%d", i))
		if err != nil {
			t.Fatal(err)
		}
		appID, _ := res.LastInsertId()
		doc := fmt.Sprintf(`{"emails":[{"value":"Bulk%d@Example.com","type":"work"}]}`, i)
		if _, err := f.db.Exec(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)
			VALUES (?, ?, ?, ?, 1, 1, NOW(6), NOW(6), ?)`, fmt.Sprintf("bulk-%06d", i), appID, fmt.Sprintf("bulk%d", i), fmt.Sprintf("bulk%d", i), doc); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReindexMakesBulkRowsFilterableAndEqIsAnIndexLookup(t *testing.T) {
	f := newFixture(t, usersTOML)
	bulkUsers(t, f, 300)
	if got, _ := listed(t, f, `emails.value eq "bulk7@example.com"`); len(got) != 0 {
		t.Fatalf("found before reindex (so not through the values table): %v", got)
	}
	var reports [][2]int
	if err := mysql.Reindex(context.Background(), f.db, "scim_", func(done, total int) { reports = append(reports, [2]int{done, total}) }); err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 || reports[len(reports)-1] != [2]int{300, 300} {
		t.Fatalf("progress reports %v, want the last 300 of 300", reports)
	}
	if got, total := listed(t, f, `emails.value eq "bulk7@example.com"`); !slices.Equal(got, []string{"bulk-000007"}) || total != 1 {
		t.Fatalf("after reindex: %v (total %d), want bulk-000007", got, total)
	}
	if _, err := f.db.Exec("ANALYZE TABLE scim_users, scim_user_values, users"); err != nil {
		t.Fatal(err)
	}
	e, _ := scim.ParseFilter(`emails.value eq "bulk7@example.com"`)
	_, page, args, err := f.store.ListUsersSQL(e, 100)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.Queryx("EXPLAIN "+page, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	uses := false
	for rows.Next() {
		r := map[string]any{}
		if err := rows.MapScan(r); err != nil {
			t.Fatal(err)
		}
		s := func(k string) string { b, _ := r[k].([]byte); return string(b) }
		plan = append(plan, fmt.Sprintf("%s %s %s %s", s("table"), s("type"), s("key"), s("Extra")))
		if s("table") == "uv" && s("type") == "ref" && s("key") == "attr_value" {
			uses = true
		}
		if s("table") == "b" && s("type") == "ALL" {
			t.Errorf("the bookkeeping table is scanned")
		}
	}
	t.Logf("EXPLAIN:\n%s", strings.Join(plan, "\n"))
	if !uses {
		t.Fatalf("no ref lookup on the values table's attr_value key:\n%s", strings.Join(plan, "\n"))
	}
}

// A write that fails after its values rows were written leaves none behind: they are in its transaction.
func TestRolledBackWriteLeavesNoValues(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"kept","emails":[{"value":"kept@example.com"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The outbox row is written after the bookkeeping and values rows: refusing it fails the write late.
	if _, err := f.db.Exec("CREATE TRIGGER refuse_events BEFORE INSERT ON scim_outbox FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"lost","emails":[{"value":"lost@example.com"}]}`)); err == nil {
		t.Fatal("create succeeded despite the refused outbox row")
	}
	_, err = f.store.UpdateUser(ctx, r["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["emails"] = []any{map[string]any{"value": "changed@example.com"}}
		return cur, nil
	})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("update: %v, want the refused outbox row", err)
	}
	if _, err := f.db.Exec("DROP TRIGGER refuse_events"); err != nil {
		t.Fatal(err)
	}
	var vals []string
	if err := f.db.Select(&vals, "SELECT value_fold FROM scim_user_values ORDER BY value_fold"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vals, []string{"kept@example.com"}) {
		t.Fatalf("values rows %v, want only kept@example.com", vals)
	}
}

// Migration 18 fills the values table from the documents of the users that exist when it runs.
func TestMigrationBackfillsValues(t *testing.T) {
	f := newFixture(t, usersTOML)
	bulkUsers(t, f, 5)
	// Migrate runs what follows the newest version recorded: 18 and the ones after it run again, so
	// what those made goes first (26 and 27 made user_counts; the other steps find their work done).
	if _, err := f.db.Exec("DROP TABLE scim_user_counts"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("DELETE FROM scim_schema_migrations WHERE version >= 18"); err != nil {
		t.Fatal(err)
	}
	if n, err := mysql.Migrate(context.Background(), f.db, "scim_"); err != nil || n != bookkeeping.Latest()-17 {
		t.Fatalf("migrate: %d applied, %v; want migration 18 and the %d after it again", n, err, bookkeeping.Latest()-18)
	}
	if got, _ := listed(t, f, `emails.value eq "BULK3@example.com"`); !slices.Equal(got, []string{"bulk-000003"}) {
		t.Fatalf("after migration 18: %v, want bulk-000003", got)
	}
}
