package agent_test

// [groups.mirror] end to end: every group change over HTTP is checked in the app's own teams and
// team_members tables, beside scimbridge's bookkeeping.

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// mirrorSchemaExtra is the app's groups: the foreign keys have no cascade, so scimbridge must delete
// member rows before the rows they refer to.
const mirrorSchemaExtra = `
CREATE TABLE teams (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  ext_id VARCHAR(100) NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
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

const mirrorTOML = `
[mirror]
table = "teams"
key = "id"
name = "name"
external_id = "ext_id"
members_table = "team_members"
member_group = "team_id"
member_user = "user_id"
`

// newMirrorE2E is newE2E (with /Groups) whose server's store also mirrors groups into teams and
// team_members. The schema must have those tables (mirrorSchemaExtra).
func newMirrorE2E(t *testing.T, o e2eOptions) *e2eEnv {
	t.Helper()
	o.groups = true
	e := newE2E(t, o)
	m := e2eMapping(t, o.extraTOML)
	groups := testfix.Groups(t, mirrorTOML)
	store := mysql.New(testfix.Open(t, e.dsn, 10), m, mysql.Options{Log: testfix.Log(t), Roles: testfix.Roles(t, o.rolesTOML),
		GroupMirror: groups.MirrorMapping()})
	e.serve(store, m, o, []string{e.token})
	return e
}

// team is the app's teams.id of a SCIM group (0 when it has none).
func (e *e2eEnv) team(groupID string) int64 {
	e.t.Helper()
	var k *string
	if err := e.db.Get(&k, "SELECT app_key FROM scim_groups WHERE id = ?", groupID); err != nil {
		e.t.Fatalf("app key of group %s: %v", groupID, err)
	}
	if k == nil {
		return 0
	}
	n, err := strconv.ParseInt(*k, 10, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// teamRow is the app's row of a team: name and ext_id ("<NULL>"); ok false when there is none.
func (e *e2eEnv) teamRow(team int64) (name, ext string, ok bool) {
	e.t.Helper()
	var rows []struct {
		Name string  `db:"name"`
		Ext  *string `db:"ext_id"`
	}
	if err := e.db.Select(&rows, "SELECT name, ext_id FROM teams WHERE id = ?", team); err != nil {
		e.t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", "", false
	}
	ext = "<NULL>"
	if rows[0].Ext != nil {
		ext = *rows[0].Ext
	}
	return rows[0].Name, ext, true
}

// teamUsers are the user_id values of a team's rows in team_members, sorted.
func (e *e2eEnv) teamUsers(team int64) []int64 {
	e.t.Helper()
	keys := []int64{}
	if err := e.db.Select(&keys, "SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id", team); err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// keysOf are the app keys of SCIM users, plus extra app keys, sorted.
func (e *e2eEnv) keysOf(extra []int64, scimIDs ...string) []int64 {
	e.t.Helper()
	out := append([]int64{}, extra...)
	for _, id := range scimIDs {
		out = append(out, e.appKey(id))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// wantTeam checks a team's member rows: the SCIM users given plus the extra (hand-added) app keys.
func (e *e2eEnv) wantTeam(team int64, what string, extra []int64, scimIDs ...string) {
	e.t.Helper()
	if got, want := e.teamUsers(team), e.keysOf(extra, scimIDs...); !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s: team_members of team %d = %v, want %v", what, team, got, want)
	}
}

// handUser inserts an app user SCIM knows nothing about and returns its key.
func (e *e2eEnv) handUser(email string) int64 {
	e.t.Helper()
	res, err := e.db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES (?, 'x', NOW())", email)
	if err != nil {
		e.t.Fatal(err)
	}
	k, _ := res.LastInsertId()
	return k
}

func TestE2EMirrorGroupLifecycle(t *testing.T) {
	t.Parallel()
	e := newMirrorE2E(t, e2eOptions{appSchema: rolesSchema("", mirrorSchemaExtra)})
	a, b, c, d := e.newUser("ma"), e.newUser("mb"), e.newUser("mc"), e.newUser("md")

	// The app's own team, with rows scimbridge must never touch: a user SCIM does not manage, and a
	// SCIM user added by hand.
	hand := e.handUser("hand@example.com")
	res, err := e.db.Exec("INSERT INTO teams (name) VALUES ('Hand made')")
	if err != nil {
		t.Fatal(err)
	}
	handTeam, _ := res.LastInsertId()
	e.db.MustExec("INSERT INTO team_members (team_id, user_id) VALUES (?, ?), (?, ?)", handTeam, hand, handTeam, e.appKey(a))

	// POST with members: the app row and its member rows.
	r := e.want(e.do("POST", "/Groups", groupBody("Crew", "ext-crew", a, b)), 201, "POST /Groups")
	g := e2eStr(r.Body["id"])
	team := e.team(g)
	if name, ext, ok := e.teamRow(team); !ok || name != "Crew" || ext != "ext-crew" {
		t.Fatalf("app team %d: %q %q %v", team, name, ext, ok)
	}
	e.wantTeam(team, "created", nil, a, b)
	// A user SCIM does not manage, added to the mirrored team by hand, stays through everything below.
	e.db.MustExec("INSERT INTO team_members (team_id, user_id) VALUES (?, ?)", team, hand)
	kept := []int64{hand}

	val := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, `{"value":"`+id+`"}`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	steps := []struct {
		what, ops string
		want      []string
	}{
		{"Entra add", `[{"op":"Add","path":"members","value":` + val(c) + `}]`, []string{a, b, c}},
		{"Entra add again (no-op)", `[{"op":"Add","path":"members","value":` + val(c, a) + `}]`, []string{a, b, c}},
		{"Entra remove members[value eq]", `[{"op":"Remove","path":"members[value eq \"` + a + `\"]"}]`, []string{b, c}},
		{"Entra remove with a value list", `[{"op":"Remove","path":"members","value":` + val(b) + `}]`, []string{c}},
		{"Okta add bare ids", `[{"op":"add","path":"members","value":["` + a + `","` + d + `"]}]`, []string{a, c, d}},
		{"remove all members", `[{"op":"remove","path":"members"}]`, nil},
		{"Okta replace full list", `[{"op":"replace","path":"members","value":` + val(a, b, c) + `}]`, []string{a, b, c}},
		{"Okta replace smaller list", `[{"op":"replace","path":"members","value":` + val(b, d) + `}]`, []string{b, d}},
		{"Okta replace []", `[{"op":"replace","path":"members","value":[]}]`, nil},
		{"Okta no-path replace with id, displayName, members",
			`[{"op":"replace","value":{"id":"` + g + `","displayName":"Okta Crew","members":` + val(a, c) + `}}]`, []string{a, c}},
		{"mixed ops", `[{"op":"add","path":"members","value":` + val(b) + `},{"op":"remove","path":"members[value eq \"` + a + `\"]"}]`, []string{b, c}},
	}
	for _, s := range steps {
		e.want(e.gpatch(g, s.ops), 200, s.what)
		e.wantMembers(g, s.what, s.want...)
		e.wantTeam(team, s.what, kept, s.want...)
	}
	if name, _, _ := e.teamRow(team); name != "Okta Crew" {
		t.Errorf("Okta rename: team name %q", name)
	}

	// Renames and externalId through a path.
	e.want(e.gpatch(g, `[{"op":"replace","path":"displayName","value":"Renamed"}]`), 200, "rename")
	e.want(e.gpatch(g, `[{"op":"replace","path":"externalId","value":"ext-2"}]`), 200, "externalId")
	if name, ext, _ := e.teamRow(team); name != "Renamed" || ext != "ext-2" {
		t.Errorf("after rename: %q %q", name, ext)
	}
	e.want(e.gpatch(g, `[{"op":"remove","path":"externalId"}]`), 200, "remove externalId")
	if _, ext, _ := e.teamRow(team); ext != "<NULL>" {
		t.Errorf("externalId removed: ext_id %q", ext)
	}

	// PUT replaces name and members.
	e.want(e.do("PUT", "/Groups/"+g, groupBody("Put Crew", "ext-put", a, b, d)), 200, "PUT")
	e.wantTeam(team, "PUT", kept, a, b, d)
	if name, ext, _ := e.teamRow(team); name != "Put Crew" || ext != "ext-put" {
		t.Errorf("after PUT: %q %q", name, ext)
	}

	// Deleting a user takes its row out of the mirrored team only: the hand-made team keeps a.
	e.want(e.do("DELETE", "/Users/"+a, nil), 204, "DELETE user a")
	e.wantTeam(team, "user a deleted", kept, b, d)
	if got, want := e.teamUsers(handTeam), e.keysOf([]int64{hand, e.appKey(a)}); !reflect.DeepEqual(got, want) {
		t.Errorf("hand-made team: %v, want %v", got, want)
	}

	// A second group: its rows are its own.
	other := e.newGroup("Other", b)
	e.wantTeam(e.team(other), "other group", nil, b)

	// DELETE: the team and its member rows go; the other teams stay.
	e.want(e.do("DELETE", "/Groups/"+g, nil), 204, "DELETE group")
	if _, _, ok := e.teamRow(team); ok {
		t.Error("the team row outlived its group")
	}
	if rows := e.teamUsers(team); len(rows) != 0 {
		t.Errorf("member rows of a deleted team: %v", rows)
	}
	e.wantTeam(e.team(other), "other group after delete", nil, b)
	if got, want := e.teamUsers(handTeam), e.keysOf([]int64{hand, e.appKey(a)}); !reflect.DeepEqual(got, want) {
		t.Errorf("hand-made team after delete: %v, want %v", got, want)
	}
	if name, _, ok := e.teamRow(handTeam); !ok || name != "Hand made" {
		t.Errorf("hand-made team: %q %v", name, ok)
	}
}

// on_delete = "delete": the app user row goes, so its member rows must go first (the foreign key has no
// cascade), in the same transaction.
func TestE2EMirrorHardDeletedUser(t *testing.T) {
	t.Parallel()
	e := newMirrorE2E(t, e2eOptions{appSchema: rolesSchema("", mirrorSchemaExtra), extraTOML: `on_delete = "delete"`})
	a, b := e.newUser("ha"), e.newUser("hb")
	g1, g2 := e.newGroup("One", a, b), e.newGroup("Two", a)
	ka := e.appKey(a)
	e.want(e.do("DELETE", "/Users/"+a, nil), 204, "DELETE user")
	e.wantTeam(e.team(g1), "One", nil, b)
	e.wantTeam(e.team(g2), "Two", nil)
	var n int
	_ = e.db.Get(&n, "SELECT COUNT(*) FROM team_members WHERE user_id = ?", ka)
	if n != 0 {
		t.Errorf("%d member rows of the deleted user", n)
	}
}

// A failure in the app's member table (a trigger) rolls back everything of the change: memberships,
// roles, the app's rows, the group's version and its events.
func TestE2EMirrorFailureRollsBack(t *testing.T) {
	t.Parallel()
	e := newMirrorE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra+mirrorSchemaExtra), rolesTOML: joinRoles("")})
	ok1, marker, ok2 := e.newUser("ok1"), e.newUser("marker"), e.newUser("ok2")
	admins := e.newGroup("Admins", ok1)
	support := e.newGroup("Support")
	e.wantJoin(ok1, "setup", "admin")
	e.wantTeam(e.team(admins), "setup", nil, ok1)
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_mirror_boom BEFORE INSERT ON team_members FOR EACH ROW
		IF NEW.user_id = ` + itoa(e.appKey(marker)) + ` THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}
	seq := e.lastSeq()
	etag := e.do("GET", "/Groups/"+support, nil).Header.Get("ETag")
	var teams, teamRows int
	count := func() (int, int) {
		var a, b int
		_ = e.db.Get(&a, "SELECT COUNT(*) FROM teams")
		_ = e.db.Get(&b, "SELECT COUNT(*) FROM team_members")
		return a, b
	}
	teams, teamRows = count()

	wantUnchanged := func(what string) {
		t.Helper()
		e.wantMembers(support, what)
		e.wantMembers(admins, what, ok1)
		e.wantJoin(ok1, what, "admin")
		e.wantJoin(ok2, what)
		e.wantJoin(marker, what)
		e.wantTeam(e.team(support), what, nil)
		e.wantTeam(e.team(admins), what, nil, ok1)
		if a, b := count(); a != teams || b != teamRows {
			t.Errorf("%s: teams %d rows %d, want %d %d", what, a, b, teams, teamRows)
		}
		if name, _, _ := e.teamRow(e.team(support)); name != "Support" {
			t.Errorf("%s: team renamed to %q", what, name)
		}
		if get := e.do("GET", "/Groups/"+support, nil); get.Header.Get("ETag") != etag {
			t.Errorf("%s: group version moved: %s -> %s", what, etag, get.Header.Get("ETag"))
		}
		if evs := e.events(seq); len(evs) != 0 {
			t.Errorf("%s: %d events of a rolled-back change", what, len(evs))
		}
	}
	// ok1 and ok2 sort on both sides of the marker: whichever is written first is rolled back.
	r := e.gpatch(support, `[{"op":"replace","path":"displayName","value":"Support 2"},
		{"op":"add","path":"members","value":[{"value":"`+ok1+`"},{"value":"`+marker+`"},{"value":"`+ok2+`"}]}]`)
	e2eWantError(t, r, 500, "")
	if leaks := leaksInternals(r.Raw); len(leaks) > 0 {
		t.Errorf("500 body leaks %v: %s", leaks, r.Raw)
	}
	wantUnchanged("failed PATCH")
	e2eWantError(t, e.do("PUT", "/Groups/"+admins, groupBody("Admins", "", ok1, marker, ok2)), 500, "")
	wantUnchanged("failed PUT")
	e2eWantError(t, e.do("POST", "/Groups", groupBody("Testers", "", ok2, marker)), 500, "")
	wantUnchanged("failed POST")
	var groups int
	_ = e.db.Get(&groups, "SELECT COUNT(*) FROM scim_groups")
	if groups != 2 {
		t.Errorf("%d groups after a failed POST", groups)
	}

	// Deleting a user fails the same way when the app refuses to let its rows go.
	if _, err := e.db.Exec("DROP TRIGGER e2e_mirror_boom"); err != nil {
		t.Fatal(err)
	}
	e.addTo(support, ok1, marker, ok2)
	e.wantTeam(e.team(support), "after PATCH", nil, ok1, marker, ok2)
	e.wantJoin(marker, "after PATCH", "support")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_mirror_boom_del BEFORE DELETE ON team_members FOR EACH ROW
		IF OLD.user_id = ` + itoa(e.appKey(marker)) + ` THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-signal from trigger';
		END IF`); err != nil {
		t.Fatal(err)
	}
	e2eWantError(t, e.do("DELETE", "/Users/"+marker, nil), 500, "")
	e.getUser(marker)
	e.wantMembers(support, "failed user DELETE", ok1, marker, ok2)
	e.wantTeam(e.team(support), "failed user DELETE", nil, ok1, marker, ok2)
	e.wantJoin(marker, "failed user DELETE", "support")
	e2eWantError(t, e.do("DELETE", "/Groups/"+support, nil), 500, "")
	e.wantMembers(support, "failed group DELETE", ok1, marker, ok2)
	e.wantTeam(e.team(support), "failed group DELETE", nil, ok1, marker, ok2)
	e.wantJoin(ok1, "failed group DELETE", "admin", "support")
}

// 10,000 members added in one PATCH, then replaced by none: the mirror follows in batches.
func TestE2EMirrorLargeGroup(t *testing.T) {
	t.Parallel()
	e := newMirrorE2E(t, e2eOptions{appSchema: rolesSchema("", mirrorSchemaExtra)})
	const n = 10000
	// Users are inserted directly (10,000 POSTs would only test POST).
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 1000 {
		var appVals, bookVals []string
		var appArgs []any
		for i := start; i < start+1000; i++ {
			appVals = append(appVals, "(?, 'x', NOW())")
			appArgs = append(appArgs, fmt.Sprintf("big%05d@example.com", i))
		}
		res, err := e.db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES "+strings.Join(appVals, ", "), appArgs...)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := res.LastInsertId() // the first key of a multi-row insert; the rest follow
		var bookArgs []any
		for i := start; i < start+1000; i++ {
			id := uuid.NewString()
			ids = append(ids, id)
			name := fmt.Sprintf("big%05d@example.com", i)
			bookVals = append(bookVals, "(?, ?, ?, ?, 1, 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), '{}')")
			bookArgs = append(bookArgs, id, first+int64(i-start), name, name)
		}
		if _, err := e.db.Exec(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created,
			last_modified, doc) VALUES `+strings.Join(bookVals, ", "), bookArgs...); err != nil {
			t.Fatal(err)
		}
	}
	hand := e.handUser("hand@example.com")
	g := e.newGroup("Big")
	team := e.team(g)
	e.db.MustExec("INSERT INTO team_members (team_id, user_id) VALUES (?, ?)", team, hand)
	vals := make([]string, len(ids))
	for i, id := range ids {
		vals[i] = `{"value":"` + id + `"}`
	}
	start := time.Now()
	e.want(e.do("PATCH", "/Groups/"+g+"?excludedAttributes=members", `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"add","path":"members","value":[`+
		strings.Join(vals, ",")+`]}]}`), 200, "PATCH add 10,000")
	t.Logf("PATCH adding %d members (mirrored): %s", n, time.Since(start))
	count := func() int {
		var c int
		_ = e.db.Get(&c, "SELECT COUNT(*) FROM team_members WHERE team_id = ?", team)
		return c
	}
	if got := count(); got != n+1 {
		t.Errorf("team_members after adding %d: %d rows, want %d", n, got, n+1)
	}
	var wrong int
	_ = e.db.Get(&wrong, `SELECT COUNT(*) FROM scim_group_members gm JOIN scim_users b ON b.id = gm.user_id
		LEFT JOIN team_members tm ON tm.team_id = ? AND tm.user_id = b.app_id WHERE gm.group_id = ? AND tm.user_id IS NULL`, team, g)
	if wrong != 0 {
		t.Errorf("%d members without their app row", wrong)
	}
	start = time.Now()
	e.want(e.gpatch(g, `[{"op":"replace","path":"members","value":[]}]`), 200, "PATCH replace []")
	t.Logf("PATCH removing %d members (mirrored): %s", n, time.Since(start))
	e.wantTeam(team, "replaced by none", []int64{hand})
}
