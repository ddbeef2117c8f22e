package mysql_test

import (
	"context"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// on_insert keys of a key-value table: written once with the user's first write (a new row, or an
// adopted one lacking the key), then left as the app has them; unmanaged keys are never touched.
func TestKeyValueOnInsertConstants(t *testing.T) {
	f := newFixtureWith(t, contactsSchema, `
table = "people"
match_existing_by = "login"
[columns]
login = "userName"
active = "active"
[[keyvalue]]
table = "person_meta"
foreign_key = "person_id"
key_column = "k"
value_column = "v"
keys = { nick = "nickName", level = { on_insert = 0 }, editor = { on_insert = "true" } }
`)
	ctx := context.Background()
	meta := func(login string) map[string]string {
		t.Helper()
		var rows []struct{ K, V string }
		if err := f.db.Select(&rows, "SELECT m.k, m.v FROM person_meta m JOIN people p ON p.id = m.person_id WHERE p.login = ? ORDER BY m.k", login); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.K] = r.V
		}
		return out
	}
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann","nickName":"annie"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := meta("ann"); len(got) != 3 || got["level"] != "0" || got["editor"] != "true" || got["nick"] != "annie" {
		t.Fatalf("after POST: %v", got)
	}
	// The app raises the level: later writes leave it.
	if _, err := f.db.Exec("UPDATE person_meta SET v = '10' WHERE k = 'level'"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["nickName"] = "ann2"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := meta("ann"); got["level"] != "10" || got["nick"] != "ann2" || got["editor"] != "true" {
		t.Errorf("after an update: %v", got)
	}
	if _, ok := u["level"]; ok {
		t.Errorf("a constant key read back as an attribute: %v", u)
	}
	// An adopted row keeps the keys it has and gets the ones it lacks.
	if _, err := f.db.Exec("INSERT INTO people (login) VALUES ('bob')"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("INSERT INTO person_meta (person_id, k, v) SELECT id, k, v FROM people, (SELECT 'level' k, '7' v UNION ALL SELECT 'theme', 'dark') x WHERE login = 'bob'"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"bob"}`)); err != nil {
		t.Fatal(err)
	}
	if got := meta("bob"); len(got) != 3 || got["level"] != "7" || got["editor"] != "true" || got["theme"] != "dark" {
		t.Errorf("adopted: %v, want level 7 kept, editor added, theme untouched", got)
	}
}
