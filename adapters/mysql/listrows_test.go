package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

func addresses(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var got []string
	if err := db.Select(&got, "SELECT address FROM email_addresses ORDER BY address"); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

// TestListReplacementKeepsAppRows: a PUT replaces the addresses scimbridge wrote and keeps the one the app
// added (keep_app_rows, the default); a PATCH starting from the user as read does not make the app's row
// scimbridge's; with keep_app_rows = false the PUT deletes it. A user from before the record (untracked)
// has every row counted as scimbridge's, once: its write records what it holds.
func TestListReplacementKeepsAppRows(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		toml := emailOnlyTOML
		if !keep {
			toml = strings.Replace(toml, `foreign_key = "user_id"`, "foreign_key = \"user_id\"\nkeep_app_rows = false", 1)
		}
		store, db, _ := testfix.Store(t, 4, emailOnlySchema, toml, mysql.Options{Log: testfix.Log(t)})
		ctx := context.Background()
		u, err := store.CreateUser(ctx, scim.Resource{"userName": "ann", "emails": []any{map[string]any{"value": "ann@corp.example", "primary": true}}})
		if err != nil {
			t.Fatal(err)
		}
		id := u["id"].(string)
		if _, err := db.Exec("INSERT INTO email_addresses (user_id, address) SELECT user_id, 'ann@home.example' FROM email_addresses"); err != nil {
			t.Fatal(err)
		}
		put := func(emails ...string) {
			t.Helper()
			var list []any
			for i, e := range emails {
				list = append(list, map[string]any{"value": e, "primary": i == 0})
			}
			if _, err := store.UpdateUser(ctx, id, func(scim.Resource) (scim.Resource, error) {
				return scim.Resource{"userName": "ann", "emails": list}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		// A PATCH-like write: the user as read (the app's address included) plus one more.
		if _, err := store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) {
			cur["emails"] = append(cur["emails"].([]any), map[string]any{"value": "ann@extra.example"})
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
		put("ann@new.example")
		want := "ann@new.example"
		if keep {
			want = "ann@home.example ann@new.example"
		}
		if got := addresses(t, db); got != want {
			t.Errorf("keep_app_rows %v: addresses after the PUT: %q, want %q", keep, got, want)
		}
	}

	// Untracked: as before the record, the PUT replaces every managed row; then the user is tracked.
	store, db, _ := testfix.Store(t, 4, emailOnlySchema, emailOnlyTOML, mysql.Options{Log: testfix.Log(t)})
	ctx := context.Background()
	u, err := store.CreateUser(ctx, scim.Resource{"userName": "bob", "emails": []any{map[string]any{"value": "bob@corp.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	for _, q := range []string{"DELETE FROM scim_list_rows", "UPDATE scim_users SET lists_untracked = 1",
		"INSERT INTO email_addresses (user_id, address) SELECT user_id, 'bob@old.example' FROM email_addresses"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	put := func(email string) {
		t.Helper()
		if _, err := store.UpdateUser(ctx, id, func(scim.Resource) (scim.Resource, error) {
			return scim.Resource{"userName": "bob", "emails": []any{map[string]any{"value": email}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("bob@new.example")
	if got := addresses(t, db); got != "bob@new.example" {
		t.Errorf("an untracked user's PUT: %q, want only bob@new.example", got)
	}
	// Now tracked: an address the app adds stays.
	if _, err := db.Exec("INSERT INTO email_addresses (user_id, address) SELECT user_id, 'bob@app.example' FROM email_addresses"); err != nil {
		t.Fatal(err)
	}
	put("bob@newer.example")
	if got := addresses(t, db); got != "bob@app.example bob@newer.example" {
		t.Errorf("the PUT after: %q, want bob@app.example kept", got)
	}
	var untracked int
	if err := db.Get(&untracked, "SELECT lists_untracked FROM scim_users"); err != nil || untracked != 0 {
		t.Errorf("lists_untracked after the write: %d, %v", untracked, err)
	}
}
