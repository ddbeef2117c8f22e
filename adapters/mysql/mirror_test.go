package mysql_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// mirrorTables are the app's groups: teams (auto_increment key, unique name) and team_members, whose
// foreign keys have no cascade, so scimbridge must delete in the right order.
const mirrorTables = `
CREATE TABLE teams (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  ext_id VARCHAR(100) NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY name (name)
) ENGINE=InnoDB;
CREATE TABLE team_members (
  team_id INT NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (team_id, user_id),
  KEY user_id (user_id),
  CONSTRAINT team_members_team FOREIGN KEY (team_id) REFERENCES teams (id),
  CONSTRAINT team_members_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB;
`

const teamsMirror = `
[mirror]
table = "teams"
name = "name"
external_id = "ext_id"
members_table = "team_members"
member_group = "team_id"
member_user = "user_id"
`

func compileMirror(t *testing.T, text string) *mapping.GroupMirror {
	t.Helper()
	return testfix.Groups(t, text).MirrorMapping()
}

type mirrorFixture struct {
	*roleFixture
	dsn   string
	users *mapping.Users
}

// newMirrorFixture builds a store mirroring groups into the app's tables (mirrorTOML "" for none).
func newMirrorFixture(t *testing.T, schema, usersText, mirrorTOML string) *mirrorFixture {
	t.Helper()
	dsn, db := testfix.DB(t, 10, "", schema)
	f := &mirrorFixture{roleFixture: &roleFixture{db: db}, dsn: dsn, users: testfix.Users(t, usersText)}
	f.store = f.with(mirrorTOML, t)
	return f
}

// with is another store on the same database, with another mirror configuration.
func (f *mirrorFixture) with(mirrorTOML string, t *testing.T) *mysql.Store {
	var gm *mapping.GroupMirror
	if mirrorTOML != "" {
		gm = compileMirror(t, mirrorTOML)
	}
	return mysql.New(f.db, f.users, mysql.Options{GroupMirror: gm})
}

// appGroupKey is the app key scimbridge recorded for a group ("" when not mirrored).
func appGroupKey(t *testing.T, db *sqlx.DB, g string) string {
	t.Helper()
	var k *string
	if err := db.Get(&k, "SELECT app_key FROM scim_groups WHERE id = ?", g); err != nil {
		t.Fatal(err)
	}
	if k == nil {
		return ""
	}
	return *k
}

func teamMembers(t *testing.T, db *sqlx.DB, team string) []int64 {
	t.Helper()
	keys := []int64{}
	if err := db.Select(&keys, "SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id", team); err != nil {
		t.Fatal(err)
	}
	return keys
}

func teamName(t *testing.T, db *sqlx.DB, team string) string {
	t.Helper()
	var names []string
	if err := db.Select(&names, "SELECT name FROM teams WHERE id = ?", team); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		return "<none>"
	}
	return names[0]
}

func rename(name string) func(scim.Resource) (scim.Resource, error) {
	return func(cur scim.Resource) (scim.Resource, error) {
		cur["displayName"] = name
		return cur, nil
	}
}

func TestMirrorStoreLifecycle(t *testing.T) {
	f := newMirrorFixture(t, appSchema+mirrorTables, "on_delete = \"delete\"\n"+usersTOML, teamsMirror)
	ctx := context.Background()
	a, ka := f.user(t, "ma")
	b, kb := f.user(t, "mb")
	g := f.group(t, "Crew", a, b)
	team := appGroupKey(t, f.db, g)
	if team == "" || teamName(t, f.db, team) != "Crew" {
		t.Fatalf("app group %q named %q", team, teamName(t, f.db, team))
	}
	if got := teamMembers(t, f.db, team); !reflect.DeepEqual(got, []int64{ka, kb}) {
		t.Errorf("members %v, want %v", got, []int64{ka, kb})
	}
	if _, err := f.store.UpdateGroup(ctx, g, rename("Crew 2"), scim.MemberChange{Remove: []string{a}}, false); err != nil {
		t.Fatal(err)
	}
	if teamName(t, f.db, team) != "Crew 2" || !reflect.DeepEqual(teamMembers(t, f.db, team), []int64{kb}) {
		t.Errorf("after rename and remove: %q %v", teamName(t, f.db, team), teamMembers(t, f.db, team))
	}
	// The user's hard delete needs its member rows gone first (the foreign key has no cascade).
	if err := f.store.DeleteUser(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	if got := teamMembers(t, f.db, team); len(got) != 0 {
		t.Errorf("deleted user's rows: %v", got)
	}
	if err := f.store.DeleteGroup(ctx, g, nil); err != nil {
		t.Fatal(err)
	}
	if teamName(t, f.db, team) != "<none>" {
		t.Error("team row left after delete")
	}
}

// A group created before the mirror was configured, or whose app row the app deleted, is mirrored with
// its current members at its next change.
func TestMirrorCatchesUpUnmirroredGroups(t *testing.T) {
	f := newMirrorFixture(t, appSchema+mirrorTables, usersTOML, "")
	ctx := context.Background()
	a, ka := f.user(t, "ca")
	b, kb := f.user(t, "cb")
	c, kc := f.user(t, "cc")
	g := f.group(t, "Old", a, b)
	if appGroupKey(t, f.db, g) != "" {
		t.Fatal("mirrored without a mirror")
	}
	f.store = f.with(teamsMirror, t)
	// Deleting a user in an unmirrored group touches nothing of the app's.
	if err := f.store.DeleteUser(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateGroup(ctx, g, keep, scim.MemberChange{Add: []scim.Member{{Value: c}}}, false); err != nil {
		t.Fatal(err)
	}
	team := appGroupKey(t, f.db, g)
	if team == "" || teamName(t, f.db, team) != "Old" || !reflect.DeepEqual(teamMembers(t, f.db, team), []int64{ka, kc}) {
		t.Fatalf("caught up: team %q %q %v", team, teamName(t, f.db, team), teamMembers(t, f.db, team))
	}
	// The app deletes the row itself: the next change brings it back.
	f.db.MustExec("DELETE FROM team_members WHERE team_id = ?", team)
	f.db.MustExec("DELETE FROM teams WHERE id = ?", team)
	if _, err := f.store.UpdateGroup(ctx, g, rename("Renewed"), scim.MemberChange{}, false); err != nil {
		t.Fatal(err)
	}
	again := appGroupKey(t, f.db, g)
	if again == team || teamName(t, f.db, again) != "Renewed" || !reflect.DeepEqual(teamMembers(t, f.db, again), []int64{ka, kc}) {
		t.Errorf("recreated: team %q (was %q) %q %v", again, team, teamName(t, f.db, again), teamMembers(t, f.db, again))
	}
	_ = kb
}

// The app's unique group name is a 409 that says where, and the group is not created.
func TestMirrorDuplicateAppGroupName(t *testing.T) {
	f := newMirrorFixture(t, appSchema+mirrorTables, usersTOML, teamsMirror)
	ctx := context.Background()
	f.db.MustExec("INSERT INTO teams (name) VALUES ('Ops')")
	_, err := f.store.CreateGroup(ctx, scim.Resource{"schemas": []any{scim.GroupSchema}, "displayName": "Ops"}, nil)
	if e := scim.AsError(err); e.Status != 409 || !strings.Contains(e.Detail, `table "teams"`) {
		t.Fatalf("duplicate name: %v", err)
	}
	var n int
	_ = f.db.Get(&n, "SELECT COUNT(*) FROM scim_groups")
	if n != 0 {
		t.Errorf("%d groups after a refused create", n)
	}
	g := f.group(t, "Dev")
	_, err = f.store.UpdateGroup(ctx, g, rename("Ops"), scim.MemberChange{}, false)
	if e := scim.AsError(err); e.Status != 409 {
		t.Errorf("rename onto an app name: %v", err)
	}
	// The app refers to the team elsewhere (RESTRICT): deleting the group is refused, not half-done.
	f.db.MustExec("CREATE TABLE projects (id INT PRIMARY KEY, team_id INT NOT NULL, FOREIGN KEY (team_id) REFERENCES teams (id)) ENGINE=InnoDB")
	f.db.MustExec("INSERT INTO projects VALUES (1, ?)", appGroupKey(t, f.db, g))
	if e := scim.AsError(f.store.DeleteGroup(ctx, g, nil)); e.Status != 409 || !strings.Contains(e.Detail, "refer to this group") {
		t.Errorf("delete of a referenced team: %v", e)
	}
	if _, err := f.store.GetGroup(ctx, g, false); err != nil {
		t.Errorf("group gone after a refused delete: %v", err)
	}
}

// UUID group keys made by scimbridge, and text user keys.
func TestMirrorUUIDKeys(t *testing.T) {
	schema := "CREATE TABLE accounts (`uid` CHAR(36) NOT NULL PRIMARY KEY, login VARCHAR(190) NOT NULL UNIQUE) ENGINE=InnoDB;\n" +
		"CREATE TABLE grp (gid CHAR(36) NOT NULL PRIMARY KEY, label VARCHAR(100) NOT NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE grp_users (gid CHAR(36) NOT NULL, `uid` CHAR(36) NOT NULL, UNIQUE KEY pair (`uid`, gid)) ENGINE=InnoDB;\n"
	users := `
table = "accounts"
key = "uid"
key_generation = "uuid"
on_delete = "delete"
[columns]
login = "userName"
`
	f := newMirrorFixture(t, schema, users, `
[mirror]
table = "grp"
key = "gid"
key_generation = "uuid"
name = "label"
members_table = "grp_users"
member_group = "gid"
member_user = "uid"
`)
	ctx := context.Background()
	var ids, keys []string
	for _, n := range []string{"u1", "u2", "u3"} {
		r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"`+n+`@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		var k string
		_ = f.db.Get(&k, "SELECT app_key FROM scim_users WHERE id = ?", r["id"])
		ids, keys = append(ids, r["id"].(string)), append(keys, k)
	}
	g := f.group(t, "Team", ids[0], ids[1])
	gid := appGroupKey(t, f.db, g)
	if len(gid) != 36 {
		t.Fatalf("app group key %q", gid)
	}
	members := func() []string {
		out := []string{}
		_ = f.db.Select(&out, "SELECT `uid` FROM grp_users WHERE gid = ? ORDER BY `uid`", gid)
		return out
	}
	if got, want := members(), sortedStrings(keys[0], keys[1]); !reflect.DeepEqual(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if _, err := f.store.UpdateGroup(ctx, g, keep, scim.MemberChange{Replace: true, Add: membersOf(ids[1:])}, false); err != nil {
		t.Fatal(err)
	}
	if got, want := members(), sortedStrings(keys[1], keys[2]); !reflect.DeepEqual(got, want) {
		t.Errorf("after replace %v, want %v", got, want)
	}
}

func sortedStrings(s ...string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func TestCheckGroupMirror(t *testing.T) {
	check := func(schema, mirrorTOML string) schemacheck.Report {
		t.Helper()
		db, err := mysql.Open(testdb.New(t, appSchema+schema), 2)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rep, err := schemacheck.CheckGroupMirror(context.Background(), db, compileMirror(t, mirrorTOML))
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := check(mirrorTables, teamsMirror); len(rep.Problems)+len(rep.Warnings) != 0 {
		t.Errorf("the good schema: %+v", rep)
	}
	rep := check("", teamsMirror)
	if want := []string{`groups.mirror.table: table "teams" does not exist`, `groups.mirror.members_table: table "team_members" does not exist`}; !containsAll(rep.Problems, want) {
		t.Errorf("missing tables: %q", rep.Problems)
	}
	rep = check(`
CREATE TABLE teams (id CHAR(10) NOT NULL, title VARCHAR(10) NOT NULL, owner INT NOT NULL, ext_id INT NULL) ENGINE=InnoDB;
CREATE TABLE team_members (team_id INT NOT NULL, member INT NOT NULL, added_by INT NOT NULL) ENGINE=InnoDB;
`, teamsMirror)
	want := []string{
		`groups.mirror.key_generation = "auto_increment" but teams.id is not AUTO_INCREMENT`,
		`groups.mirror.key: teams.id is neither the primary key nor a single-column unique key`,
		`groups.mirror.name: column teams.name does not exist`,
		`groups.mirror.external_id: teams.ext_id is int, but the mirror writes text`,
		`teams.owner is NOT NULL without a default`,
		`teams.title is NOT NULL without a default`,
		`groups.mirror.member_user: column team_members.user_id does not exist`,
		`team_members.added_by is NOT NULL without a default`,
		`team_members.member is NOT NULL without a default`,
	}
	if !containsAll(rep.Problems, want) || len(rep.Problems) != len(want) {
		t.Errorf("problems:\n%s", strings.Join(rep.Problems, "\n"))
	}
	if !containsAll(rep.Warnings, []string{"team_members has no unique key on (team_id, user_id)", "team_members.team_id has no index"}) {
		t.Errorf("warnings: %q", rep.Warnings)
	}
	rep = check(`
CREATE TABLE teams (id CHAR(20) NOT NULL PRIMARY KEY, name VARCHAR(10) NOT NULL, ext_id TEXT NULL) ENGINE=InnoDB;
CREATE TABLE team_members (team_id CHAR(36) NOT NULL, user_id INT NOT NULL, KEY team (team_id)) ENGINE=InnoDB;
`, strings.Replace(teamsMirror, "[mirror]", "[mirror]\nkey_generation = \"uuid\"", 1))
	if !containsAll(rep.Problems, []string{"groups.mirror.key: teams.id holds 20 characters but UUIDs have 36"}) || len(rep.Problems) != 1 {
		t.Errorf("uuid problems: %q", rep.Problems)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "no unique key") {
		t.Errorf("uuid warnings: %q", rep.Warnings)
	}
	if rep, err := schemacheck.CheckGroupMirror(context.Background(), nil, nil); err != nil || len(rep.Problems)+len(rep.Warnings) != 0 {
		t.Errorf("nil mirror: %+v %v", rep, err)
	}
}

// containsAll reports whether every want is a substring of some line.
func containsAll(lines, want []string) bool {
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Concurrent user deletions and membership changes keep the app's member rows equal to the memberships.
func TestMirrorChurnStaysConsistent(t *testing.T) {
	f := newMirrorFixture(t, appSchema+mirrorTables, usersTOML, teamsMirror)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var users []string
	for i := 0; i < 20; i++ {
		id, _ := f.user(t, fmt.Sprintf("mc%02d", i))
		users = append(users, id)
	}
	groups := []string{f.group(t, "C1", users...), f.group(t, "C2", users...), f.group(t, "C3")}
	errs := make(chan error, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10; i++ {
			if err := f.store.DeleteUser(ctx, users[i], nil); err != nil {
				errs <- fmt.Errorf("delete %d: %w", i, err)
			}
		}
	}()
	for round := 0; round < 5; round++ {
		for _, g := range groups {
			change := scim.MemberChange{Remove: users[10+round : 12+round], Add: membersOf(users[15+round%5 : 16+round%5])}
			if _, err := f.store.UpdateGroup(ctx, g, keep, change, false); err != nil {
				errs <- err
			}
		}
	}
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var diff int
	if err := f.db.Get(&diff, `SELECT
		(SELECT COUNT(*) FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id JOIN scim_users b ON b.id = gm.user_id
			LEFT JOIN team_members tm ON tm.team_id = g.app_key AND tm.user_id = b.app_id WHERE tm.user_id IS NULL) +
		(SELECT COUNT(*) FROM team_members tm JOIN scim_groups g ON g.app_key = tm.team_id JOIN scim_users b ON b.app_id = tm.user_id
			LEFT JOIN scim_group_members gm ON gm.group_id = g.id AND gm.user_id = b.id WHERE gm.user_id IS NULL)`); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("%d differences between memberships and the app's member rows", diff)
	}
}
