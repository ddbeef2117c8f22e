package mysql_test

import (
	"context"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/mapping"
)

// principals is a table the app shares between kinds of rows (Redmine's STI users table): a group row is
// one with type = 'Group', and type has no default.
const principalsTables = `
CREATE TABLE principals (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lastname VARCHAR(100) NOT NULL,
  type VARCHAR(30) NOT NULL,
  status INT NOT NULL DEFAULT 0
) ENGINE=InnoDB;
CREATE TABLE groups_users (
  group_id INT NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (group_id, user_id)
) ENGINE=InnoDB;
`

const principalsMirror = `
[mirror]
table = "principals"
name = "lastname"
members_table = "groups_users"
member_group = "group_id"
member_user = "user_id"
on_insert = { type = "Group", status = 1 }
`

func TestMirrorOnInsertConstants(t *testing.T) {
	f := newMirrorFixture(t, appSchema+principalsTables, usersTOML, principalsMirror)
	id, _ := f.user(t, "ann")
	g := f.group(t, "Staff", id)
	var row struct {
		Name   string `db:"lastname"`
		Type   string `db:"type"`
		Status int    `db:"status"`
	}
	if err := f.db.Get(&row, "SELECT lastname, type, status FROM principals WHERE id = ?", appGroupKey(t, f.db, g)); err != nil {
		t.Fatal(err)
	}
	if row.Name != "Staff" || row.Type != "Group" || row.Status != 1 {
		t.Errorf("the app's group row: %+v, want Staff, Group, 1", row)
	}
	if got := teamMembersOf(t, f, g); got != 1 {
		t.Errorf("members: %d, want 1", got)
	}
	// check: the constant satisfies the NOT NULL type column; a constant into a missing column fails.
	db, err := mysql.Open(testdb.New(t, appSchema+principalsTables), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := schemacheck.CheckGroupMirror(context.Background(), db, compileMirror(t, principalsMirror))
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("check of the good mirror: %q, %v", rep.Problems, err)
	}
	rep, _ = schemacheck.CheckGroupMirror(context.Background(), db, compileMirror(t, strings.Replace(principalsMirror, "status = 1", "kind = 1", 1)))
	if !containsAll(rep.Problems, []string{"groups.mirror.on_insert.kind: column principals.kind does not exist"}) {
		t.Errorf("check of a missing on_insert column: %q", rep.Problems)
	}
	rep, _ = schemacheck.CheckGroupMirror(context.Background(), db, compileMirror(t, strings.Replace(principalsMirror, "type = \"Group\", ", "", 1)))
	if !containsAll(rep.Problems, []string{"principals.type is NOT NULL without a default"}) {
		t.Errorf("check without the type constant: %q", rep.Problems)
	}
}

func TestMirrorOnInsertRefusals(t *testing.T) {
	for text, want := range map[string]string{
		strings.Replace(principalsMirror, "status = 1", "lastname = 1", 1): `on_insert.lastname: column "lastname" of table is already groups.mirror.name`,
		strings.Replace(principalsMirror, "status = 1", "status = [1]", 1): "on_insert.status must be a string, number or boolean",
	} {
		var gc mapping.GroupsConfig
		if _, err := toml.Decode(text, &gc); err != nil {
			t.Fatal(err)
		}
		if _, err := mapping.CompileGroups(&gc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", text, err, want)
		}
	}
}

func teamMembersOf(t *testing.T, f *mirrorFixture, g string) (n int) {
	t.Helper()
	if err := f.db.Get(&n, "SELECT COUNT(*) FROM groups_users WHERE group_id = ?", appGroupKey(t, f.db, g)); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMirrorOnInsertKeywords: the keywords of [users.columns] in the mirror's on_insert (Redmine's
// created_on), made from the store's clock and randomness: two runs from the same seed write the same row.
func TestMirrorOnInsertKeywords(t *testing.T) {
	schema := appSchema + strings.Replace(principalsTables, "status INT NOT NULL DEFAULT 0",
		"status INT NOT NULL DEFAULT 0, created_on DATETIME NOT NULL, stamp BIGINT NOT NULL, stamp_ms BIGINT NOT NULL, guid CHAR(36) NOT NULL, note VARCHAR(10) NULL DEFAULT 'app'", 1)
	text := strings.Replace(principalsMirror, "status = 1", `status = 1, created_on = "now", stamp = "now_unix", stamp_ms = "now_unix_ms", guid = "uuid", note = "null"`, 1)
	at := time.Date(2026, 12, 3, 18, 4, 5, 0, time.UTC)
	type groupRow struct {
		Type    string  `db:"type"`
		Created string  `db:"created_on"`
		Stamp   int64   `db:"stamp"`
		StampMS int64   `db:"stamp_ms"`
		GUID    string  `db:"guid"`
		Note    *string `db:"note"`
	}
	run := func() groupRow {
		f := newMirrorFixture(t, schema, usersTOML, "")
		f.store = mysql.New(f.db, f.users, mysql.Options{GroupMirror: compileMirror(t, text), Now: func() time.Time { return at },
			Rand: mrand.NewChaCha8([32]byte{7})})
		id, _ := f.user(t, "ann")
		g := f.group(t, "Staff", id)
		var row groupRow
		if err := f.db.Get(&row, "SELECT type, CAST(created_on AS CHAR) AS created_on, stamp, stamp_ms, guid, note FROM principals WHERE id = ?", appGroupKey(t, f.db, g)); err != nil {
			t.Fatal(err)
		}
		return row
	}
	row := run()
	if row.Type != "Group" || row.Created != "2026-12-03 18:04:05" || row.Stamp != at.Unix() || row.StampMS != at.UnixMilli() || row.Note != nil {
		t.Errorf("the app's group row: %+v (note %v), want Group, 2026-12-03 18:04:05, %d, %d, NULL", row, row.Note, at.Unix(), at.UnixMilli())
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(row.GUID) {
		t.Errorf("guid %q is not a random UUID", row.GUID)
	}
	if again := run(); again.GUID != row.GUID {
		t.Errorf("guid %q, then %q from the same randomness: not made from the store's source", row.GUID, again.GUID)
	}
}
