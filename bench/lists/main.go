// Command lists measures scimbridge's list and lookup paths on a large users table: GET /Users?count=1,
// index pages of 100 at the start, middle and end, cursor pages (RFC 9865), a full listing by cursor in
// pages of 200, and userName / emails.value / externalId eq filters, with the process's peak RSS.
//
// It seeds its own database (scimbridge_bench_<random>, dropped at the end) with SQL from MariaDB's
// seq_1_to_N table: app rows and bookkeeping rows as the store writes them, 1 % of them deleted through
// SCIM (tombstones) and 5 % inactive.
//
//	go run ./bench/lists -users 100000
//	go run ./bench/lists -users 1000000 -full=false
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
	dsn     string
	db      string
	users   int
	reps    int
	clients int
	lookups int
	full    bool
	emails  bool
	timeout time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.StringVar(&o.db, "db", "", "use this database, created and seeded if missing, and keep it (a 1,000,000-user dataset for several runs)")
	flag.IntVar(&o.users, "users", 100000, "users seeded")
	flag.IntVar(&o.reps, "reps", 20, "requests per single-client measurement")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients of the filter lookups")
	flag.IntVar(&o.lookups, "lookups", 1000, "requests per filter lookup measurement")
	flag.BoolVar(&o.full, "full", true, "list every user by cursor in pages of 200")
	flag.BoolVar(&o.emails, "emails", true, "time emails.value eq (emails in the bookkeeping documents, looked up in the values table)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.users < 1000 || o.reps < 1 || o.clients < 1 || o.lookups < 1 {
		benchrun.Exit("lists", 2, "-users must be >= 1000, -reps, -clients and -lookups >= 1")
	}
	benchrun.MainIn("lists", o.dsn, o.db, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		return run(ctx, o, dsn, out)
	})
}
