package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/scim"
)

// appSchema is bench/scimload's legacy users table with a role column.
var appSchema = legacyapp.UsersTable("role VARCHAR(32) NULL")

// rolesTOML is the column store of the role mapping: Admins -> admin, Support -> support, else viewer.
const rolesTOML = `
[roles]
store = "column"
column = "role"
default = "viewer"
[[roles.rules]]
group = "Admins"
role = "admin"
priority = 100
[[roles.rules]]
group = "Support"
role = "support"
priority = 50
`

const token = "bench-groups-bearer-token"

type bench struct {
	*benchenv.Env // the store's pool and scimbridge on loopback; Warns counts the store's transaction retries
	o             options
	out           io.Writer
	store         *mysql.Store

	lines []string // summary
}

func newBench(ctx context.Context, o options, dsn string, out io.Writer) (*bench, error) {
	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: 20, Schema: appSchema, Prefix: "scim_"})
	if err != nil {
		return nil, err
	}
	b := &bench{Env: env, o: o, out: out}
	fail := func(err error) (*bench, error) { b.Close(); return nil, err }
	cfg, err := legacyusers.Config(rolesTOML)
	if err != nil {
		return fail(err)
	}
	// One request at a time; a PATCH of 10,000 members may take long.
	if err := b.Serve(ctx, cfg, token, app.Options{RequestTimeout: o.requestTimeout}, 1, 5*time.Minute); err != nil {
		return fail(err)
	}
	b.store = b.App.Store()
	return b, nil
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) summary(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	b.lines = append(b.lines, line)
	b.printf("  %s\n", line)
}

func (b *bench) run(ctx context.Context) error {
	var version, flush, pool string
	if err := b.DB.QueryRowxContext(ctx, "SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size").Scan(&version, &flush, &pool); err != nil {
		return err
	}
	b.printf("machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s (innodb_flush_log_at_trx_commit=%s, buffer pool %s bytes)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version, flush, pool)
	b.printf("HTTP on loopback (%s), agent RequestTimeout %s, default MaxBodyBytes (1 MiB); role mapping: column store, Admins -> admin, Support -> support, default viewer\n",
		b.API.URL, b.o.requestTimeout)
	if err := benchrun.Phases(ctx, b.out,
		benchrun.Phase{Name: fmt.Sprintf("seed %d users through SQL", b.o.users), Run: b.seed},
		benchrun.Phase{Name: fmt.Sprintf("one PATCH with %d members", b.o.members), Run: b.patches},
		benchrun.Phase{Name: fmt.Sprintf("ReconcileRoles over %d users", b.o.users), Run: b.reconcile},
	); err != nil {
		return err
	}
	b.printf("\n== summary\n")
	for _, l := range b.lines {
		b.printf("%s\n", l)
	}
	b.printf("store warnings (transaction retries after lock conflicts): %d\n", b.Warns.Count())
	return nil
}

// --- seeding ---

func person(i int) (email, given, family string) {
	given, family = fmt.Sprintf("Given%d", i%97), fmt.Sprintf("Family%d", i%89)
	return fmt.Sprintf("user%06d@bench.example.com", i), given, family
}

// seed writes users as the store would (app row, bookkeeping row), like bench/scimload's -seed sql, in
// parallel batches.
func (b *bench) seed(ctx context.Context) error {
	start := time.Now()
	if err := loadstats.Check(loadstats.Batches(ctx, b.o.users, b.o.batch, b.o.concurrency, b.seedBatch)); err != nil {
		return err
	}
	if err := benchsql.Analyze(ctx, b.DB, "users", "scim_users"); err != nil {
		return err
	}
	b.printf("  %d users in %s (%d per transaction, %d goroutines; not through scimbridge)\n", b.o.users,
		time.Since(start).Round(time.Millisecond), b.o.batch, b.o.concurrency)
	return nil
}

func (b *bench) seedBatch(ctx context.Context, from, to int) error {
	users := make([]legacyusers.User, 0, to-from)
	for i := from; i < to; i++ {
		email, given, family := person(i)
		users = append(users, legacyusers.User{Email: email, Given: given, Family: family, Doc: "{}"})
	}
	return legacyusers.Seed(ctx, b.DB, users)
}

// --- HTTP ---

type answer struct {
	status  int
	body    []byte
	elapsed time.Duration
}

// request sends one request to scimbridge and times it.
func (b *bench) request(ctx context.Context, method, path string, body []byte) (answer, error) {
	start := time.Now()
	status, raw, err := b.API.Do(ctx, method, path, body)
	return answer{status: status, body: raw, elapsed: time.Since(start)}, err
}

func patchBody(ops ...map[string]any) []byte {
	raw, _ := json.Marshal(map[string]any{"schemas": []string{scim.PatchOpURN}, "Operations": ops})
	return raw
}

func memberList(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}

func (b *bench) count(ctx context.Context, query string, args ...any) int {
	var n int
	if err := b.DB.GetContext(ctx, &n, query, args...); err != nil {
		return -1
	}
	return n
}

// patches times one PATCH adding the members to a mapped group, and the PATCHes removing them.
func (b *bench) patches(ctx context.Context) error {
	var ids []string
	if err := b.DB.SelectContext(ctx, &ids, "SELECT id FROM scim_users ORDER BY app_id LIMIT ?", b.o.members); err != nil {
		return err
	}
	n := len(ids)
	created, err := b.request(ctx, http.MethodPost, "/Groups", []byte(`{"schemas":["`+scim.GroupSchema+`"],"displayName":"Admins"}`))
	if err != nil || created.status != http.StatusCreated {
		return fmt.Errorf("POST /Groups: %v %d %s", err, created.status, created.body)
	}
	var g struct{ ID string }
	_ = json.Unmarshal(created.body, &g)
	members := func() int { return b.count(ctx, "SELECT COUNT(*) FROM scim_group_members WHERE group_id = ?", g.ID) }
	admins := func() int { return b.count(ctx, "SELECT COUNT(*) FROM users WHERE role = 'admin'") }

	steps := []struct {
		name        string
		ops         map[string]any
		query       string // ?excludedAttributes=members or ""
		wantMembers int
		wantAdmins  int
	}{
		{fmt.Sprintf(`add %d members (op add, path members, value list)`, n),
			map[string]any{"op": "add", "path": "members", "value": memberList(ids)}, "", n, n},
		{fmt.Sprintf(`remove %d members (op remove, path members, value list: Entra)`, n),
			map[string]any{"op": "remove", "path": "members", "value": memberList(ids)}, "", 0, 0},
		{fmt.Sprintf(`add %d members again, answer without members (?excludedAttributes=members)`, n),
			map[string]any{"op": "add", "path": "members", "value": memberList(ids)}, "?excludedAttributes=members", n, n},
		{fmt.Sprintf(`remove all %d (op remove, path members, no value)`, n),
			map[string]any{"op": "remove", "path": "members"}, "", 0, 0},
		{fmt.Sprintf(`replace with the full list of %d (Okta)`, n),
			map[string]any{"op": "replace", "path": "members", "value": memberList(ids)}, "", n, n},
		{fmt.Sprintf(`replace with [] (Okta empties the group of %d)`, n),
			map[string]any{"op": "replace", "path": "members", "value": []any{}}, "", 0, 0},
	}
	for _, s := range steps {
		body := patchBody(s.ops)
		a, err := b.request(ctx, http.MethodPatch, "/Groups/"+g.ID+s.query, body)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		gotMembers, gotAdmins := members(), admins()
		ok := a.status == http.StatusOK && gotMembers == s.wantMembers && gotAdmins == s.wantAdmins
		b.summary("PATCH %-80s %4d in %8s (request %s, answer %s); rows: %d members, %d admins%s",
			s.name, a.status, a.elapsed.Round(time.Millisecond), size(len(body)), size(len(a.body)), gotMembers, gotAdmins, okMark(ok))
		if a.status != http.StatusOK {
			return fmt.Errorf("%s: %d %s", s.name, a.status, truncate(a.body))
		}
		if !ok {
			return fmt.Errorf("%s: want %d members and %d admins", s.name, s.wantMembers, s.wantAdmins)
		}
	}
	// The same on a group no rule maps: recompute still reads every changed user's groups and role, but
	// writes no role and no user.roles_changed event. The difference is the cost of the role writes.
	staff, err := b.request(ctx, http.MethodPost, "/Groups", []byte(`{"schemas":["`+scim.GroupSchema+`"],"displayName":"Staff"}`))
	if err != nil || staff.status != http.StatusCreated {
		return fmt.Errorf("POST /Groups Staff: %v %d", err, staff.status)
	}
	var sg struct{ ID string }
	_ = json.Unmarshal(staff.body, &sg)
	for _, s := range []struct {
		name string
		ops  map[string]any
		want int
	}{
		{fmt.Sprintf("add %d members to an unmapped group (roles unchanged)", n), map[string]any{"op": "add", "path": "members", "value": memberList(ids)}, n},
		{fmt.Sprintf("remove all %d from the unmapped group", n), map[string]any{"op": "remove", "path": "members"}, 0},
	} {
		body := patchBody(s.ops)
		a, err := b.request(ctx, http.MethodPatch, "/Groups/"+sg.ID+"?excludedAttributes=members", body)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		got := b.count(ctx, "SELECT COUNT(*) FROM scim_group_members WHERE group_id = ?", sg.ID)
		ok := a.status == http.StatusOK && got == s.want && admins() == 0
		b.summary("PATCH %-80s %4d in %8s (request %s, answer %s); rows: %d members%s",
			s.name, a.status, a.elapsed.Round(time.Millisecond), size(len(body)), size(len(a.body)), got, okMark(ok))
		if !ok {
			return fmt.Errorf("%s: %d %s", s.name, a.status, truncate(a.body))
		}
	}
	var outbox int
	_ = b.DB.GetContext(ctx, &outbox, "SELECT COUNT(*) FROM scim_outbox")
	b.printf("  outbox rows written by these PATCHes: %d (one group.members_* and one user.roles_changed per user changed)\n", outbox)
	// Leave a clean slate for the reconcile phase.
	for _, id := range []string{g.ID, sg.ID} {
		if a, err := b.request(ctx, http.MethodDelete, "/Groups/"+id, nil); err != nil || a.status != http.StatusNoContent {
			return fmt.Errorf("DELETE group: %v %d", err, a.status)
		}
	}
	return nil
}

func okMark(ok bool) string {
	if ok {
		return ""
	}
	return "  <-- UNEXPECTED"
}

func size(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/1024)
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// --- reconcile ---

// reconcile puts a quarter of the users in Admins and a quarter in Support (through SQL), resets the role
// column, and times ReconcileRoles from scratch, again with nothing to do, and after 1 % hand edits.
func (b *bench) reconcile(ctx context.Context) error {
	start := time.Now()
	if _, err := b.DB.ExecContext(ctx, "DELETE FROM scim_outbox"); err != nil {
		return err
	}
	now := time.Now().UTC()
	admins, support := uuid.NewString(), uuid.NewString()
	for _, g := range []struct{ id, name string }{{admins, "Admins"}, {support, "Support"}} {
		if _, err := b.DB.ExecContext(ctx, `INSERT INTO scim_groups (id, display_name, display_name_lc, version, created, last_modified, doc)
			VALUES (?, ?, ?, 1, ?, ?, '{}')`, g.id, g.name, strings.ToLower(g.name), now, now); err != nil {
			return err
		}
	}
	// Users are numbered by app_id: 0 mod 4 -> Admins, 1 mod 4 -> Support, the rest in no group.
	for _, g := range []struct {
		id  string
		mod int
	}{{admins, 0}, {support, 1}} {
		if _, err := b.DB.ExecContext(ctx, `INSERT INTO scim_group_members (group_id, user_id)
			SELECT ?, id FROM scim_users WHERE app_id % 4 = ?`, g.id, g.mod); err != nil {
			return err
		}
	}
	// What the adds through SCIM would have set (scimbridge reindex sets it too): reads ask for the
	// groups of these users only.
	if _, err := b.DB.ExecContext(ctx, "UPDATE scim_users SET in_groups = 1 WHERE app_id % 4 IN (0, 1)"); err != nil {
		return err
	}
	if _, err := b.DB.ExecContext(ctx, "UPDATE users SET role = NULL"); err != nil {
		return err
	}
	inGroups := b.count(ctx, "SELECT COUNT(DISTINCT user_id) FROM scim_group_members")
	b.printf("  %d of %d users put in Admins or Support through SQL, role column reset to NULL, in %s\n",
		inGroups, b.o.users, time.Since(start).Round(time.Millisecond))

	runs := []struct {
		name  string
		setup func() (int, error)
	}{
		{"from scratch (every role column written)", func() (int, error) { return b.o.users, nil }},
		{"again, nothing to change", func() (int, error) { return 0, nil }},
		// Values the app wrote itself stay (role provenance): the reconcile reads them and changes none.
		{"after 1 % of the rows were edited by hand (kept)", func() (int, error) {
			_, err := b.DB.ExecContext(ctx, "UPDATE users SET role = 'tester' WHERE id % 100 = 7")
			return 0, err
		}},
	}
	for _, r := range runs {
		want, err := r.setup()
		if err != nil {
			return err
		}
		t := time.Now()
		checked, changed, err := b.store.ReconcileRoles(ctx)
		elapsed := time.Since(t)
		if err != nil {
			return fmt.Errorf("ReconcileRoles %s: %w", r.name, err)
		}
		ok := checked == b.o.users && changed == want
		b.summary("ReconcileRoles %-45s %8s: checked %d, changed %d (%.0f users/s)%s", r.name, elapsed.Round(time.Millisecond),
			checked, changed, float64(checked)/elapsed.Seconds(), okMark(ok))
		if !ok {
			return fmt.Errorf("ReconcileRoles %s: checked %d changed %d, want %d and %d", r.name, checked, changed, b.o.users, want)
		}
	}
	a, s, v := b.count(ctx, "SELECT COUNT(*) FROM users WHERE role = 'admin'"), b.count(ctx, "SELECT COUNT(*) FROM users WHERE role = 'support'"),
		b.count(ctx, "SELECT COUNT(*) FROM users WHERE role = 'viewer'")
	b.printf("  roles now: admin %d, support %d, viewer %d; user.roles_changed events %d\n", a, s, v,
		b.count(ctx, "SELECT COUNT(*) FROM scim_outbox WHERE type = 'user.roles_changed'"))
	return nil
}
