package invariants_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/invariants"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/webhook"
)

// The invariant suite the cluster test runs on every Galera node holds on the single shared server
// too, after concurrent writes through two replicas on it; and it finds what it is there to find.
func TestInvariantsHoldOnOneServer(t *testing.T) {
	rec, err := invariants.NewReceiver(invariants.HookSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	dsn := testdb.New(t, legacyapp.UsersTable(legacyapp.RoleColumn))
	cfg, err := config.Parse([]byte(invariants.ConfigTOML(rec.URL())), "invariants.toml")
	if err != nil {
		t.Fatal(err)
	}
	var apps []*app.App
	var targets []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), cfg, app.Options{Getenv: invariants.Env(dsn), Listener: ln,
			TuneWebhooks: func(o webhook.Options) webhook.Options { o.PollInterval = 20 * time.Millisecond; return o }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; _ = a.Close() })
		apps = append(apps, a)
		targets = append(targets, "http://"+a.Addr().String()+invariants.BasePath)
	}
	ctx := context.Background()
	load := &invariants.Load{Targets: targets, Token: invariants.Token, Writes: 300, Workers: 6}
	out, err := load.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Statuses[500] > 0 || len(out.Problems) > 0 {
		t.Fatalf("statuses %v; problems %v", out.Statuses, out.Problems)
	}
	// One server: a membership surviving its user's DELETE is a difference like any other.
	if diffs, err := out.Expected.Verify(ctx, http.DefaultClient, targets[0], invariants.Token); err != nil || len(diffs) > 0 {
		t.Fatalf("state after the load: %v %v", diffs, err)
	}
	db := apps[0].DB()
	setup := invariants.Setup{AppTable: "users", AppKey: "id", Endpoints: []string{invariants.HookName}, Roles: apps[0].Store()}
	var d invariants.Deliveries
	deadline := time.Now().Add(30 * time.Second)
	for {
		acked, bad := rec.Acked()
		if d, err = invariants.CheckDeliveries(ctx, db, "scim_", acked); err != nil {
			t.Fatal(err)
		}
		if bad > 0 {
			t.Fatalf("%d webhook requests did not verify", bad)
		}
		if d.Lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.Lost > 0 || d.Duplicates > 0 || d.OutOfOrder > 0 {
		t.Fatalf("deliveries: %s", d)
	}
	violations, err := invariants.Check(ctx, db, setup)
	if err != nil || len(violations) > 0 {
		t.Fatalf("invariants: %v %v", violations, err)
	}
	t.Logf("%d writes in %s, statuses %v; %s", out.Writes, out.Took.Round(time.Millisecond), out.Statuses, d)

	// What the suite is for: an orphan membership and a role the rules do not grant are found.
	var uid string
	if err := db.Get(&uid, "SELECT b.id FROM scim_users b JOIN users a ON a.id = b.app_id WHERE b.deleted_at IS NULL AND a.role = 'admin' LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	db.MustExec("INSERT INTO scim_group_members (group_id, user_id) VALUES ('no-such-group', ?)", uid)
	db.MustExec("UPDATE users SET role = 'viewer' WHERE id = (SELECT app_id FROM scim_users WHERE id = ?)", uid) // an Admins member
	// Another member, so that the role check above still sees this one's groups.
	var other string
	if err := db.Get(&other, "SELECT DISTINCT m.user_id FROM scim_group_members m JOIN scim_users b ON b.id = m.user_id WHERE b.deleted_at IS NULL AND m.user_id <> ? LIMIT 1", uid); err != nil {
		t.Fatal(err)
	}
	db.MustExec("UPDATE scim_users SET in_groups = 0 WHERE id = ?", other) // its reads would not show its groups
	db.MustExec("INSERT INTO scim_role_direct (user_id, role) VALUES (?, 'support')", other)
	db.MustExec("UPDATE scim_users SET has_direct = 0 WHERE id = ?", other) // nor its direct role
	violations, err = invariants.Check(ctx, db, setup)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(violations, "; ")
	if !strings.Contains(got, "1 membership rows of a group that does not exist") || !strings.Contains(got, "live users whose app roles differ") ||
		!strings.Contains(got, "members of a group whose user row says it is in none") ||
		!strings.Contains(got, "direct roles of a user whose row says it has none") {
		t.Fatalf("violations %q", got)
	}
}
