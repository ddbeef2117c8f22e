package mysql_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// An email table with an address and a primary flag only: no column for type or display.
const emailOnlySchema = `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login VARCHAR(190) NOT NULL,
  UNIQUE KEY login (login)
) ENGINE=InnoDB;
CREATE TABLE email_addresses (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id INT UNSIGNED NOT NULL,
  address VARCHAR(255) NOT NULL,
  is_default TINYINT(1) NOT NULL DEFAULT 0,
  notify TINYINT(1) NOT NULL DEFAULT 1,
  KEY user_id (user_id)
) ENGINE=InnoDB`

const emailOnlyTOML = `
table = "users"
on_delete = "delete"
[columns]
login = "userName"
[[lists]]
attribute = "emails"
table = "email_addresses"
foreign_key = "user_id"
columns = { address = "value", is_default = "primary" }
`

func TestListSubAttributesWithoutColumnsAreKeptPerElement(t *testing.T) {
	t.Parallel()
	store, db, _ := testfix.Store(t, 4, emailOnlySchema, emailOnlyTOML, mysql.Options{Log: testfix.Log(t)})
	m := testfix.Users(t, emailOnlyTOML)
	ctx := context.Background()
	u, err := store.CreateUser(ctx, scim.Resource{"userName": "ent", "emails": []any{
		map[string]any{"value": "old@example.com", "type": "work", "primary": true},
		map[string]any{"value": "home@example.com", "type": "home", "display": "Home"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	got, _ := store.GetUser(ctx, id)
	if !hasElement(got, "old@example.com", "work") || !hasElement(got, "home@example.com", "home") {
		t.Fatalf("types not read back: %v", got["emails"])
	}
	// Entra changes the work email.
	var ops []scim.PatchOperation
	if err := json.Unmarshal([]byte(`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@example.com"}]`), &ops); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) { return m.Type.ApplyPatch(cur, ops) }); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Address string `db:"address"`
		Default int    `db:"is_default"`
	}
	if err := db.Select(&rows, "SELECT address, is_default FROM email_addresses ORDER BY address"); err != nil {
		t.Fatal(err)
	}
	want := []string{"home@example.com/0", "new@example.com/1"}
	if len(rows) != 2 || rows[0].Address+"/"+itoa(int64(rows[0].Default)) != want[0] || rows[1].Address+"/"+itoa(int64(rows[1].Default)) != want[1] {
		t.Errorf("rows = %v, want %v (the primary replaced, nothing appended)", rows, want)
	}
	got, _ = store.GetUser(ctx, id)
	if !hasElement(got, "new@example.com", "work") || !hasElement(got, "home@example.com", "home") {
		t.Errorf("after the PATCH: %v", got["emails"])
	}
	// The app changes the address's case: the element keeps its type (matched as an identity).
	if _, err := db.Exec("UPDATE email_addresses SET address = 'NEW@example.com' WHERE address = 'new@example.com'"); err != nil {
		t.Fatal(err)
	}
	if got, _ = store.GetUser(ctx, id); !hasElement(got, "NEW@example.com", "work") {
		t.Errorf("after the app's case change: %v", got["emails"])
	}
}

func hasElement(r scim.Resource, value, typ string) bool {
	list, _ := r["emails"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["value"] == value && m["type"] == typ {
			return true
		}
	}
	return false
}
