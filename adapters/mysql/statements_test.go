package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// The statements a POST, a PATCH of active and a filter's lookup send, as the server receives them (bench/README.md has
// the before/after). The bound is today's count: a change that adds a round trip to the hot writes has
// to raise it on purpose.
func TestStatementsPerWrite(t *testing.T) {
	db, rec := openRecording(t, testdb.New(t, appSchema))
	if _, err := mysql.Migrate(context.Background(), db, "scim_"); err != nil {
		t.Fatal(err)
	}
	clock := testfix.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	store := mysql.New(db, testfix.Users(t, usersTOML), mysql.Options{Now: clock.Now})
	ctx := context.Background()
	rec.take()
	u, err := store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},
		"emails":[{"value":"ann@example.com","type":"work","primary":true}],"active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	post := rec.take()
	// The first update of a store reads the app table's definition once (updated_row.go).
	if _, err := store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["title"] = "Lead"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if _, err := store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["active"] = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	patch := rec.take()
	f, err := scim.ParseFilter(`userName eq "ANN@example.com"`)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := store.ListUsers(ctx, scim.ListQuery{Filter: f, StartIndex: 1, Count: 100}); err != nil || p.Total != 1 || len(p.Resources) != 1 {
		t.Fatalf("filter: %+v, %v", p, err)
	}
	lookup := rec.take()
	if len(lookup) != 1 || strings.Contains(lookup[0].query, "CAST(") {
		t.Errorf("the lookup compared the identity in SQL, not among the collation's matches (identityPage): %v", lookup)
	}
	// The history of the bounds: statements (begin and commit not counted) and, since pending.go, round trips
	// (the statements counted below include START TRANSACTION and COMMIT, as they are now sent).
	// POST 9 with the per-login lock row, 10 with the values table, 11 with user_counts, 12 with
	// scim_user_written, 11 once the read-back read the app row whole for the audit (u.*); 7 when the
	// writes nothing reads (counts, values, audit, written columns, outbox) went in one round trip before
	// the commit; 6 without the per-login lock row (live_user_name's unique index decides:
	// TestConcurrentAdoptionsAndRevivalsOfOneLogin). PATCH 9 with the groups in the read-back, 10 with
	// scim_user_written, 8 with the audit's rows from the write's own reads, 5 with the deferred writes.
	// Round trips, since a transaction's statements that need no answer go with the next that does
	// (bookkeeping pending.go): POST 5 (the minimal server's: begin, three INSERTs, commit), PATCH 3
	// (its: 6), the lookup 1 (its: 1). POST 4 with the tombstone and adoption lookups in one query, 3
	// (11 statements) with the new row from INSERT ... RETURNING instead of a read-back. PATCH 2 (9
	// statements) with the row known from the locked read and the writes (updated_row.go).
	for _, w := range []struct {
		name     string
		stmts    []recorded
		maxStmts int
		maxTrips int
	}{{"POST", post, 11, 3}, {"PATCH active", patch, 9, 2}, {"filter userName eq (the page; no COUNT)", lookup, 1, 1}} {
		var lines []string
		for i, s := range w.stmts {
			sep := "  "
			if i > 0 && s.trip == w.stmts[i-1].trip {
				sep = "+ " // in the same round trip as the line before
			}
			lines = append(lines, sep+strings.Join(strings.Fields(s.query), " "))
		}
		trips := roundTrips(w.stmts)
		t.Logf("%s: %d statements in %d round trips\n%s", w.name, len(lines), trips, strings.Join(lines, "\n"))
		if len(lines) > w.maxStmts || trips > w.maxTrips {
			t.Errorf("%s sent %d statements in %d round trips; want at most %d in %d", w.name, len(lines), trips, w.maxStmts, w.maxTrips)
		}
	}
}

// A PATCH of active alone recomputes the user's roles only where a role store clears them while it is
// inactive (while_inactive = "clear"); with "keep" its roles cannot change, and the recompute's
// statements (the role mark, the groups, the role column) are not sent.
func TestStatementsPerPatchOfActiveWithRoles(t *testing.T) {
	for _, c := range []struct {
		mode      string
		recompute bool
	}{{"keep", false}, {"clear", true}} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			store, _, rec := recordingRoleStore(t, roleSchema("role VARCHAR(32) NULL,", ""), "while_inactive = \""+c.mode+"\"\n"+storeColumnRoles)
			ctx := context.Background()
			u, err := store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com"}`))
			if err != nil {
				t.Fatal(err)
			}
			rec.take()
			_, err = store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
				cur["active"] = false
				return cur, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			patch := rec.take()
			marked := false
			var lines []string
			for _, s := range patch {
				marked = marked || strings.Contains(s.query, "scim_role_marks")
				lines = append(lines, strings.Join(strings.Fields(s.query), " "))
			}
			t.Logf("PATCH active, while_inactive = %q: %d statements in %d round trips\n%s", c.mode, len(patch), roundTrips(patch), strings.Join(lines, "\n"))
			if marked != c.recompute {
				t.Errorf("the PATCH recomputed roles: %v; want %v", marked, c.recompute)
			}
		})
	}
}

// A POST with a role mapping (the column store, a default role): the create, then the recompute of the
// new user's roles (its row and the app row locked, groups, direct roles, the role column and the grants
// read; the role column and the grant written), which tells how much [roles] adds to each create.
func TestStatementsPerPostWithRoles(t *testing.T) {
	store, _, rec := recordingRoleStore(t, roleSchema("role VARCHAR(32) NULL,", ""), storeColumnRoles)
	rec.take()
	if _, err := store.CreateUser(context.Background(), resource(t, `{"userName":"ann@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	post := rec.take()
	var lines []string
	for i, s := range post {
		sep := "  "
		if i > 0 && s.trip == post[i-1].trip {
			sep = "+ "
		}
		lines = append(lines, sep+strings.Join(strings.Fields(s.query), " "))
	}
	t.Logf("POST with [roles]: %d statements in %d round trips\n%s", len(post), roundTrips(post), strings.Join(lines, "\n"))
	// 17 in 9 before the create's lookups went together and its row came from INSERT ... RETURNING; 16
	// in 7 before the recompute took the new user as the create knows it (approles.Known).
	if trips := roundTrips(post); len(post) > 13 || trips > 4 {
		t.Errorf("POST with [roles] sent %d statements in %d round trips; want at most 13 in 4", len(post), trips)
	}
}
