// Command webhooklag measures how far webhook delivery falls behind the writes: scimbridge built by
// internal/app (as `scimbridge serve` builds it) with one [[webhooks]] endpoint on a fast loopback
// receiver that verifies every signature, under -clients clients of mixed SCIM writes (POST, PUT, PATCH,
// DELETE of users, group member adds and removes) for -duration. It reports the commit-to-receipt
// latency (the event's "time", taken in the write's transaction, against the moment the receiver got
// it) at p50/p99, the delivery rate against the event rate, the backlog when the load stops and how
// long it takes to drain, and checks that every event arrived once, validly signed, in order per subject.
//
// It creates its own database (scimbridge_bench_<random>) and drops it at the end.
//
//	go run ./bench/webhooklag                         # 8 clients for 30s
//	go run ./bench/webhooklag -duration 2m -lanes 16  # longer, more posts in flight per endpoint
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
	clients  int
	duration time.Duration
	groups   int
	lanes    int // webhook.Options.Parallel; 0: the default
	poll     time.Duration
	drainMax time.Duration
	timeout  time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dsn, "dsn", testdb.ServerDSN(), "server DSN without a database (default from SCIMBRIDGE_TEST_DSN)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent SCIM clients writing")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long the clients write")
	flag.IntVar(&o.groups, "groups", 10, "groups the clients add members to and remove them from")
	flag.IntVar(&o.lanes, "lanes", 0, "posts in flight per endpoint (webhook.Options.Parallel; 0: the default)")
	flag.DurationVar(&o.poll, "poll", 0, "webhook.Options.PollInterval (0: the default)")
	flag.DurationVar(&o.drainMax, "drain-max", 10*time.Minute, "how long to wait for the backlog to drain after the load")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole run")
	flag.Parse()
	if o.clients < 1 || o.groups < 1 || o.duration <= 0 {
		benchrun.Exit("webhooklag", 2, "-clients and -groups must be >= 1, -duration positive")
	}
	benchrun.Main("webhooklag", o.dsn, o.timeout, func(ctx context.Context, dsn string, out io.Writer) error {
		return run(ctx, dsn, o, out)
	})
}
