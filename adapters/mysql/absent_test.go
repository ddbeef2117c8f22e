package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// An app that scans names into plain strings: NOT NULL DEFAULT ” columns.
const emptyStringSchema = `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login VARCHAR(190) NOT NULL,
  firstname VARCHAR(30) NOT NULL DEFAULT '',
  lastname VARCHAR(255) NOT NULL DEFAULT '',
  status INT NOT NULL DEFAULT 1,
  UNIQUE KEY login (login)
) ENGINE=InnoDB`

const emptyStringTOML = `
table = "users"
[columns]
login = "userName"
firstname = { from = "name.givenName", default = "" }
lastname = { from = "name.familyName", default = "" }
status = { from = "active", map = { true = 1, false = 3 } }
`

func TestAbsentAttributesWriteTheConstantDefault(t *testing.T) {
	t.Parallel()
	store, db, _ := testfix.Store(t, 4, emptyStringSchema, emptyStringTOML, mysql.Options{Log: testfix.Log(t)})
	ctx := context.Background()
	row := func() (first, last string) {
		t.Helper()
		if err := db.QueryRow("SELECT firstname, lastname FROM users WHERE login = 'nn'").Scan(&first, &last); err != nil {
			t.Fatal(err)
		}
		return
	}
	u, err := store.CreateUser(ctx, scim.Resource{"userName": "nn"})
	if err != nil {
		t.Fatalf("POST without a name: %v", err)
	}
	if f, l := row(); f != "" || l != "" {
		t.Errorf("row = %q %q", f, l)
	}
	if _, has := u["name"]; has {
		t.Errorf("'' reads back as a name: %v", u["name"])
	}
	id := u["id"].(string)
	set := func(r scim.Resource) scim.Resource {
		t.Helper()
		out, err := store.UpdateUser(ctx, id, func(scim.Resource) (scim.Resource, error) { return r, nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	set(scim.Resource{"userName": "nn", "name": map[string]any{"givenName": "Nia", "familyName": "North"}})
	if f, l := row(); f != "Nia" || l != "North" {
		t.Errorf("row = %q %q", f, l)
	}
	a := set(scim.Resource{"userName": "nn"}) // the name removed: '' again, not NULL (which would fail)
	if f, l := row(); f != "" || l != "" {
		t.Errorf("row after removal = %q %q", f, l)
	}
	b := set(scim.Resource{"userName": "nn"})
	if a["meta"].(map[string]any)["version"] != b["meta"].(map[string]any)["version"] {
		t.Errorf("the same write twice changed the version")
	}
}

func TestAbsentAttributesGetTheColumnsDefault(t *testing.T) {
	t.Parallel()
	// Without default = "": an absent name leaves the column to its DEFAULT '' (on insert, and when an
	// update removes it), not NULL, which the NOT NULL column would refuse with a 400.
	toml := strings.Replace(emptyStringTOML, `{ from = "name.givenName", default = "" }`, `"name.givenName"`, 1)
	store, db, _ := testfix.Store(t, 4, emptyStringSchema, toml, mysql.Options{Log: testfix.Log(t)})
	ctx := context.Background()
	u, err := store.CreateUser(ctx, scim.Resource{"userName": "nn"})
	if err != nil {
		t.Fatalf("POST without a name: %v", err)
	}
	id := u["id"].(string)
	put := func(r scim.Resource) scim.Resource {
		t.Helper()
		out, err := store.UpdateUser(ctx, id, func(scim.Resource) (scim.Resource, error) { return r, nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	put(scim.Resource{"userName": "nn", "name": map[string]any{"givenName": "Nia"}})
	a := put(scim.Resource{"userName": "nn"})
	var first string
	if err := db.Get(&first, "SELECT firstname FROM users WHERE login = 'nn'"); err != nil || first != "" {
		t.Errorf("firstname = %q, %v", first, err)
	}
	if b := put(scim.Resource{"userName": "nn"}); a["meta"].(map[string]any)["version"] != b["meta"].(map[string]any)["version"] {
		t.Errorf("the same write twice changed the version")
	}
}

func TestNotNullColumnWithoutDefaultIsNamed(t *testing.T) {
	t.Parallel()
	schema := strings.Replace(emptyStringSchema, "lastname VARCHAR(255) NOT NULL DEFAULT ''", "lastname VARCHAR(255) NOT NULL", 1)
	toml := strings.Replace(emptyStringTOML, `{ from = "name.familyName", default = "" }`, `"name.familyName"`, 1)
	store, db, _ := testfix.Store(t, 4, schema, toml, mysql.Options{Log: testfix.Log(t)})
	_, err := store.CreateUser(context.Background(), scim.Resource{"userName": "nn"})
	if se := scim.AsError(err); se == nil || se.Status != 400 || !strings.Contains(se.Detail, `"lastname"`) {
		t.Errorf("got %v, want 400 naming lastname", err)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM users"); err != nil || n != 0 {
		t.Errorf("%d rows, %v", n, err)
	}
}

// TestAbsentAttributesInOneToOneTables: in a one-to-one table, an attribute the user loses is the
// column's DEFAULT (” in Redmine-style NOT NULL DEFAULT ” columns), not NULL, which the column would
// refuse; a nullable column without a default gets NULL. The same PUT again writes nothing.
func TestAbsentAttributesInOneToOneTables(t *testing.T) {
	t.Parallel()
	schema := emptyStringSchema + ";\nCREATE TABLE profiles (user_id INT UNSIGNED NOT NULL PRIMARY KEY, title VARCHAR(60) NOT NULL DEFAULT '', " +
		"note VARCHAR(60) NULL) ENGINE=InnoDB"
	toml := emptyStringTOML + `
[[tables]]
table = "profiles"
foreign_key = "user_id"
columns = { title = "title", note = "nickName" }
`
	store, db, _ := testfix.Store(t, 4, schema, toml, mysql.Options{Log: testfix.Log(t)})
	ctx := context.Background()
	u, err := store.CreateUser(ctx, scim.Resource{"userName": "nn", "title": "Engineer", "nickName": "Nia"})
	if err != nil {
		t.Fatal(err)
	}
	id := u["id"].(string)
	put := func() scim.Resource {
		t.Helper()
		out, err := store.UpdateUser(ctx, id, func(scim.Resource) (scim.Resource, error) { return scim.Resource{"userName": "nn"}, nil })
		if err != nil {
			t.Fatalf("a PUT without the one-to-one attributes: %v", err)
		}
		return out
	}
	a := put()
	var title string
	var note *string
	if err := db.QueryRow("SELECT title, note FROM profiles").Scan(&title, &note); err != nil {
		t.Fatal(err)
	}
	if title != "" || note != nil {
		t.Errorf("profiles row after the attributes went: %q %v, want '' and NULL (the columns' defaults)", title, note)
	}
	if _, has := a["title"]; has {
		t.Errorf("'' reads back as a title: %v", a["title"])
	}
	if b := put(); a["meta"].(map[string]any)["version"] != b["meta"].(map[string]any)["version"] {
		t.Errorf("the same PUT twice changed the version")
	}
}
