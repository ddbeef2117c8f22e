// Command console measures how fast every page of the admin console loads on a large directory: it
// seeds users with SQL (app rows and bookkeeping rows as the store writes them, their values reindexed),
// puts groups with members, SCIM requests, audit rows and dead webhook deliveries on top through
// scimbridge itself, signs in to the console over loopback and GETs each page repeatedly. Beside each
// page it shows the floor: the console's stylesheet fetched the same way (HTTP, session check, no data).
//
//	go run ./bench/console              # 100,000 users
//	go run ./bench/console -users 10000 -reps 10
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
	dsn      string
	users    int
	reps     int
	requests int
	timeout  time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.IntVar(&o.users, "users", 100000, "users seeded")
	flag.IntVar(&o.reps, "reps", 20, "GETs of each page")
	flag.IntVar(&o.requests, "requests", 500, "SCIM requests sent through scimbridge before measuring (the Requests page's ring, audit rows)")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.users < 10000 || o.reps < 1 || o.requests < 10 {
		benchrun.Exit("console", 2, "-users must be >= 10000 (10 groups of 1,000), -reps >= 1, -requests >= 10")
	}
	benchrun.Main("console", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		return run(ctx, o, dsn, out)
	})
}
