package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/mapping"
)

const token = "listfilter-bench-bearer-token-0123456789"

// example is the app's schema and scimbridge's configuration for it.
type example struct {
	dir    string
	schema string
	cfg    *config.Config
}

// readExample reads dir/schema.sql and parses dir/scimbridge.toml with the real configuration loader. A
// relative dir is looked up from the working directory and then from the module root above it.
func readExample(dir string) (*example, error) {
	if !filepath.IsAbs(dir) {
		if _, err := os.Stat(dir); err != nil {
			if root := moduleRoot(); root != "" {
				dir = filepath.Join(root, dir)
			}
		}
	}
	schema, err := os.ReadFile(filepath.Join(dir, "schema.sql"))
	if err != nil {
		return nil, fmt.Errorf("-example: %w", err)
	}
	path := filepath.Join(dir, "scimbridge.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-example: %w", err)
	}
	cfg, err := config.Parse(data, path)
	if err != nil {
		return nil, err
	}
	return &example{dir: dir, schema: string(schema), cfg: cfg}, nil
}

// moduleRoot is the nearest directory at or above the working directory holding go.mod, or "".
func moduleRoot() string {
	d, err := os.Getwd()
	for err == nil {
		if _, serr := os.Stat(filepath.Join(d, "go.mod")); serr == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return ""
}

type bench struct {
	*benchenv.Env // the store's pool, the ceiling's, scimbridge on http://127.0.0.1:port/scim/v2
	o             options
	ex            *example
	m             *mapping.Users
	out           io.Writer
	store         *mysql.Store

	addrs    []addrUser // every address in user_emails with its user's login
	homes    []addrUser // the home (non-primary) ones
	planFail bool
	rows     []summaryRow
}

func newBench(ctx context.Context, o options, ex *example, dsn string, out io.Writer) (*bench, error) {
	prefix := ex.cfg.Database.BookkeepingPrefix
	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: o.dbConns, Ceiling: true, Schema: ex.schema, Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ex.dir, err)
	}
	b := &bench{Env: env, o: o, ex: ex, m: ex.cfg.UsersMapping(), out: out}
	fail := func(err error) (*bench, error) { b.Close(); return nil, err }
	rep, err := schemacheck.Check(ctx, b.DB, b.m, prefix)
	if err != nil {
		return fail(err)
	}
	if len(rep.Problems) > 0 {
		return fail(fmt.Errorf("scimbridge check: %v", rep.Problems))
	}
	if err := b.Serve(ctx, ex.cfg, token, app.Options{}, slices.Max(o.concurrency), 30*time.Second); err != nil {
		return fail(err)
	}
	b.store = b.App.Store()
	return b, nil
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) run(ctx context.Context) error {
	if err := b.machine(ctx); err != nil {
		return err
	}
	phases := []benchrun.Phase{
		{Name: "load", Run: b.phaseLoad},
		{Name: "EXPLAIN", Run: b.phaseExplain},
		{Name: "GET /Users?filter=...", Run: b.phaseGet},
	}
	if b.o.posts > 0 {
		phases = append(phases, benchrun.Phase{Name: "POST /Users with 2 emails + profile", Run: b.phasePost})
	}
	if err := benchrun.Phases(ctx, b.out, phases...); err != nil {
		return err
	}
	b.summary()
	if b.planFail {
		return errPlan
	}
	return nil
}

func (b *bench) machine(ctx context.Context) error {
	var version, flush, bufPool, optSwitch string
	if err := b.DB.QueryRowxContext(ctx, `SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size,
		@@optimizer_switch`).Scan(&version, &flush, &bufPool, &optSwitch); err != nil {
		return err
	}
	b.printf("machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s (innodb_flush_log_at_trx_commit=%s, buffer pool %s bytes)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version, flush, bufPool)
	b.printf("example %s; client, scimbridge and the database share this machine; HTTP is loopback (%s), pool %d connections\n",
		b.ex.dir, b.API.URL, b.o.dbConns)
	return nil
}

// summaryRow is one timed phase at one concurrency.
type summaryRow struct {
	name string
	conc int
	res  loadstats.Result
}

func (b *bench) record(name string, conc int, res loadstats.Result) {
	b.rows = append(b.rows, summaryRow{name, conc, res})
}

func (b *bench) summary() {
	b.printf("\n== summary (%d users, GOMAXPROCS %d, %s)\n", b.o.users, runtime.GOMAXPROCS(0), runtime.Version())
	w := len("what")
	for _, r := range b.rows {
		w = max(w, len(r.name))
	}
	b.printf("%-*s  %7s  %9s  %8s  %8s  %8s  %6s\n", w, "what", "clients", "ops/s", "p50", "p95", "p99", "failed")
	for _, r := range b.rows {
		b.printf("%-*s  %7d  %9.0f  %8s  %8s  %8s  %6d\n", w, r.name, r.conc, r.res.PerSecond(),
			loadstats.MS(r.res.Pct(50)), loadstats.MS(r.res.Pct(95)), loadstats.MS(r.res.Pct(99)), r.res.Failures)
	}
	if n := b.Warns.Count(); n > 0 {
		b.printf("store/agent warnings logged: %d (first: %s)\n", n, b.Warns.First())
	}
	if b.planFail {
		b.printf("%v\n", errPlan)
	}
}
