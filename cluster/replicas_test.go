package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/invariants"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

const dbName = "scim_cluster"

// Two replicas, one on each of two nodes of a 3-node Galera cluster, started together on an empty
// database (both migrate at once); 1,000 concurrent mixed writes through both, the third node killed
// with SIGKILL half-way. Then: no 500, every write applied (503s retried), every event delivered once
// and in order per user, the webhook cursor caught up, and the same consistent data on every live node.
func TestGaleraReplicas(t *testing.T) {
	needGalera(t)
	writes := 1000
	if testing.Short() {
		writes = 300
	}
	start := time.Now()
	nodes := startCluster(t, 3)
	clusterStart := time.Since(start)
	t.Logf("cluster of %d nodes synced in %s", len(nodes), clusterStart.Round(100*time.Millisecond))
	if size := nodes[0].status(context.Background(), "wsrep_cluster_size"); size != "3" {
		t.Fatalf("wsrep_cluster_size %q", size)
	}
	admin := nodes[0].admin("")
	admin.MustExec("CREATE DATABASE " + dbName)
	admin.MustExec("USE " + dbName)
	app1 := nodes[0].admin(dbName)
	app1.MustExec(legacyapp.UsersTable(legacyapp.RoleColumn))

	rec, err := invariants.NewReceiver(invariants.HookSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	cfg, err := config.Parse([]byte(invariants.ConfigTOML(rec.URL())), "cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Both replicas start at once, each on its own node, and `scimbridge migrate` on the third: all
	// three migrate the empty database together.
	replicas := make([]*replica, 2)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { replicas[i], errs[i] = startReplica(t, cfg, nodes[i]) })
	}
	wg.Go(func() {
		db, err := bookkeeping.Open(nodes[2].dsn(dbName), 2)
		if err == nil {
			defer db.Close()
			_, err = bookkeeping.Migrate(context.Background(), db, "scim_")
		}
		errs[2] = err
	})
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrating on %s: %v", nodes[i].name, err)
		}
	}
	for _, r := range replicas {
		if !bookkeeping.IsGalera(r.app.DB()) {
			t.Fatalf("replica on %s does not see a Galera node", r.node.name)
		}
	}
	if v, err := bookkeeping.Version(context.Background(), replicas[1].app.DB(), "scim_"); err != nil || v != bookkeeping.Latest() {
		t.Fatalf("migration version %d, %v", v, err)
	}
	topo, err := schemacheck.DetectTopology(context.Background(), replicas[1].app.DB())
	if err != nil || topo.Kind != "galera" || !strings.Contains(topo.Note, "3 nodes") {
		t.Fatalf("DetectTopology: %+v, %v", topo, err)
	}

	ctx := context.Background()
	killed := make(chan struct{})
	var once sync.Once
	load := &invariants.Load{Targets: []string{replicas[0].base, replicas[1].base}, Token: invariants.Token, Writes: writes, Workers: 12,
		RetryCap: 100 * time.Millisecond,
		Step: func(n int) {
			if n == writes/2 {
				once.Do(func() { go func() { nodes[2].kill(); close(killed) }() })
			}
		}}
	out, err := load.Run(ctx)
	if err != nil {
		t.Fatalf("load: %v\nproblems: %v", err, out.Problems)
	}
	<-killed
	rate := float64(out.Writes) / out.Took.Seconds()
	t.Logf("%d writes in %s (%.0f writes/s, %.0f per replica); statuses %v; %d retried by the client, %d unanswered",
		out.Writes, out.Took.Round(time.Millisecond), rate, rate/2, out.Statuses, out.Retried, out.Unanswered)
	if out.Statuses[500] > 0 || len(out.Problems) > 0 {
		t.Fatalf("%d answers 500; problems: %v", out.Statuses[500], out.Problems)
	}
	if size := nodes[0].status(ctx, "wsrep_cluster_size"); size != "2" {
		t.Errorf("after the kill wsrep_cluster_size is %q, want 2", size)
	}
	if diffs, err := out.Expected.Verify(ctx, http.DefaultClient, replicas[1].base, invariants.Token); err != nil || len(diffs) > 0 {
		t.Fatalf("state after the load (%d differences): %.3000v %v", len(diffs), diffs, err)
	}

	// Every event delivered exactly once and in order per subject, and the cursor caught up with the
	// outbox (its gaps, the seqs Galera's auto_increment_increment leaves unused, given up).
	db := replicas[0].app.DB()
	drained := time.Now()
	d := waitDelivered(t, db, rec, 30*time.Second)
	t.Logf("deliveries: %s; all in %s after the load", d, time.Since(drained).Round(100*time.Millisecond))
	if d.Lost > 0 || d.Duplicates > 0 || d.OutOfOrder > 0 {
		t.Fatalf("deliveries: %s", d)
	}
	var retried float64
	for _, r := range replicas {
		retried += r.metric(t, "scimbridge_db_transaction_retries_total")
	}
	t.Logf("transactions retried after a conflict: %.0f; answers 503: %d", retried, out.Statuses[503])

	// The invariants, and the same data, on both live nodes.
	setup := invariants.Setup{AppTable: "users", AppKey: "id", Endpoints: []string{invariants.HookName}, Roles: replicas[0].app.Store()}
	for _, r := range replicas {
		violations, err := invariants.Check(ctx, r.app.DB(), setup)
		if err != nil || len(violations) > 0 {
			t.Errorf("%s: invariants: %v %v", r.node.name, violations, err)
		}
	}
	// The replicas' webhook workers mark the last deliveries a moment after the receiver has them all:
	// the nodes must agree once those writes are done, within a few seconds.
	sums := make([]string, 2)
	for agreed := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		for i, r := range replicas {
			sums[i] = checksums(t, r.app.DB())
		}
		if sums[0] == sums[1] {
			break
		}
		if time.Now().After(agreed) {
			t.Fatalf("the nodes differ:\n%s: %s\n%s: %s", nodes[0].name, sums[0], nodes[1].name, sums[1])
		}
	}

	// A replica process on the second node, killed with SIGKILL half-way through more writes: nothing is
	// lost (the events it had claimed are sent again once its leases end, so they may arrive twice).
	proc := startProcess(t, nodes[1].dsn(dbName), rec.URL())
	writes2 := writes / 3
	var once2 sync.Once
	load2 := &invariants.Load{Targets: []string{replicas[0].base, proc.base}, Token: invariants.Token, Writes: writes2, Workers: 8,
		RetryCap: 100 * time.Millisecond, Names: "p2-",
		Step: func(n int) {
			if n == writes2/2 {
				once2.Do(func() { go proc.kill() })
			}
		}}
	out2, err := load2.Run(ctx)
	if err != nil {
		t.Fatalf("load with a replica killed: %v\nproblems: %v", err, out2.Problems)
	}
	proc.kill()
	t.Logf("with a replica killed: %d writes in %s; statuses %v; %d retried, %d unanswered",
		out2.Writes, out2.Took.Round(time.Millisecond), out2.Statuses, out2.Retried, out2.Unanswered)
	if out2.Statuses[500] > 0 || len(out2.Problems) > 0 {
		t.Fatalf("%d answers 500; problems: %v", out2.Statuses[500], out2.Problems)
	}
	if diffs, err := out2.Expected.Verify(ctx, http.DefaultClient, replicas[1].base, invariants.Token); err != nil || len(diffs) > 0 {
		t.Fatalf("state after the load with a replica killed (%d differences): %.3000v %v", len(diffs), diffs, err)
	}
	before := d.Duplicates
	d = waitDelivered(t, db, rec, 30*time.Second)
	t.Logf("deliveries: %s (%d sent twice after the kill)", d, d.Duplicates-before)
	if d.Lost > 0 || d.OutOfOrder > 0 {
		t.Fatalf("deliveries after a replica was killed: %s", d)
	}
	for _, r := range replicas {
		violations, err := invariants.Check(ctx, r.app.DB(), setup)
		if err != nil || len(violations) > 0 {
			t.Errorf("%s: invariants after the kill: %v %v", r.node.name, violations, err)
		}
	}
	if a, b := checksums(t, replicas[0].app.DB()), checksums(t, replicas[1].app.DB()); a != b {
		t.Fatalf("the nodes differ after the kill:\n%s\n%s", a, b)
	}
	for _, r := range replicas {
		r.stop()
	}
}

// waitDelivered waits until every outbox event has reached the receiver and the webhook cursor has
// caught up with the outbox, or limit passes, and returns the deliveries as they are then.
func waitDelivered(t *testing.T, db *sqlx.DB, rec *invariants.Receiver, limit time.Duration) invariants.Deliveries {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		acked, bad := rec.Acked()
		if bad > 0 {
			t.Fatalf("%d webhook requests did not verify", bad)
		}
		d, err := invariants.CheckDeliveries(ctx, db, "scim_", acked)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Last int64 `db:"last_seq"`
			Scan int64 `db:"scan_seq"`
			Head int64 `db:"head"`
		}
		if err := db.GetContext(ctx, &c, "SELECT last_seq, scan_seq, (SELECT MAX(seq) FROM scim_outbox) AS head FROM scim_webhook_cursors"); err != nil {
			t.Fatal(err)
		}
		if d.Lost == 0 && c.Last == c.Head {
			return d
		}
		if time.Now().After(deadline) {
			if c.Last < c.Head {
				t.Errorf("the webhook cursor is behind the outbox after %s: last_seq %d, scan_seq %d, newest seq %d", limit, c.Last, c.Scan, c.Head)
			}
			return d
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replica is one scimbridge (internal/app, as `serve` builds it) on one node, served on loopback.
type replica struct {
	node    *node
	app     *app.App
	base    string
	metrics string
	stop    func()
}

func startReplica(t *testing.T, cfg *config.Config, nd *node) (*replica, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a, err := app.New(context.Background(), cfg, app.Options{Getenv: invariants.Env(nd.dsn(dbName)), Listener: ln, MetricsListener: mln,
		TuneWebhooks: tune, Log: replicaLog(t, nd.name)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	r := &replica{node: nd, app: a, base: "http://" + a.Addr().String() + invariants.BasePath, metrics: "http://" + mln.Addr().String() + "/metrics"}
	r.stop = func() { once.Do(func() { cancel(); <-done; _ = a.Close() }) }
	t.Cleanup(r.stop)
	return r, nil
}

// metric sums the samples of a Prometheus counter the replica exposes.
func (r *replica) metric(t *testing.T, name string) float64 {
	resp, err := http.Get(r.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+name+`(?:\{[^}]*\})? ([0-9.e+]+)$`).FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum
}

// checksums are the row counts and CHECKSUM TABLE of the tables every node must hold alike (the leases,
// renewed all the time, aside).
func checksums(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"users", "scim_users", "scim_groups", "scim_group_members", "scim_user_values", "scim_outbox",
		"scim_webhook_deliveries", "scim_role_grants", "scim_role_marks", "scim_audit", "scim_schema_migrations"} {
		var n int
		if err := db.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		var name string
		var sum sql.NullInt64
		if err := db.QueryRow("CHECKSUM TABLE "+table).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s %d rows %d", table, n, sum.Int64))
	}
	return strings.Join(parts, ", ")
}
