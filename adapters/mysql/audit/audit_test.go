package audit_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newStore(t *testing.T) (*mysql.Store, *sqlx.DB, *testfix.Clock) { return newStoreB(t) }

func newStoreB(t testing.TB) (*mysql.Store, *sqlx.DB, *testfix.Clock) {
	t.Helper()
	clock := testfix.NewClock(start)
	s, db, _ := testfix.Store(t, 4, legacyapp.UsersTable(legacyapp.RoleColumn), legacyapp.UsersMapping(""),
		mysql.Options{Now: clock.Now, Roles: testfix.Roles(t, legacyapp.ColumnRolesTOML)})
	return s, db, clock
}

func list(t *testing.T, db *sqlx.DB, f audit.Filter) []audit.Record {
	t.Helper()
	recs, err := audit.List(context.Background(), db, bookkeeping.NewTables("", bookkeeping.MySQL), f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func ops(recs []audit.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Operation)
	}
	return out
}

// Every kind of change writes its rows, with the actor and request id of the request, the transaction's
// time, and the before and after of what changed; the password hash is redacted.
func TestEveryKindOfChangeIsAudited(t *testing.T) {
	s, db, clock := newStore(t)
	okta := reqinfo.With(context.Background(), reqinfo.Info{ID: "req-1", Actor: "okta"})

	alice, err := s.CreateUser(okta, scim.Resource{"userName": "alice@example.com", "name": map[string]any{"givenName": "Alice"}, "active": true})
	if err != nil {
		t.Fatal(err)
	}
	id := alice["id"].(string)
	recs := list(t, db, audit.Filter{})
	if got := ops(recs); !reflect.DeepEqual(got, []string{"user.created", "user.roles_changed"}) {
		t.Fatalf("after create: %v", got)
	}
	c := recs[0]
	if c.Actor != "okta" || c.RequestID != "req-1" || !c.At.Equal(start) || c.SCIMID != id || c.Name != "alice@example.com" ||
		c.AppKey == nil || *c.AppKey != "1" {
		t.Fatalf("create row: %+v", c)
	}
	if d := c.Changes.Columns["email"]; d.Before != nil || d.After != "alice@example.com" {
		t.Errorf("email: %+v", d)
	}
	if d := c.Changes.Columns["password_hash"]; d.Before != nil || d.After != audit.Redacted {
		t.Errorf("password_hash must be redacted: %+v", d)
	}
	if r := recs[1].Changes.Roles; r == nil || !reflect.DeepEqual(r.After, []any{"viewer"}) || !reflect.DeepEqual(r.Before, []any{}) {
		t.Errorf("roles: %+v", recs[1].Changes.Roles)
	}

	clock.Advance(time.Minute)
	entra := reqinfo.With(context.Background(), reqinfo.Info{ID: "req-2", Actor: "entra"})
	if _, err := s.UpdateUser(entra, id, func(cur scim.Resource) (scim.Resource, error) {
		cur["name"] = map[string]any{"givenName": "Alicia"}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(entra, scim.Resource{"displayName": "Admins"}, []scim.Member{{Value: id}})
	if err != nil {
		t.Fatal(err)
	}
	gid := g["id"].(string)
	if _, err := s.UpdateGroup(entra, gid, func(cur scim.Resource) (scim.Resource, error) {
		cur["displayName"] = "Support"
		return cur, nil
	}, scim.MemberChange{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(entra, id, func(cur scim.Resource) (scim.Resource, error) {
		cur["active"] = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(entra, id, nil); err != nil {
		t.Fatal(err)
	}

	recs = list(t, db, audit.Filter{Actor: "entra"})
	want := []string{"user.updated", "group.created", "group.members_added", "user.roles_changed", "group.updated",
		"user.roles_changed", "user.deactivated", "group.members_removed", "user.roles_changed", "user.deleted"}
	if got := ops(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("operations:\n got %v\nwant %v", got, want)
	}
	for _, r := range recs {
		if r.RequestID != "req-2" || !r.At.Equal(start.Add(time.Minute)) {
			t.Errorf("%s: request %q at %v", r.Operation, r.RequestID, r.At)
		}
	}
	if d := recs[0].Changes.Columns["first_name"]; d.Before != "Alice" || d.After != "Alicia" {
		t.Errorf("update first_name: %+v", recs[0].Changes.Columns)
	}
	if d := recs[0].Changes.Attributes["name"]; !reflect.DeepEqual(d.Before, map[string]any{"givenName": "Alice"}) ||
		!reflect.DeepEqual(d.After, map[string]any{"givenName": "Alicia"}) {
		t.Errorf("update's attribute name: %+v", recs[0].Changes.Attributes)
	}
	if !reflect.DeepEqual(recs[0].Changes.Changed, []string{"displayName", "name"}) {
		t.Errorf("update changed: %v", recs[0].Changes.Changed)
	}
	if d := recs[1].Changes.Attributes["displayName"]; d.Before != nil || d.After != "Admins" {
		t.Errorf("group created: %+v", recs[1].Changes)
	}
	if m := recs[2]; m.MemberID == nil || *m.MemberID != id || m.Changes.Group == nil || m.Changes.Group.Name != "Admins" {
		t.Errorf("membership row: %+v", m)
	}
	if r := recs[3].Changes.Roles; r == nil || !reflect.DeepEqual(r.Before, []any{"viewer"}) || !reflect.DeepEqual(r.After, []any{"admin"}) {
		t.Errorf("granted: %+v", r)
	}
	if d := recs[4].Changes.Attributes["displayName"]; d.Before != "Admins" || d.After != "Support" {
		t.Errorf("rename: %+v", recs[4].Changes)
	}
	if r := recs[5].Changes.Roles; r == nil || !reflect.DeepEqual(r.After, []any{"support"}) {
		t.Errorf("rename's roles: %+v", r)
	}
	if d := recs[6].Changes.Columns["status"]; d.Before != float64(1) || d.After != float64(3) {
		t.Errorf("deactivated status: %+v", recs[6].Changes.Columns)
	}
	if r := recs[8].Changes.Roles; r == nil || !reflect.DeepEqual(r.After, []any{"viewer"}) {
		t.Errorf("leaving the group: %+v", r)
	}
	if recs[9].Changes.Columns != nil {
		t.Errorf("a DELETE of an inactive user changes no column: %#v", recs[9].Changes.Columns)
	}

	// --user by userName, in another letter case, finds the user's rows and its memberships.
	byUser := list(t, db, audit.Filter{Subject: "ALICE@example.com"})
	if got := ops(byUser); len(got) != 10 || got[0] != "user.created" || !contains(got, "group.members_added") {
		t.Errorf("--user alice: %v", got)
	}
	if got := list(t, db, audit.Filter{Since: start.Add(time.Second), Subject: id}); len(got) != 8 {
		t.Errorf("--since: %d rows: %v", len(got), ops(got))
	}
	checkConsistentWithOutbox(t, db)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkConsistentWithOutbox: every outbox event goes with an audit row, every audit row's events are in
// the outbox, and both carry the same actor.
func checkConsistentWithOutbox(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var events []struct {
		ID      string `db:"event_id"`
		Payload []byte `db:"payload"`
	}
	if err := db.Select(&events, "SELECT event_id, payload FROM scim_outbox"); err != nil {
		t.Fatal(err)
	}
	actors := map[string]string{}
	for _, e := range events {
		var p struct{ Actor string }
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		actors[e.ID] = p.Actor
	}
	seen := map[string]bool{}
	for _, r := range list(t, db, audit.Filter{}) {
		if len(r.Changes.Events) == 0 {
			t.Errorf("audit row %d (%s) names no event", r.ID, r.Operation)
		}
		for _, ev := range r.Changes.Events {
			actor, ok := actors[ev]
			if !ok {
				t.Errorf("audit row %d (%s) names event %s, which is not in the outbox", r.ID, r.Operation, ev)
			}
			if actor != r.Actor {
				t.Errorf("event %s has actor %q, its audit row %q", ev, actor, r.Actor)
			}
			seen[ev] = true
		}
	}
	var missing []string
	for id := range actors {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("outbox events without an audit row: %v", missing)
	}
}

func count(t *testing.T, db *sqlx.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// A change that fails after its audit rows were written (the outbox refuses its event), or while its
// roles are written (before them), leaves no audit row, no event and nothing in the app's table.
func TestRolledBackChangeLeavesNoAuditRow(t *testing.T) {
	s, db, _ := newStore(t)
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "r", Actor: "okta"})
	if _, err := db.Exec(`CREATE TRIGGER outbox_refuses BEFORE INSERT ON scim_outbox FOR EACH ROW
		IF NEW.type = 'user.created' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'outbox refuses'; END IF`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, scim.Resource{"userName": "bob@example.com", "active": true}); err == nil {
		t.Fatal("the create should fail")
	}
	for _, table := range []string{"scim_audit", "scim_outbox", "users", "scim_users"} {
		if n := count(t, db, table); n != 0 {
			t.Errorf("%s has %d rows after a rolled-back create", table, n)
		}
	}
	if _, err := db.Exec("DROP TRIGGER outbox_refuses"); err != nil {
		t.Fatal(err)
	}

	bob, err := s.CreateUser(ctx, scim.Resource{"userName": "bob@example.com", "active": true})
	if err != nil {
		t.Fatal(err)
	}
	before := count(t, db, "scim_audit")
	// The role store fails: the app refuses the admin role.
	if _, err := db.Exec(`CREATE TRIGGER no_admins BEFORE UPDATE ON users FOR EACH ROW
		IF NEW.role = 'admin' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no admins'; END IF`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGroup(ctx, scim.Resource{"displayName": "Admins"}, []scim.Member{{Value: bob["id"].(string)}}); err == nil ||
		!strings.Contains(err.Error(), "no admins") && !strings.Contains(fmtErr(err), "no admins") {
		t.Fatalf("the group create should fail in the role store: %v", err)
	}
	if n := count(t, db, "scim_audit"); n != before {
		t.Errorf("audit rows %d -> %d after a rolled-back group create", before, n)
	}
	if n := count(t, db, "scim_groups"); n != 0 {
		t.Errorf("%d groups after a rolled-back create", n)
	}
	checkConsistentWithOutbox(t, db)
}

func fmtErr(err error) string {
	var se *scim.Error
	if e, ok := err.(*scim.Error); ok {
		se = e
	}
	if se != nil && se.Err != nil {
		return se.Err.Error()
	}
	return err.Error()
}

// Prune deletes rows older than the cut-off in batches and keeps the others.
func TestPrune(t *testing.T) {
	s, db, clock := newStore(t)
	ctx := context.Background()
	for i, name := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if _, err := s.CreateUser(ctx, scim.Resource{"userName": name, "active": true}); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			clock.Advance(48 * time.Hour)
		}
	}
	n, err := audit.Prune(ctx, db, bookkeeping.NewTables("", bookkeeping.MySQL), start.Add(24*time.Hour), 1)
	if err != nil || n != 4 { // two creates with their role rows
		t.Fatalf("pruned %d, %v", n, err)
	}
	if recs := list(t, db, audit.Filter{}); len(recs) != 2 || recs[0].Name != "c@example.com" {
		t.Fatalf("left: %+v", recs)
	}
}

// A change kept in a side table (a list of emails in their own table) shows as the attribute's before
// and after.
func TestSideTableChangesAreAudited(t *testing.T) {
	schema := legacyapp.UsersTable() + `
CREATE TABLE user_emails (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id INT UNSIGNED NOT NULL,
  address VARCHAR(190) NOT NULL,
  KEY user_id (user_id)
) ENGINE=InnoDB;`
	s, db, _ := testfix.Store(t, 2, schema, legacyapp.UsersMapping("")+`
[[lists]]
attribute = "emails"
table = "user_emails"
foreign_key = "user_id"
columns = { address = "value" }
`, mysql.Options{})
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "r9", Actor: "okta"})
	u, err := s.CreateUser(ctx, scim.Resource{"userName": "eve@example.com", "active": true,
		"emails": []any{map[string]any{"value": "eve@work.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, u["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["emails"] = []any{map[string]any{"value": "eve@home.example"}}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	recs := list(t, db, audit.Filter{Subject: "eve@example.com"})
	last := recs[len(recs)-1]
	d, ok := last.Changes.Attributes["emails"]
	if last.Operation != "user.updated" || !ok {
		t.Fatalf("last row: %+v", last)
	}
	before, _ := json.Marshal(d.Before)
	after, _ := json.Marshal(d.After)
	if !strings.Contains(string(before), "eve@work.example") || !strings.Contains(string(after), "eve@home.example") {
		t.Errorf("emails before %s after %s", before, after)
	}
}

// Columns named in [audit] redact are recorded as changed, never with their values; so are columns whose
// names look like secrets, whatever the configuration.
func TestConfiguredColumnsAreRedacted(t *testing.T) {
	s, db, _ := testfix.Store(t, 2, legacyapp.UsersTable("job_title VARCHAR(100) NULL"),
		legacyapp.UsersMapping("", `job_title = "title"`), mysql.Options{AuditRedact: []string{"JOB_TITLE"}})
	if _, err := s.CreateUser(context.Background(), scim.Resource{"userName": "kim@example.com", "title": "Spy", "active": true}); err != nil {
		t.Fatal(err)
	}
	recs := list(t, db, audit.Filter{})
	cols := recs[0].Changes.Columns
	if cols["job_title"].After != audit.Redacted || cols["password_hash"].After != audit.Redacted || cols["email"].After != "kim@example.com" {
		t.Fatalf("columns: %+v", cols)
	}
	if _, err := s.UpdateUser(context.Background(), recs[0].SCIMID, func(cur scim.Resource) (scim.Resource, error) {
		cur["title"] = "Agent"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	recs = list(t, db, audit.Filter{})
	if d := recs[len(recs)-1].Changes.Attributes["title"]; d.Before != audit.Redacted || d.After != audit.Redacted {
		t.Fatalf("the title attribute, held in a redacted column: %+v", recs[len(recs)-1].Changes)
	}
	var raw []string
	if err := db.Select(&raw, "SELECT changes FROM scim_audit"); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		if strings.Contains(r, "Spy") || strings.Contains(r, "Agent") || strings.Contains(r, "!scim") {
			t.Fatalf("a stored row holds a redacted value: %s", r)
		}
	}
}

// A deleted group's row holds what it was; a user deleted with on_delete = "delete" has the whole app
// row before and nothing after.
func TestDeletionsAreAudited(t *testing.T) {
	clock := testfix.NewClock(start)
	s, db, _ := testfix.Store(t, 2, legacyapp.UsersTable(), legacyapp.UsersMapping(`on_delete = "delete"`), mysql.Options{Now: clock.Now})
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "r1", Actor: "okta"})
	u, err := s.CreateUser(ctx, scim.Resource{"userName": "max@example.com", "active": true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, scim.Resource{"displayName": "Ops", "externalId": "ext-ops"}, []scim.Member{{Value: u["id"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, g["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u["id"].(string), nil); err != nil {
		t.Fatal(err)
	}
	recs := list(t, db, audit.Filter{})
	want := []string{"user.created", "group.created", "group.members_added", "group.members_removed", "group.deleted", "user.deleted"}
	if got := ops(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("operations: %v", got)
	}
	if m := recs[3]; m.MemberID == nil || *m.MemberID != u["id"].(string) || m.Changes.Group.Name != "Ops" {
		t.Errorf("the member leaving with the group: %+v", m)
	}
	recs = append(recs[:2], recs[4:]...)
	if d := recs[2].Changes.Attributes; d["displayName"].Before != "Ops" || d["displayName"].After != nil || d["externalId"].Before != "ext-ops" {
		t.Errorf("group deleted: %+v", d)
	}
	cols := recs[3].Changes.Columns
	if cols["email"].Before != "max@example.com" || cols["email"].After != nil || cols["password_hash"].Before != audit.Redacted {
		t.Errorf("user deleted: %+v", cols)
	}
	checkConsistentWithOutbox(t, db)
}

// The reconcile at start (no request behind it) audits the roles it changes, with an empty actor. The
// mapping is authoritative, so that the reconcile repairs the app's hand edit (otherwise it stays).
func TestReconcileIsAudited(t *testing.T) {
	_, db, clock := newStore(t)
	s := mysql.New(db, testfix.Users(t, legacyapp.UsersMapping("")),
		mysql.Options{Now: clock.Now, Roles: testfix.Roles(t, "authoritative = true\n"+legacyapp.ColumnRolesTOML)})
	ctx := context.Background()
	u, err := s.CreateUser(ctx, scim.Resource{"userName": "rae@example.com", "active": true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE users SET role = 'admin' WHERE email = 'rae@example.com'"); err != nil { // the app edits it
		t.Fatal(err)
	}
	if _, changed, err := s.ReconcileRoles(ctx); err != nil || changed != 1 {
		t.Fatalf("reconcile: %d, %v", changed, err)
	}
	recs := list(t, db, audit.Filter{Subject: u["id"].(string)})
	last := recs[len(recs)-1]
	if last.Operation != "user.roles_changed" || last.Actor != "" || last.Changes.Roles == nil ||
		!reflect.DeepEqual(last.Changes.Roles.Before, []any{"admin"}) || !reflect.DeepEqual(last.Changes.Roles.After, []any{"viewer"}) {
		t.Fatalf("reconcile row: %+v", last)
	}
	checkConsistentWithOutbox(t, db)
}
