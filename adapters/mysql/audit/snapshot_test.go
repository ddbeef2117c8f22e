package audit_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// The audit's before and after of a user's app row are read by the statements that read the user
// anyway; they are still exactly what a SELECT * of the row gives (audit.Snapshot, which wrote them
// before): with a column the server fills on INSERT (a default), one it changes on every UPDATE (ON
// UPDATE CURRENT_TIMESTAMP) and one a trigger of the app's changes behind the UPDATE.
func TestAuditSnapshotsAreTheWholeRowAsWritten(t *testing.T) {
	schema := legacyapp.UsersTable("note VARCHAR(40) NOT NULL DEFAULT 'fresh'",
		"touched TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)") +
		"\nCREATE TRIGGER users_note BEFORE UPDATE ON users FOR EACH ROW SET NEW.note = CONCAT(OLD.note, '+');"
	s, db, _ := testfix.Store(t, 2, schema, legacyapp.UsersMapping(""), mysql.Options{})
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db, Tables: bookkeeping.NewTables("", bookkeeping.MySQL)}
	snapshot := func(key any) map[string]any {
		var row map[string]any
		if err := r.InTx(ctx, func(tx *bookkeeping.Tx) (err error) {
			row, err = audit.Snapshot(ctx, tx, "users", "id", key)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return row
	}
	columns := func(d map[string]audit.Diff) string {
		b, _ := json.Marshal(d)
		var back map[string]audit.Diff
		_ = json.Unmarshal(b, &back) // as List reads them
		b, _ = json.Marshal(back)
		return string(b)
	}
	u, err := s.CreateUser(ctx, scim.Resource{"userName": "ann@example.com", "name": map[string]any{"givenName": "Ann"}, "active": true})
	if err != nil {
		t.Fatal(err)
	}
	var key int64
	if err := db.Get(&key, "SELECT app_id FROM scim_users WHERE id = ?", u["id"]); err != nil {
		t.Fatal(err)
	}
	created := snapshot(key)
	if created["note"] != "fresh" || created["touched"] == nil {
		t.Fatalf("the row as created: %v", created)
	}
	recs := list(t, db, audit.Filter{})
	if got, want := columns(recs[0].Changes.Columns), columns(audit.ColumnDiff(nil, created, nil)); got != want {
		t.Fatalf("create's columns\n%s\nwant (SELECT *)\n%s", got, want)
	}
	for i, patch := range []func(scim.Resource){
		func(cur scim.Resource) { cur["active"] = false },
		func(cur scim.Resource) { cur["name"] = map[string]any{"givenName": "Anna"} },
	} {
		if _, err := s.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
			patch(cur)
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
		after := snapshot(key)
		recs := list(t, db, audit.Filter{})
		last := recs[len(recs)-1]
		want := audit.ColumnDiff(created, after, nil)
		if _, ok := want["note"]; !ok {
			t.Fatalf("patch %d: the trigger did not change note: %v", i, after)
		}
		if _, ok := want["touched"]; !ok {
			t.Fatalf("patch %d: ON UPDATE did not change touched: %v then %v", i, created["touched"], after["touched"])
		}
		if got := columns(last.Changes.Columns); got != columns(want) {
			t.Fatalf("patch %d: the audit's columns\n%s\nwant (SELECT * before and after)\n%s", i, got, columns(want))
		}
		created = after
	}
}
