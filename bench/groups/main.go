// Command groups measures scimbridge's group membership and role paths against a real MariaDB/MySQL
// server on loopback:
//
//   - one PATCH /Groups/{id} adding -members users (default 10,000) to one group, over HTTP, with a role
//     mapping in force (so the request also recomputes the app role of every added user), and the PATCHes
//     that take them out again (remove with a value list, remove without a value, replace []), plus
//     Okta's replace with the full list;
//   - mysql.Store.ReconcileRoles over -users users (default 100,000; column store, half of them in mapped
//     groups): from scratch (every row changes), again (nothing changes), and after 1 % of the rows were
//     edited by hand (kept: scimbridge did not write them).
//
// It creates its own database (scimbridge_bench_<random>) on the test server (SCIMBRIDGE_TEST_DSN, default
// root@tcp(127.0.0.1:3306)/), listens on 127.0.0.1 only, and drops the database at the end, also on error
// or interrupt. Every phase has a fixed size and -timeout bounds the whole run.
//
//	go run ./bench/groups
//	go run ./bench/groups -users 20000 -members 5000
package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

type options struct {
	dsn            string
	users          int
	members        int
	batch          int
	concurrency    int
	requestTimeout time.Duration
	timeout        time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.IntVar(&o.users, "users", 100000, "users seeded (through SQL) and reconciled")
	flag.IntVar(&o.members, "members", 10000, "members added and removed by one PATCH (at most -users)")
	flag.IntVar(&o.batch, "batch", 1000, "rows per seeding transaction")
	flag.IntVar(&o.concurrency, "concurrency", 8, "seeding goroutines")
	flag.DurationVar(&o.requestTimeout, "request-timeout", 15*time.Second, "agent RequestTimeout (scimbridge's default is 15s)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.users < 2 || o.members < 1 || o.members > o.users || o.batch < 1 || o.concurrency < 1 {
		benchrun.Exit("groups", 2, "need -users >= 2, 1 <= -members <= -users, -batch and -concurrency >= 1")
	}
	benchrun.Main("groups", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		b, err := newBench(ctx, o, dsn, out)
		if err != nil {
			return err
		}
		defer b.Close()
		return b.run(ctx)
	})
}
