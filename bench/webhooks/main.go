// Command webhooks measures scimbridge's webhook delivery against a real MariaDB/MySQL server and a
// receiver on loopback:
//
//  1. delivery: -events outbox events (-subjects users, realistic payloads) delivered by -workers
//     webhook.Workers to a receiver that verifies every signature with the Standard Webhooks Go library;
//     events/s from the workers' start until the last is recorded delivered, and duplicates (must be 0);
//  2. outbox cost: the price the outbox adds to each SCIM write. mysql.Store has no switch to turn the
//     outbox off, so it is measured directly: -txs transactions of "INSERT an app row; COMMIT" against
//     "INSERT an app row; INSERT an outbox row; COMMIT", at -concurrency; then mysql.Store.CreateUser
//     (what POST /Users runs, outbox included, without HTTP) for scale.
//
// It creates its own database (scimbridge_bench_<random>) and drops it at the end, also on error or
// interrupt; every phase has a fixed count and -timeout bounds the run.
//
//	go run ./bench/webhooks                     # 5000 events, 1 worker; 2000 transactions, 8 clients
//	go run ./bench/webhooks -workers 2 -parallel 16
//	go run ./bench/webhooks -gap                # the same backlog behind a rolled-back transaction's seq
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

type options struct {
	dsn         string
	events      int
	subjects    int
	workers     int
	parallel    int
	txs         int
	concurrency int
	timeout     time.Duration
	gap         bool
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.IntVar(&o.events, "events", 5000, "phase 1: outbox events to deliver")
	flag.IntVar(&o.subjects, "subjects", 1000, "phase 1: distinct users the events are about (order is kept per user)")
	flag.IntVar(&o.workers, "workers", 1, "phase 1: workers (replicas) delivering at once")
	flag.IntVar(&o.parallel, "parallel", 8, "phase 1: deliveries each worker claims and posts at once (Options.Parallel)")
	flag.IntVar(&o.txs, "txs", 2000, "phase 2: transactions of each kind")
	flag.IntVar(&o.concurrency, "concurrency", 8, "phase 2: concurrent clients")
	flag.BoolVar(&o.gap, "gap", false, "phase 1: roll back one outbox INSERT before the events, leaving a gap in the seqs as a deadlock retry does")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.events < 1 || o.subjects < 1 || o.workers < 1 || o.parallel < 1 || o.txs < 1 || o.concurrency < 1 {
		benchrun.Exit("webhooks", 2, "every count must be >= 1")
	}
	benchrun.Main("webhooks", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		return run(ctx, dsn, o, out)
	})
}

// run does the whole benchmark in the database of dsn.
func run(ctx context.Context, dsn string, o options, out io.Writer) error {
	db, err := mysql.Open(dsn, 20)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := mysql.Migrate(ctx, db, "scim_"); err != nil {
		return err
	}
	var version string
	_ = db.GetContext(ctx, &version, "SELECT VERSION()")
	fmt.Fprintf(out, "machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s; everything on this machine, HTTP on loopback\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version)

	if err := deliveryPhase(ctx, db, o, out); err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	return outboxCostPhase(ctx, db, o, out)
}
