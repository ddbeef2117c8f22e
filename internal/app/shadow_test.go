package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// answer is one SCIM answer of an IdP sequence, with the ids it holds replaced by their order of first
// appearance, and meta (times, locations) left out: what must be equal between a live and a shadow run.
type answer struct {
	Status int
	Body   string
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// idpSequence is what an IdP's first sync does: it adopts alice (renamed) and bob (suspended in the
// app, active in the IdP), creates carol, dave (then deactivated) and erin (then deleted), grants carol
// admin through a group, puts alice in Support (a role she has by hand) and deactivates her.
func idpSequence(t *testing.T, r *running) []answer {
	t.Helper()
	var out []answer
	ids := map[string]string{}
	do := func(method, path, body string) map[string]any {
		for name, id := range ids {
			path = strings.ReplaceAll(path, "{"+name+"}", id)
			body = strings.ReplaceAll(body, "{"+name+"}", id)
		}
		code, doc := r.do(t, method, path, body)
		if code >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, code, doc)
		}
		out = append(out, answer{Status: code, Body: normalized(doc)})
		return doc
	}
	user := func(name, given, family string) {
		doc := do(http.MethodPost, "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":%q,"name":{"givenName":%q,"familyName":%q},"active":true}`, name+"@example.com", given, family))
		ids[name] = doc["id"].(string)
	}
	user("alice", "Alice", "Anderson-Smith")
	user("bob", "Bob", "Brown")
	user("carol", "Carol", "Cole")
	user("dave", "Dave", "Doe")
	user("erin", "Erin", "Eve")
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	do(http.MethodPatch, "/Users/{dave}", patch)
	do(http.MethodDelete, "/Users/{erin}", "")
	g := do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Admins","members":[{"value":"{carol}"}]}`)
	ids["admins"] = g["id"].(string)
	do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Support","members":[{"value":"{alice}"}]}`)
	do(http.MethodPatch, "/Users/{alice}", patch)
	do(http.MethodGet, "/Users/{carol}", "")
	do(http.MethodGet, "/Users?filter="+`userName%20eq%20%22bob@example.com%22`, "")
	return out
}

func normalized(doc map[string]any) string {
	var strip func(v any) any
	strip = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "meta")
			delete(v, "$ref")
			for k, x := range v {
				v[k] = strip(x)
			}
		case []any:
			for i, x := range v {
				v[i] = strip(x)
			}
		}
		return v
	}
	b, _ := json.Marshal(strip(doc))
	seen := map[string]string{}
	return uuidRE.ReplaceAllStringFunc(string(b), func(id string) string {
		if _, ok := seen[id]; !ok {
			seen[id] = fmt.Sprintf("<id%d>", len(seen)+1)
		}
		return seen[id]
	})
}

// appDump is every row of the app's own tables (those config.example.toml maps).
func appDump(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"users", "roles", "user_roles"} {
		rows, err := db.Queryx("SELECT * FROM " + table + " ORDER BY 1, 2")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %q\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

// fixedRand is a deterministic randomness source, so that two runs make the same ids.
func fixedRand() *rand.ChaCha8 { return rand.NewChaCha8([32]byte{1, 2, 3}) }

func shadowOptions(t *testing.T, dsn string) app.Options {
	clock := testfix.NewClock(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	return app.Options{Getenv: env(map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}), Now: clock.Now, Rand: fixedRand(),
		Log: testfix.Log(t)}
}

// goLiveOptions are shadowOptions with real randomness: a go-live run again must not make the event
// ids of the run it resumes.
func goLiveOptions(t *testing.T, dsn string) app.Options {
	o := shadowOptions(t, dsn)
	o.Rand = nil
	return o
}

func shadowConfig(t *testing.T) *config.Config {
	cfg := exampleConfig(t)
	cfg.Server.Mode = config.ModeShadow
	return cfg
}

// In shadow mode an IdP's first sync gets the very answers live mode gives, and no byte of the app's
// tables changes; the copies and shadow bookkeeping hold the result.
func TestShadowWritesNeverTouchAppTables(t *testing.T) {
	liveDSN, shadowDSN := exampleDB(t), exampleDB(t)
	live := start(t, exampleConfig(t), shadowOptions(t, liveDSN))
	want := idpSequence(t, live)

	db := testfix.Open(t, shadowDSN, 2)
	before := appDump(t, db)
	sh := start(t, shadowConfig(t), shadowOptions(t, shadowDSN))
	got := idpSequence(t, sh)
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("answer %d differs:\nshadow %v\nlive   %v", i, got[i], want[i])
			}
		}
		t.Fatalf("shadow answers differ from live ones")
	}
	if after := appDump(t, db); after != before {
		t.Fatalf("shadow mode wrote the app's tables:\nbefore\n%s\nafter\n%s", before, after)
	}
	var copied int
	if err := db.Get(&copied, "SELECT COUNT(*) FROM scim_shapp_users WHERE email IN ('carol@example.com', 'dave@example.com')"); err != nil || copied != 2 {
		t.Fatalf("the shadow copy holds %d of the created users (%v), want 2", copied, err)
	}
	var liveUsers, shadowUsers int
	_ = db.Get(&liveUsers, "SELECT COUNT(*) FROM scim_users")
	_ = db.Get(&shadowUsers, "SELECT COUNT(*) FROM scim_sh_users")
	if liveUsers != 0 || shadowUsers != 5 {
		t.Fatalf("bookkeeping: %d live users, %d shadow users; want 0 and 5", liveUsers, shadowUsers)
	}

	// A live serve is refused while the shadow serve holds the lock.
	if _, err := app.New(context.Background(), exampleConfig(t), shadowOptions(t, shadowDSN)); err == nil ||
		!strings.Contains(err.Error(), "shadow-mode serve") {
		t.Fatalf("a live serve beside a shadow one: %v, want it refused", err)
	}
}

// shadowRun serves the IdP sequence in shadow mode on a fresh database and stops; it returns the DSN.
func shadowRun(t *testing.T) (string, *sqlx.DB) {
	t.Helper()
	dsn := exampleDB(t)
	sh := start(t, shadowConfig(t), shadowOptions(t, dsn))
	idpSequence(t, sh)
	if err := sh.stop(); err != nil {
		t.Fatal(err)
	}
	return dsn, testfix.Open(t, dsn, 4)
}

// plan reports exactly the writes go-live then makes: the same users with the same actions, the same
// app columns before and after, the same roles; and computing it writes nothing.
func TestPlanMatchesWhatGoLiveDoes(t *testing.T) {
	dsn, db := shadowRun(t)
	cfg := exampleConfig(t)
	ctx := context.Background()
	whole := testfix.Dump(t, db)
	plan, err := app.PlanGoLive(ctx, db, cfg, shadowOptions(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	if after := testfix.Dump(t, db); after != whole {
		t.Fatal("computing the plan changed the database")
	}
	s := plan.Summary
	if s.Adopt != 2 || s.Create != 3 || s.Deactivate != 1 || s.Reactivate != 1 || s.Delete != 1 || s.RoleGrants != 1 || s.Errors != 0 || s.Groups != 2 {
		t.Fatalf("plan summary %+v; want 2 adopted (alice, bob), 3 created, alice deactivated, bob reactivated, erin deleted, carol granted admin, 2 groups", s)
	}
	if s.NewRows != 3 || !slices.Equal(s.TouchedRows, []string{"1", "2"}) {
		t.Fatalf("plan rows: %d new, existing %v; want 3 new, and alice's and bob's rows 1 and 2", s.NewRows, s.TouchedRows)
	}
	byName := map[string]app.PlanUser{}
	for _, u := range plan.Users {
		byName[u.UserName] = u
	}
	if c := byName["carol@example.com"]; !slices.Equal(c.Grants, []string{"admin"}) || !slices.Equal(c.Actions, []string{"create"}) {
		t.Fatalf("carol in the plan: %+v", c)
	}

	if err := app.GoLive(ctx, db, cfg, goLiveOptions(t, dsn), 2, nil); err != nil {
		t.Fatal(err)
	}
	// What go-live recorded, read back as a plan would read it, is the plan.
	recs, err := audit.After(ctx, db, bookkeeping.NewTables("scim_", bookkeeping.MySQL), 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, u := range plan.Users {
		names[u.ID] = u.UserName
	}
	ops := map[string][]string{}
	for _, r := range recs {
		if r.ResourceType == "User" && r.Actor == "golive" {
			ops[names[r.SCIMID]] = append(ops[names[r.SCIMID]], r.Operation)
		}
	}
	wantOps := map[string][]string{
		"alice@example.com": {"user.created"}, "bob@example.com": {"user.created"}, "carol@example.com": {"user.created", "user.roles_changed"},
		"dave@example.com": {"user.created"}, "erin@example.com": {"user.created", "user.deleted"},
	}
	for name, want := range wantOps {
		if !slices.Equal(ops[name], want) {
			t.Errorf("go-live audit of %s: %v, want %v", name, ops[name], want)
		}
	}
	// Every column the plan says changes holds, in the app's own table, the value the plan says.
	for _, u := range plan.Users {
		if created := slices.Contains(u.Actions, "create"); created != (u.AppKey == nil) {
			t.Fatalf("plan user %s: app key %v, actions %v: want a key exactly for the rows that exist", u.UserName, u.AppKey, u.Actions)
		}
		var key int64
		if err := db.Get(&key, "SELECT app_id FROM scim_users WHERE id = ?", u.ID); err != nil {
			t.Fatalf("%s: %v", u.UserName, err)
		}
		if u.AppKey != nil && fmt.Sprint(key) != *u.AppKey {
			t.Fatalf("%s: go-live wrote app row %d, the plan said %s", u.UserName, key, *u.AppKey)
		}
		row := snapshot(t, db, key)
		if len(u.Columns) == 0 {
			t.Errorf("%s: the plan changes no column", u.UserName)
		}
		for col, d := range u.Columns {
			if d.After == audit.Redacted {
				continue
			}
			if got, want := jsonOf(row[col]), jsonOf(d.After); got != want {
				t.Errorf("%s: column %s is %s after go-live, the plan said %s", u.UserName, col, got, want)
			}
		}
	}
	var roles []string
	if err := db.Select(&roles, "SELECT CONCAT(u.email, ':', r.name) FROM user_roles ur JOIN users u ON u.id = ur.user_id JOIN roles r ON r.id = ur.role_id ORDER BY 1"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(roles, []string{"alice@example.com:support", "bob@example.com:viewer", "carol@example.com:admin"}) {
		t.Fatalf("roles after go-live: %v", roles)
	}
	var status []string
	_ = db.Select(&status, "SELECT CONCAT(email, ':', status) FROM users ORDER BY email")
	if !slices.Equal(status, []string{"alice@example.com:3", "bob@example.com:1", "carol@example.com:1", "dave@example.com:3", "erin@example.com:3"}) {
		t.Fatalf("app rows after go-live: %v", status)
	}
	if _, err := app.PlanGoLive(ctx, db, cfg, shadowOptions(t, dsn)); err != app.ErrNoShadow {
		t.Fatalf("plan after go-live: %v, want ErrNoShadow", err)
	}
}

// snapshot reads an app row as the audit trail does.
func snapshot(t *testing.T, db *sqlx.DB, key int64) map[string]any {
	t.Helper()
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	row, err := audit.Snapshot(context.Background(), &bookkeeping.Tx{Tx: tx, D: bookkeeping.MySQL}, "users", "id", key)
	if err != nil || row == nil {
		t.Fatalf("app row %d: %v", key, err)
	}
	return row
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// liveState is what go-live leaves, by natural keys (app keys may differ: a rolled-back insert uses up
// an auto-increment value): the app's rows and roles, the live bookkeeping and the audit trail's order.
func liveState(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT CONCAT_WS('|', email, email_lower, first_name, last_name, display_name, status, source) FROM users ORDER BY email",
		"SELECT CONCAT(u.email, ':', r.name) FROM user_roles ur JOIN users u ON u.id = ur.user_id JOIN roles r ON r.id = ur.role_id ORDER BY 1",
		"SELECT CONCAT_WS('|', b.id, b.user_name, b.active, b.deleted_at IS NULL, u.email, b.version) FROM scim_users b LEFT JOIN users u ON u.id = b.app_id ORDER BY b.id",
		"SELECT CONCAT_WS('|', id, display_name, version) FROM scim_groups ORDER BY id",
		"SELECT CONCAT(group_id, ':', user_id) FROM scim_group_members ORDER BY 1",
		"SELECT CONCAT_WS('|', operation, scim_id, COALESCE(member_id, ''), actor) FROM scim_audit ORDER BY id",
		"SELECT CONCAT(type, ':', COUNT(*)) FROM scim_outbox GROUP BY type ORDER BY 1",
		"SELECT CONCAT(status, ':', phase) FROM scim_golive",
	} {
		var rows []string
		if err := db.Select(&rows, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s\n", strings.Join(rows, "\n"))
	}
	return b.String()
}

// go-live killed half-way (its context ends inside a batch, whose transaction rolls back) and run again
// ends in the same state as one run without interruption.
func TestGoLiveResumesAfterInterruption(t *testing.T) {
	_, whole := shadowRun(t)
	dsn, cut := shadowRun(t)
	cfg := exampleConfig(t)
	ctx := context.Background()
	if err := app.GoLive(ctx, whole, cfg, goLiveOptions(t, dsn), 2, nil); err != nil {
		t.Fatal(err)
	}

	// The first batch (2 users) commits; the store's clock ends the context inside the second.
	killCtx, kill := context.WithCancel(ctx)
	o := goLiveOptions(t, dsn)
	batches := 0
	clock := o.Now
	writes := 0
	o.Now = func() time.Time {
		if batches == 1 {
			if writes++; writes == 2 {
				kill()
			}
		}
		return clock()
	}
	err := app.GoLive(killCtx, cut, cfg, o, 2, func(phase string, done, total int) { batches++ })
	if err == nil {
		t.Fatal("go-live whose context ended half-way returned no error")
	}
	var st struct {
		Status string `db:"status"`
		Done   int    `db:"done"`
	}
	if err := cut.Get(&st, "SELECT status, done FROM scim_golive"); err != nil || st.Status != "applying" || st.Done != 2 {
		t.Fatalf("state after the kill: %+v (%v), want applying with the first batch of 2 done", st, err)
	}
	if err := app.GoLive(ctx, cut, cfg, goLiveOptions(t, dsn), 2, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := liveState(t, whole), liveState(t, cut); a != b {
		t.Fatalf("interrupted and resumed go-live ends elsewhere:\nuninterrupted\n%s\nresumed\n%s", a, b)
	}
	if !strings.Contains(liveState(t, cut), "carol@example.com:admin") {
		t.Fatal("go-live did not grant carol admin")
	}
}
