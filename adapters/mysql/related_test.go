package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// contactsSchema keeps emails and phone numbers in one table told apart by channel, with foreign keys
// that do not cascade, so that deleting a user needs its side rows gone first.
const contactsSchema = `
CREATE TABLE people (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login VARCHAR(191) NOT NULL UNIQUE,
  given VARCHAR(100) NULL,
  active TINYINT(1) NOT NULL DEFAULT 1
) ENGINE=InnoDB;
CREATE TABLE contacts (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  person_id INT NOT NULL,
  channel VARCHAR(10) NOT NULL,
  val VARCHAR(191) NOT NULL,
  main TINYINT(1) NOT NULL DEFAULT 0,
  KEY val (val),
  CONSTRAINT contacts_person FOREIGN KEY (person_id) REFERENCES people (id)
) ENGINE=InnoDB;
CREATE TABLE person_profile (
  person_id INT NOT NULL PRIMARY KEY,
  title VARCHAR(100) NULL,
  CONSTRAINT profile_person FOREIGN KEY (person_id) REFERENCES people (id)
) ENGINE=InnoDB;
CREATE TABLE person_meta (
  person_id INT NOT NULL,
  k VARCHAR(50) NOT NULL,
  v TEXT NULL,
  PRIMARY KEY (person_id, k),
  CONSTRAINT meta_person FOREIGN KEY (person_id) REFERENCES people (id)
) ENGINE=InnoDB;
`

const contactsTOML = `
table = "people"
on_delete = "delete"
[columns]
login = "userName"
given = "name.givenName"
active = "active"
[[lists]]
attribute = "emails"
table = "contacts"
foreign_key = "person_id"
scope = { channel = "email" }
columns = { val = "value", main = "primary" }
[[lists]]
attribute = "phoneNumbers"
table = "contacts"
foreign_key = "person_id"
scope = { channel = "phone" }
columns = { val = "value" }
[[tables]]
table = "person_profile"
foreign_key = "person_id"
columns = { title = "title" }
[[keyvalue]]
table = "person_meta"
foreign_key = "person_id"
key_column = "k"
value_column = "v"
keys = { nick = "nickName" }
`

func newContacts(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, contactsSchema, contactsTOML)
}

// contactRows lists a person's contacts as "channel:val[:main]", in id order.
func contactRows(t *testing.T, f *fixture, person any) string {
	t.Helper()
	var rows []string
	if err := f.db.Select(&rows, "SELECT CONCAT(channel, ':', val, IF(main, ':main', '')) FROM contacts WHERE person_id = ? ORDER BY id", person); err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows, " ")
}

func TestListsSharingATableByScope(t *testing.T) {
	f := newContacts(t)
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann","emails":[{"value":"ann@x","primary":true}],
		"phoneNumbers":[{"value":"+1 555"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var person int64
	if err := f.db.Get(&person, "SELECT id FROM people WHERE login = 'ann'"); err != nil {
		t.Fatal(err)
	}
	// The app keeps a fax in the same table: a channel no list manages.
	if _, err := f.db.Exec("INSERT INTO contacts (person_id, channel, val) VALUES (?, 'fax', '+1 556')", person); err != nil {
		t.Fatal(err)
	}
	if got, want := contactRows(t, f, person), "email:ann@x:main phone:+1 555 fax:+1 556"; got != want {
		t.Fatalf("after create: %s, want %s", got, want)
	}

	// Replacing the phone numbers touches the phone rows only.
	if _, err := f.store.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["phoneNumbers"] = []any{map[string]any{"value": "+1 777"}}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := contactRows(t, f, person), "email:ann@x:main fax:+1 556 phone:+1 777"; got != want {
		t.Errorf("after replacing phones: %s, want %s", got, want)
	}
	got, err := f.store.GetUser(ctx, u["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["phoneNumbers"]) != "[map[value:+1 777]]" || fmt.Sprint(got["emails"]) != "[map[primary:true value:ann@x]]" {
		t.Errorf("read back: phones %v, emails %v", got["phoneNumbers"], got["emails"])
	}

	// A phone filter does not match an email with the same text, nor the app's fax.
	for filter, want := range map[string]int{
		`phoneNumbers.value eq "+1 777"`: 1,
		`emails.value eq "+1 777"`:       0,
		`phoneNumbers.value eq "+1 556"`: 0,
		`emails[primary eq true]`:        1,
		`phoneNumbers[primary eq true]`:  0, // the phone list maps no primary
	} {
		if n := countUsers(t, f, filter); n != want {
			t.Errorf("%s: %d users, want %d", filter, n, want)
		}
	}
}

func countUsers(t *testing.T, f *fixture, filter string) int {
	t.Helper()
	expr, err := scim.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.store.ListUsers(context.Background(), scim.ListQuery{Filter: expr, StartIndex: 1, Count: 10})
	if err != nil {
		t.Fatalf("%s: %v", filter, err)
	}
	return page.Total
}

// With on_delete = "delete" the user's side rows go first, so foreign keys without ON DELETE CASCADE do
// not block the delete; a row the app keeps for the user (a fax) does, and then nothing is deleted.
func TestDeleteRemovesManagedSideRowsFirst(t *testing.T) {
	f := newContacts(t)
	ctx := context.Background()
	full := `{"userName":"%s","nickName":"n","title":"t","emails":[{"value":"%[1]s@x"}],"phoneNumbers":[{"value":"1"}]}`
	ann, err := f.store.CreateUser(ctx, resource(t, fmt.Sprintf(full, "ann")))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.store.CreateUser(ctx, resource(t, fmt.Sprintf(full, "bob")))
	if err != nil {
		t.Fatal(err)
	}
	counts := func() string {
		var n [4]int
		for i, table := range []string{"people", "contacts", "person_profile", "person_meta"} {
			if err := f.db.Get(&n[i], "SELECT COUNT(*) FROM "+table); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprint(n)
	}
	if got := counts(); got != "[2 4 2 2]" {
		t.Fatalf("rows before: %s", got)
	}
	if err := f.store.DeleteUser(ctx, ann["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got != "[1 2 1 1]" {
		t.Errorf("rows after deleting ann: %s, want bob's only", got)
	}

	if _, err := f.db.Exec("INSERT INTO contacts (person_id, channel, val) SELECT id, 'fax', '2' FROM people WHERE login = 'bob'"); err != nil {
		t.Fatal(err)
	}
	err = f.store.DeleteUser(ctx, bob["id"].(string), nil)
	var se *scim.Error
	if !errors.As(err, &se) || se.Status != http.StatusConflict {
		t.Fatalf("deleting bob with an app row referring to him: got %v, want 409", err)
	}
	if got := counts(); got != "[1 3 1 1]" {
		t.Errorf("rows after the refused delete: %s, want everything kept", got)
	}
	if _, err := f.store.GetUser(ctx, bob["id"].(string)); err != nil {
		t.Errorf("bob after the refused delete: %v", err)
	}
}

// A user deleted through SCIM and created again comes back as the new POST describes it: side values the
// POST no longer has are cleared, as a PUT would.
func TestRecreateRewritesSidePlacementsLikePUT(t *testing.T) {
	f := newContacts(t)
	f.store = mysql.New(f.db, compileContacts(t, strings.Replace(contactsTOML, `on_delete = "delete"`, `on_delete = "deactivate"`, 1)), mysql.Options{})
	ctx := context.Background()
	first, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann","nickName":"n","title":"t","emails":[{"value":"a@x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteUser(ctx, first["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	again, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann","emails":[{"value":"b@x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if again["nickName"] != nil || again["title"] != nil || fmt.Sprint(again["emails"]) != "[map[value:b@x]]" {
		t.Errorf("re-created user: %v", again)
	}
	var meta, people int
	_ = f.db.Get(&meta, "SELECT COUNT(*) FROM person_meta")
	_ = f.db.Get(&people, "SELECT COUNT(*) FROM people")
	if meta != 0 || people != 1 {
		t.Errorf("person_meta rows %d (want 0), people rows %d (want 1: the same row re-linked)", meta, people)
	}
}

func compileContacts(t *testing.T, text string) *mapping.Users {
	t.Helper()
	return testfix.Users(t, text)
}

// A text key the app wrote into a side table in another case still belongs to the user under a
// case-insensitive collation: the row is read as the user's, not dropped (nor a crash).
func TestSideRowWithKeyInAnotherCase(t *testing.T) {
	f := newFixtureWith(t, `
CREATE TABLE accts (code VARCHAR(20) NOT NULL PRIMARY KEY, login VARCHAR(191) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE acct_meta (code VARCHAR(20) NOT NULL, k VARCHAR(20) NOT NULL, v TEXT NULL, PRIMARY KEY (code, k)) ENGINE=InnoDB;
`, `
table = "accts"
key = "code"
key_generation = { random_length = 12, alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ" }
on_delete = "delete"
[columns]
login = "userName"
[[keyvalue]]
table = "acct_meta"
foreign_key = "code"
key_column = "k"
value_column = "v"
keys = { nick = "nickName" }
`)
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec("INSERT INTO acct_meta (code, k, v) SELECT LOWER(code), 'nick', 'annie' FROM accts"); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.GetUser(ctx, u["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if got["nickName"] != "annie" {
		t.Errorf("nickName = %v, want the app's row read back", got["nickName"])
	}
}
