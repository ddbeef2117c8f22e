// Command minimal measures scimbridge beside a hand-written minimal SCIM server on the same tables (the
// "SQL ceiling" of issue 14): POST /Users and PATCH of active by 8 clients, and filter=userName eq on a
// seeded table of -users users, by 8 clients and by 1, each round running every server, started by
// another one each round, and prints the ratio table. With -features a third server runs too: the
// minimal server doing, by hand and in scimbridge's round trips, the SQL of scimbridge's features
// (tombstone and adoption lookups, values rows, audit, the record of the columns written, the users
// count, the end of SSO sessions: features.go), the floor of a server with those features; the summary
// gives scimbridge's ratio to the ceiling and to the floor.
//
//	go run ./bench/minimal -users 100000
//	go run ./bench/minimal -db scimbridge_bench_1m -users 1000000   # a kept 1,000,000-user dataset
//	go run ./bench/minimal -users 100000 -roles                     # scimbridge with [roles]
//	go run ./bench/minimal -users 100000 -features -rounds 3       # also the floor of scimbridge's features
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/scimbridge/scimbridge/bench/internal/benchrun"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

type options struct {
	dsn     string
	db      string
	users   int
	posts   int
	gets    int
	clients int
	rounds  int
	roles   bool
	feats   bool
	timeout time.Duration
	cpuProf string
	blkProf string
	profOp  string
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.StringVar(&o.db, "db", "", "use this database, created and seeded if missing, and keep it")
	flag.IntVar(&o.users, "users", 100000, "users seeded")
	flag.IntVar(&o.posts, "posts", 1000, "POSTs (and PATCHes) per server per round")
	flag.IntVar(&o.gets, "gets", 2000, "lookups per server per round by -clients clients (a quarter of it by 1 client)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds; each runs every server, each round started by the next one (with -features use a multiple of 3)")
	flag.BoolVar(&o.roles, "roles", false, "configure scimbridge with [roles] (a role column, default viewer)")
	flag.BoolVar(&o.feats, "features", false, "the minimal server's writes also do the SQL of scimbridge's features (features.go)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	flag.StringVar(&o.blkProf, "blockprofile", "", "write a blocking profile of the whole run to this file")
	flag.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (both servers and the client) to this file")
	flag.StringVar(&o.profOp, "profile-op", "", `with -cpuprofile, profile only scimbridge's phases of this measurement (e.g. "POST /Users")`)
	flag.Parse()
	if o.cpuProf != "" && o.profOp == "" {
		f, err := os.Create(o.cpuProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			benchrun.Exit("minimal", 1, "cpuprofile: "+err.Error())
		}
		defer pprof.StopCPUProfile()
	}
	if o.blkProf != "" {
		// Where goroutines wait (channels, locks, the connection pool), which the CPU profile cannot show.
		runtime.SetBlockProfileRate(int(time.Microsecond))
		defer func() {
			if f, err := os.Create(o.blkProf); err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	if o.users < 1000 || o.posts < 1 || o.gets < 1 || o.clients < 1 || o.rounds < 1 {
		benchrun.Exit("minimal", 2, "-users must be >= 1000, -posts, -gets, -clients and -rounds >= 1")
	}
	benchrun.MainIn("minimal", o.dsn, o.db, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		return run(ctx, o, dsn, out)
	})
}
