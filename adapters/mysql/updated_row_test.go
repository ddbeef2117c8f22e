package mysql_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// An update on MariaDB builds the row it left from the locked read and what it wrote, where the
// columns' rules are known (updated_row.go), instead of reading it back: the answers, the audit trail,
// the written columns, the events and every row must be what the read-back gives. The updates write
// columns whose stored form is the value (a status code, a time cut to the column's precision, text
// with trailing spaces) and columns whose is not (a DECIMAL, a CHAR), and, on a second table, under a
// trigger that changes what was written.
func TestUpdateFromTheWritesIsTheReadBack(t *testing.T) {
	cc := `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":%q}`
	updates := []func(scim.Resource){
		func(r scim.Resource) { r["active"] = false },
		func(r scim.Resource) { r["title"] = "Lead   " },
		func(r scim.Resource) { r["nickName"] = "annie  " },
		func(r scim.Resource) { r["name"] = map[string]any{"givenName": "Anne", "familyName": "Lee"} },
		func(r scim.Resource) {
			r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = map[string]any{"costCenter": "12.5"}
		},
		func(r scim.Resource) { r["active"] = true; r["displayName"] = "The Boss" },
	}
	run := func(schema, trigger string, readBack bool) (answers []string, dump string) {
		clock := testfix.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 987654321, time.UTC))
		mappingTOML := legacyapp.UsersMapping("", `title = "title"`, `nick = "nickName"`,
			`score = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"`)
		store, db, _ := testfix.Store(t, 4, schema, mappingTOML, mysql.Options{Now: clock.Now, Rand: rand.NewChaCha8([32]byte{9})})
		if trigger != "" {
			if _, err := db.Exec(trigger); err != nil {
				t.Fatal(err)
			}
		}
		if readBack {
			mysql.ReadBackWrites(store)
		}
		ctx := context.Background()
		u, err := store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},
			"title":"Boss","nickName":"ann",`+fmt.Sprintf(cc, "7")+`}`))
		if err != nil {
			t.Fatal(err)
		}
		for i, change := range updates {
			clock.Advance(1234567 * time.Microsecond)
			got, err := store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
				change(cur)
				return cur, nil
			})
			if err != nil {
				t.Fatalf("update %d: %v", i, err)
			}
			answers = append(answers, fmt.Sprint(got))
		}
		return answers, dumpTables(t, db, "users", "scim_users", "scim_user_values", "scim_user_written", "scim_audit", "scim_outbox")
	}
	plain := legacyapp.UsersTable("title VARCHAR(40) NULL", "nick CHAR(20) NULL", "score DECIMAL(6,2) NULL")
	precise := strings.Replace(plain, "updated_at DATETIME NULL", "updated_at DATETIME(3) NULL", 1)
	for _, c := range []struct{ name, schema, trigger, want string }{
		{"DATETIME", plain, "", "updated_at=2026-11-23 12:00:08 +0000 UTC"},
		{"DATETIME(3)", precise, "", "updated_at=2026-11-23 12:00:08.395 +0000 UTC"},
		{"trigger", plain, "CREATE TRIGGER shout BEFORE UPDATE ON users FOR EACH ROW SET NEW.display_name = UPPER(NEW.display_name)", "display_name=THE BOSS"},
	} {
		known, knownRows := run(c.schema, c.trigger, false)
		readBack, readBackRows := run(c.schema, c.trigger, true)
		for i := range known {
			if known[i] != readBack[i] {
				t.Errorf("%s: update %d answered\n%s\nfrom the writes, and\n%s\nread back", c.name, i, known[i], readBack[i])
			}
		}
		if knownRows != readBackRows {
			t.Errorf("%s: the rows differ:\nfrom the writes\n%s\nread back\n%s", c.name, knownRows, readBackRows)
		}
		for _, want := range []string{c.want, "title=Lead   ", "score=12.50"} {
			if !strings.Contains(knownRows, want) {
				t.Errorf("%s: the rows have no %q:\n%s", c.name, want, knownRows)
			}
		}
	}
}

// The table's definition is read again after a minute: a trigger the app adds while scimbridge runs
// turns the updates' known rows into read-backs, so its effect shows in the answer.
func TestUpdateSeesATriggerAddedLater(t *testing.T) {
	clock := testfix.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	store, db, _ := testfix.Store(t, 4, legacyapp.UsersTable(), usersTOML, mysql.Options{Now: clock.Now})
	ctx := context.Background()
	u, err := store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com","name":{"givenName":"Ann","familyName":"Lee"}}`))
	if err != nil {
		t.Fatal(err)
	}
	rename := func(name string) scim.Resource {
		t.Helper()
		got, err := store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
			cur["displayName"] = name
			return cur, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	rename("Ann")
	if _, err := db.Exec("CREATE TRIGGER shout BEFORE UPDATE ON users FOR EACH ROW SET NEW.display_name = UPPER(NEW.display_name)"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if got := rename("Boss"); got["displayName"] != "BOSS" {
		t.Errorf("displayName %v after the trigger; want BOSS, as the app row holds it", got["displayName"])
	}
}

// The table's definition is read on the update's own connection: with a pool of one, an update that
// asked the pool for another would wait for itself.
func TestUpdateOnAPoolOfOne(t *testing.T) {
	store, _, _ := testfix.Store(t, 1, legacyapp.UsersTable(), usersTOML, mysql.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["active"] = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
}
