package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// driftApp serves config.example.toml (roles in a join table) with the periodic drift check every 50ms.
func startDrift(t *testing.T) (*breakerApp, *sql.DB) {
	t.Helper()
	cfg, err := config.Parse([]byte(exampleText(t)+"\n[drift]\nevery = \"1h\"\n"), "drift.toml")
	if err != nil {
		t.Fatal(err)
	}
	dsn := exampleDB(t)
	clock := testfix.NewClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, cfg, app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}), Now: clock.Now,
		MetricsListener: mln, DriftEvery: 50 * time.Millisecond})
	b := &breakerApp{running: r, db: r.DB().DB, clock: clock, metrics: mln.Addr().String()}
	return b, b.db
}

func (b *breakerApp) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := b.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// roleNames are the roles the app's user_roles rows give the user with this email.
func (b *breakerApp) roleNames(t *testing.T, email string) []string {
	t.Helper()
	rows, err := b.db.Query("SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id WHERE u.email = ? ORDER BY r.name", email)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

func (b *breakerApp) column(t *testing.T, col, email string) any {
	t.Helper()
	var v sql.NullString
	if err := b.db.QueryRow("SELECT "+col+" FROM users WHERE email = ?", email).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid {
		return nil
	}
	return v.String
}

// The IdP provisions users and an Admins group; then the app's own admins edit behind scimbridge's
// back: a title changed (GET now shows it: drift must compare with what scimbridge wrote, not GET), a
// deactivated account reactivated, the admin role removed from a member of Admins, a managed role given
// by hand, a managed user's row deleted; alice was never provisioned and stays active. The drift report
// finds each; the periodic check in serve exports them as gauges; --repair writes the managed values
// back, in audited transactions with events, and leaves the hand-given role, the unmanaged account and
// the gone row alone.
func TestDriftFindsAndRepairsHandEdits(t *testing.T) {
	b, db := startDrift(t)
	ids := map[string]string{}
	for _, u := range []string{"ann@example.com", "cat@example.com", "dan@example.com", "eve@example.com"} {
		code, _, doc := b.send(t, http.MethodPost, "/Users", fmt.Sprintf(`{"userName":%q,"title":"Engineer","active":true}`, u))
		if code != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", u, code, doc)
		}
		ids[u] = doc["id"].(string)
	}
	code, _, doc := b.send(t, http.MethodPost, "/Groups", fmt.Sprintf(`{"displayName":"Admins","members":[{"value":%q},{"value":%q}]}`,
		ids["ann@example.com"], ids["cat@example.com"]))
	if code != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %v", code, doc)
	}
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+ids["dan@example.com"], deactivate); code != http.StatusOK {
		t.Fatalf("deactivating dan: %d", code)
	}
	if got := b.roleNames(t, "ann@example.com"); !slices.Equal(got, []string{"admin"}) {
		t.Fatalf("ann's roles before: %v", got)
	}

	rep, err := b.Store().Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 0 || rep.Counts[mysql.DriftUnmanaged] != 1 || rep.Unmanaged[0].UserName != "alice@example.com" {
		t.Fatalf("drift before any hand edit: %+v", rep)
	}

	// The two column edits last: the check inside serve (below) may run between any two edits, and
	// the gauges are read once they show both columns, which then means every edit was seen.
	b.exec(t, "DELETE ur FROM user_roles ur JOIN users u ON u.id = ur.user_id JOIN roles r ON r.id = ur.role_id WHERE u.email = 'cat@example.com' AND r.name = 'admin'")
	b.exec(t, "INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r WHERE u.email = 'ann@example.com' AND r.name = 'support'")
	b.exec(t, "DELETE FROM users WHERE email = 'eve@example.com'")
	b.exec(t, "UPDATE users SET job_title = 'Hacked' WHERE email = 'ann@example.com'")
	b.exec(t, "UPDATE users SET status = 1 WHERE email = 'dan@example.com'")
	if _, _, doc := b.send(t, http.MethodGet, "/Users/"+ids["ann@example.com"], ""); doc["title"] != "Hacked" {
		t.Fatalf("GET shows the app's column: %v", doc["title"])
	}
	unmanagedBefore := dumpUser(t, db, "alice@example.com")

	rep, err = b.Store().Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mysql.UserDrift{}
	for _, u := range rep.Users {
		byName[u.UserName] = u
	}
	ann, dan, cat, eve := byName["ann@example.com"], byName["dan@example.com"], byName["cat@example.com"], byName["eve@example.com"]
	if len(ann.Columns) != 1 || ann.Columns[0].Column != "job_title" || ann.Columns[0].Attribute != "title" || ann.Columns[0].Wrote != "Engineer" ||
		ann.Columns[0].Now != "Hacked" {
		t.Errorf("ann's columns: %+v", ann.Columns)
	}
	if len(ann.Roles) != 1 || !slices.Equal(ann.Roles[0].Added, []string{"support"}) || len(ann.Roles[0].Removed) != 0 {
		t.Errorf("ann's roles: %+v", ann.Roles)
	}
	if len(dan.Columns) != 1 || dan.Columns[0].Column != "status" || dan.Columns[0].Wrote != "3" || dan.Columns[0].Now != "1" {
		t.Errorf("dan: %+v", dan)
	}
	if len(cat.Columns) != 0 || len(cat.Roles) != 1 || !slices.Equal(cat.Roles[0].Removed, []string{"admin"}) {
		t.Errorf("cat: %+v", cat)
	}
	if !eve.RowGone {
		t.Errorf("eve: %+v", eve)
	}
	want := map[string]int{mysql.DriftColumn: 2, mysql.DriftRoleRemoved: 1, mysql.DriftRoleAdded: 1, mysql.DriftRowGone: 1,
		mysql.DriftUnmanaged: 1, mysql.DriftNoBaseline: 0}
	for k, n := range want {
		if rep.Counts[k] != n {
			t.Errorf("count %s = %d, want %d (%v)", k, rep.Counts[k], n, rep.Counts)
		}
	}

	// The check inside serve sees the same and exports it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A check may have run half-way through the edits: wait for one that saw them all.
		m := scrape(t, b.metrics)
		seen := map[string]float64{}
		for k := range want {
			seen[k], _ = value(m, "scimbridge_drift_users", "kind", k)
		}
		if fmt.Sprint(seen) == fmt.Sprint(toFloats(want)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drift gauges show %v, want %v", seen, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	res, err := b.Store().RepairDrift(context.Background(), rep)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(res.Repaired)
	wantRepaired := []string{ids["ann@example.com"], ids["cat@example.com"], ids["dan@example.com"]}
	slices.Sort(wantRepaired)
	if !slices.Equal(res.Repaired, wantRepaired) || !slices.Equal(res.Skipped, []string{ids["eve@example.com"]}) {
		t.Fatalf("repair: %+v, want %v repaired", res, wantRepaired)
	}
	if v := b.column(t, "job_title", "ann@example.com"); v != "Engineer" {
		t.Errorf("ann's job_title after repair: %v", v)
	}
	if v := b.column(t, "status", "dan@example.com"); v != "3" {
		t.Errorf("dan's status after repair: %v", v)
	}
	if got := b.roleNames(t, "cat@example.com"); !slices.Equal(got, []string{"admin"}) {
		t.Errorf("cat's roles after repair: %v", got)
	}
	if got := b.roleNames(t, "ann@example.com"); !slices.Equal(got, []string{"admin", "support"}) {
		t.Errorf("ann's roles after repair (the hand-given one stays): %v", got)
	}
	if got := dumpUser(t, db, "alice@example.com"); got != unmanagedBefore {
		t.Errorf("the unmanaged account changed:\n%s\n%s", unmanagedBefore, got)
	}
	if _, _, doc := b.send(t, http.MethodGet, "/Users/"+ids["ann@example.com"], ""); doc["title"] != "Engineer" {
		t.Errorf("GET after repair: %v", doc["title"])
	}
	// Each repair is audited, under the repair's actor, with its events.
	var audited []struct {
		Op      string `db:"operation"`
		ID      string `db:"scim_id"`
		Changes string `db:"changes"`
	}
	if err := b.DB().Select(&audited, "SELECT operation, scim_id, changes FROM scim_audit WHERE actor = ? ORDER BY id", mysql.RepairActor); err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for _, a := range audited {
		for name, id := range ids {
			if id == a.ID {
				ops[name+" "+a.Op] = a.Changes
			}
		}
	}
	if len(audited) != 3 {
		t.Errorf("repair audit rows: %+v", audited)
	}
	for _, k := range []string{"ann@example.com user.updated", "dan@example.com user.deactivated", "cat@example.com user.roles_changed"} {
		if _, ok := ops[k]; !ok {
			t.Errorf("no audit row %q: %v", k, ops)
		}
	}
	var ch struct {
		Columns map[string]struct{ Before, After any } `json:"columns"`
	}
	_ = json.Unmarshal([]byte(ops["ann@example.com user.updated"]), &ch)
	if c := ch.Columns["job_title"]; c.Before != "Hacked" || c.After != "Engineer" {
		t.Errorf("ann's repair audit: %s", ops["ann@example.com user.updated"])
	}
	var n int
	if err := b.DB().Get(&n, "SELECT COUNT(*) FROM scim_outbox WHERE type = 'user.deactivated' AND subject = ?", "user:"+ids["dan@example.com"]); err != nil || n != 2 {
		t.Errorf("dan's user.deactivated events: %d %v, want the PATCH's and the repair's", n, err)
	}

	rep, err = b.Store().Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[mysql.DriftColumn] != 0 || rep.Counts[mysql.DriftRoleRemoved] != 0 || rep.Counts[mysql.DriftRoleAdded] != 1 ||
		rep.Counts[mysql.DriftRowGone] != 1 || rep.Counts[mysql.DriftUnmanaged] != 1 {
		t.Errorf("drift after repair: %v", rep.Counts)
	}
}

func toFloats(m map[string]int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

// dumpUser is a user's app row, every column, as text.
func dumpUser(t *testing.T, db *sql.DB, email string) string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM users WHERE email = ?", email)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return ""
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(vals)
}

// Users last written before scimbridge recorded its writes (an upgrade: no scim_user_written row) are
// compared with the audit trail's latest value of each column, and repaired from it.
func TestDriftFallsBackToTheAuditTrail(t *testing.T) {
	b, _ := startDrift(t)
	code, _, doc := b.send(t, http.MethodPost, "/Users", `{"userName":"old@example.com","title":"Clerk","active":true}`)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %v", code, doc)
	}
	id := doc["id"].(string)
	if code, _, _ := b.send(t, http.MethodPatch, "/Users/"+id,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Manager"}]}`); code != http.StatusOK {
		t.Fatalf("PATCH: %d", code)
	}
	b.exec(t, "DELETE FROM scim_user_written")
	b.exec(t, "UPDATE users SET job_title = 'Intern', last_name = 'Nobody' WHERE email = 'old@example.com'")
	rep, err := b.Store().Drift(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Users) != 1 || !rep.Users[0].FromAudit || rep.Users[0].NoBaseline {
		t.Fatalf("drift: %+v", rep.Users)
	}
	// job_title's latest audit value is the PATCH's; last_name was never written (NULL is not in the
	// trail's diffs), so it is not checked.
	if cols := rep.Users[0].Columns; len(cols) != 1 || cols[0].Column != "job_title" || cols[0].Wrote != "Manager" || cols[0].Now != "Intern" {
		t.Fatalf("columns: %+v", cols)
	}
	if res, err := b.Store().RepairDrift(context.Background(), rep); err != nil || len(res.Repaired) != 1 {
		t.Fatalf("repair: %+v %v", res, err)
	}
	if v := b.column(t, "job_title", "old@example.com"); v != "Manager" {
		t.Fatalf("job_title after repair: %v", v)
	}
	// The repair's write recorded a baseline: from now on the record is used.
	var n int
	if err := b.DB().Get(&n, "SELECT COUNT(*) FROM scim_user_written WHERE user_id = ?", id); err != nil || n != 1 {
		t.Fatalf("scim_user_written after repair: %d %v", n, err)
	}
}
