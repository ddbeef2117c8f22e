// Command scimload measures scimbridge against a real MariaDB/MySQL server on loopback: POST /Users
// throughput, then GET /Users?filter=userName eq "..." latency on a table of 100,000 users, each beside a
// plain sqlx ceiling (the same INSERTs and SELECTs without scimbridge, on the same database and machine).
//
// It creates its own database (scimbridge_bench_<random>) on the test server (SCIMBRIDGE_TEST_DSN, default
// root@tcp(127.0.0.1:3306)/) and drops it at the end, also on error or interrupt. It stops by itself: every
// phase has a fixed count, and -timeout bounds the whole run.
//
//	go run ./bench/scimload                      # defaults: 8 clients, 5000 POSTs, 100000 users, 5000 GETs
//	go run ./bench/scimload -posts 1000 -users 20000 -gets 1000
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
	dsn         string
	concurrency int
	posts       int
	users       int
	gets        int
	seed        string
	batch       int
	dbConns     int
	timeout     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.IntVar(&o.concurrency, "concurrency", 8, "concurrent clients in every timed phase")
	flag.IntVar(&o.posts, "posts", 5000, "phase 1: users created with POST /Users (and rows in the INSERT ceiling)")
	flag.IntVar(&o.users, "users", 100000, "phase 2: total users after seeding")
	flag.IntVar(&o.gets, "gets", 5000, "phase 3: GET /Users?filter=... requests (and SELECTs in the lookup ceiling)")
	flag.StringVar(&o.seed, "seed", "sql", `phase 2 seeding: "sql" (multi-row INSERTs into users and scim_users) or "store" (mysql.Store.CreateUser)`)
	flag.IntVar(&o.batch, "batch", 1000, `rows per transaction when -seed=sql`)
	flag.IntVar(&o.dbConns, "db-conns", 20, "connection pool size of the store and of the ceiling (scimbridge's default is 20)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.concurrency < 1 || o.posts < 1 || o.gets < 1 || o.batch < 1 || o.dbConns < 1 || (o.seed != "sql" && o.seed != "store") {
		benchrun.Exit("scimload", 2, "-concurrency, -posts, -gets, -batch, -db-conns must be >= 1 and -seed sql or store")
	}
	benchrun.Main("scimload", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		b, err := newBench(ctx, o, dsn, out)
		if err != nil {
			return err
		}
		defer b.Close()
		return b.run(ctx)
	})
}
