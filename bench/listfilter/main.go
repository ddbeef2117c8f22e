// Command listfilter measures scimbridge's lookups through a multi-valued attribute kept in a side table
// ([[users.lists]]), on the "Helpdesk" example (examples/helpdesk: emails in user_emails, one row per
// address, with KEY address), against a real MariaDB/MySQL server on loopback:
//
//   - it seeds -users users (default 100,000) with multi-row INSERTs straight into users, user_emails (a
//     work primary and a home address each), user_profiles and scim_users — not through scimbridge — after
//     checking on one user POSTed through HTTP that the seed writes exactly the rows the store writes;
//   - it prints EXPLAIN of the two queries ListUsers runs for emails.value eq "<a home address>" (the
//     COUNT and the page) and checks that user_emails is read by ref on its address key: PASS or FAIL, and
//     a FAIL makes the exit status 1;
//   - it times GET /Users?filter=emails.value eq "<random address>" over HTTP at each -concurrency, beside
//     userName eq (users.login, a unique index) and the raw SQL ceiling (the store's page query run by a
//     plain sqlx loop);
//   - it times POST /Users of users with 2 emails and a profile (-posts per concurrency; 0 skips it).
//
// It creates its own database (scimbridge_bench_<random>) on the test server (SCIMBRIDGE_TEST_DSN, default
// root@tcp(127.0.0.1:3306)/) and drops it at the end, also on error or interrupt. Every phase has a fixed
// count, and -timeout bounds the whole run.
//
//	go run ./bench/listfilter                                     # 100000 users, 2000 requests at 1 and 8 clients
//	go run ./bench/listfilter -users 10000 -requests 500 -posts 200
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

type options struct {
	dsn         string
	example     string // directory holding schema.sql and scimbridge.toml
	users       int
	requests    int
	posts       int
	concurrency []int
	batch       int
	seedWorkers int
	dbConns     int
	timeout     time.Duration
}

// errPlan is returned when the EXPLAIN check failed but every phase ran.
var errPlan = errors.New("EXPLAIN check FAILED (see the FAIL lines above)")

func main() {
	var o options
	var conc string
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.StringVar(&o.example, "example", "examples/helpdesk", "directory with schema.sql and scimbridge.toml (relative to the module root)")
	flag.IntVar(&o.users, "users", 100000, "users loaded (the first through POST /Users, the rest by SQL)")
	flag.IntVar(&o.requests, "requests", 2000, "GET requests (and ceiling SELECTs) per filter and concurrency")
	flag.IntVar(&o.posts, "posts", 2000, "users POSTed (2 emails + profile) per concurrency; 0 skips the phase")
	flag.StringVar(&conc, "concurrency", "1,8", "comma-separated numbers of concurrent clients; every timed phase runs at each")
	flag.IntVar(&o.batch, "batch", 1000, "users per seeding transaction")
	flag.IntVar(&o.seedWorkers, "seed-workers", 4, "seeding goroutines")
	flag.IntVar(&o.dbConns, "db-conns", 20, "connection pool size of the store and of the ceiling (scimbridge's default is 20)")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	flag.Parse()
	for _, f := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			o.concurrency = nil
			break
		}
		o.concurrency = append(o.concurrency, n)
	}
	if o.users < 2 || o.requests < 1 || o.posts < 0 || o.batch < 1 || o.seedWorkers < 1 || o.dbConns < 1 || len(o.concurrency) == 0 {
		benchrun.Exit("listfilter", 2, "need -users >= 2, -requests, -batch, -seed-workers, -db-conns >= 1, -posts >= 0, -concurrency like 1,8")
	}
	ex, err := readExample(o.example)
	if err != nil {
		benchrun.Exit("listfilter", 1, err)
	}
	benchrun.Main("listfilter", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		b, err := newBench(ctx, o, ex, dsn, out)
		if err != nil {
			return err
		}
		defer b.Close()
		return b.run(ctx)
	})
}
