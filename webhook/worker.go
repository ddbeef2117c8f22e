// Package webhook delivers the events of scimbridge's transactional outbox (adapters/mysql writes one
// row per change, in the change's own transaction) to the host app's endpoints: signed the Standard
// Webhooks way, retried with exponential backoff persisted in the database, in order per subject, at
// least once, and never lost. See README.md beside this file.
//
// Per endpoint, a Worker fans new outbox rows out into delivery rows (fanout.go), claims due deliveries
// with a lease (claim.go), posts them (send.go) and records the outcome (deliver.go). Several replicas
// may run Workers on one database: claims use SELECT ... FOR UPDATE SKIP LOCKED, and a dead replica's
// leases expire. Operations for people (List, Retry, Replay, ...) are in ops.go and prune.go.
package webhook

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// Options are a Worker's settings and dependencies; zero values get the defaults in brackets.
type Options struct {
	Prefix    string     // bookkeeping table prefix ["scim_"]
	Endpoints []Endpoint // the receivers; none is fine (the Worker then only prunes the outbox)
	Log       *slog.Logger

	Now   func() time.Time // clock of every decision: due times, leases, backoff, pruning [time.Now]
	Rand  func() float64   // uniform in [0, 1), for backoff jitter [a source private to the Worker]
	Owner string           // lease owner written on claims; unique per process [host-pid-random]

	PollInterval time.Duration // pause when an endpoint has nothing to do and Notify is not called [500ms]
	Parallel     int           // posts in flight at once per endpoint (lanes), unless its Concurrency says otherwise [8]
	ClaimBatch   int           // deliveries claimed, posted and recorded per round per endpoint [256]
	FanOutBatch  int           // outbox rows fanned out per transaction [500]
	GapGrace     time.Duration // how long a missing outbox seq may still commit [5m]
	MaxGaps      int           // runs of missing outbox seqs remembered per endpoint; beyond, the oldest are given up [1000]
	PruneEvery   time.Duration // how often delivered rows and old outbox rows are pruned [10m]

	BackoffBase time.Duration // wait after the first failed attempt, doubling each time [10s]
	BackoffMax  time.Duration // longest wait between attempts [1h]; waits are jittered ±20%

	ShortRetries int           // quick retries inside one attempt, by go-retryablehttp [2]; -1: none
	ShortWaitMin time.Duration // [200ms]
	ShortWaitMax time.Duration // [2s]
	Lease        time.Duration // how long a claim is exclusive [one attempt's longest duration + 30s]
	StopGrace    time.Duration // deliveries in flight may finish this long after Run's ctx ends [5s]
	// FanOutLease is how long a replica keeps fanning out an endpoint's events without renewing its
	// lease (fanout:<endpoint>); a replica that died hands fan-out over this long after [30s].
	FanOutLease time.Duration

	// OnOutcome, if set, learns of each delivery outcome recorded: result is "delivered", "failed",
	// "dead" or "interrupted" (by shutdown) [none].
	OnOutcome func(endpoint, result string)
	// OnTxRetry, if set, is called each time one of the worker's transactions runs again after a lock
	// conflict (the retries metric, as the store's) [none].
	OnTxRetry func()
}

// Worker delivers outbox events to endpoints and offers the operations on deliveries.
type Worker struct {
	db        *sqlx.DB
	run       bookkeeping.Runner // every transaction, retried after lock conflicts
	leases    bookkeeping.Leases // the work one replica does: fan-out per endpoint, pruning
	t         bookkeeping.Tables
	o         Options
	endpoints []*endpoint
	byName    map[string]*endpoint
	log       *slog.Logger
	now       func() time.Time
	rand      func() float64
	stats     counters
}

// endpoint is an Endpoint with what the Worker needs to deliver to it.
type endpoint struct {
	Endpoint
	send  *sender
	lease time.Duration
	lanes int           // posts in flight at once: Concurrency, else Options.Parallel
	wake  chan struct{} // Notify's signal: something may have been committed
	// heldUntil is when this Worker's fan-out lease ends, as it last took or renewed it; only
	// runEndpoint's goroutine touches it.
	heldUntil time.Time
}

// New checks the endpoints and builds a Worker. The tables must have been migrated
// (adapters/mysql.Migrate) and db opened with adapters/mysql.Open (UTC times).
func New(db *sqlx.DB, o Options) (*Worker, error) {
	o = withDefaults(o)
	t := bookkeeping.NewTables(o.Prefix, bookkeeping.MySQL)
	w := &Worker{db: db, t: t, o: o, byName: map[string]*endpoint{}, log: o.Log, now: o.Now, rand: o.Rand,
		run:    bookkeeping.Runner{DB: db, Tables: t, D: bookkeeping.MySQL, Now: o.Now, Log: o.Log, OnRetry: o.OnTxRetry, Rand: o.Rand},
		leases: bookkeeping.Leases{DB: db, Tables: t, Owner: o.Owner, Now: o.Now}}
	for _, e := range o.Endpoints {
		if err := e.check(); err != nil {
			return nil, err
		}
		if w.byName[e.Name] != nil {
			return nil, fmt.Errorf("two webhook endpoints are named %q", e.Name)
		}
		ep := &endpoint{Endpoint: e, lanes: o.Parallel, wake: make(chan struct{}, 1)}
		if e.Concurrency > 0 {
			ep.lanes = e.Concurrency
		}
		ep.send = newSender(&ep.Endpoint, &o, ep.lanes)
		ep.lease = o.Lease
		if ep.lease <= 0 {
			ep.lease = ep.send.maxDuration() + 30*time.Second
		}
		w.endpoints = append(w.endpoints, ep)
		w.byName[e.Name] = ep
	}
	return w, nil
}

func withDefaults(o Options) Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Prefix == "" {
		o.Prefix = "scim_"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:])
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
		var mu sync.Mutex
		o.Rand = func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
	}
	if o.Owner == "" {
		o.Owner = bookkeeping.ProcessOwner()
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 256
	}
	if o.FanOutBatch <= 0 {
		o.FanOutBatch = 500
	}
	if o.MaxGaps <= 0 {
		o.MaxGaps = 1000
	}
	if o.ShortRetries == 0 {
		o.ShortRetries = 2
	}
	def(&o.PollInterval, 500*time.Millisecond)
	def(&o.GapGrace, 5*time.Minute)
	def(&o.PruneEvery, 10*time.Minute)
	def(&o.BackoffBase, 10*time.Second)
	def(&o.BackoffMax, time.Hour)
	def(&o.ShortWaitMin, 200*time.Millisecond)
	def(&o.ShortWaitMax, 2*time.Second)
	def(&o.StopGrace, 5*time.Second)
	def(&o.FanOutLease, 30*time.Second)
	return o
}

// Run delivers until ctx ends: one goroutine per endpoint, so a slow or failing endpoint holds back no
// other, and one that prunes. Database errors are logged and retried; Run returns when ctx ends, or
// at once when an endpoint has no secret.
func (w *Worker) Run(ctx context.Context) error {
	for _, ep := range w.endpoints {
		if len(ep.Secret) == 0 {
			return fmt.Errorf("webhook %q: no signing secret (EndpointsFromConfig reads it)", ep.Name)
		}
	}
	for wait := w.o.PollInterval; ; wait = min(2*wait, 30*time.Second) {
		err := w.Register(ctx)
		if err == nil {
			break
		}
		w.log.Warn("webhooks: cannot register the endpoints yet; retrying", "in", wait.String(), "err", err)
		if !sleep(ctx, wait) {
			return nil
		}
	}
	var wg sync.WaitGroup
	for _, ep := range w.endpoints {
		wg.Go(func() { w.runEndpoint(ctx, ep) })
	}
	wg.Go(func() { w.runPruner(ctx) })
	wg.Wait()
	return nil
}

func (w *Worker) runEndpoint(ctx context.Context, ep *endpoint) {
	w.log.Info("webhooks: delivering", "endpoint", ep.Name, "url", ep.URL, "events", ep.Events)
	// A replica that stops hands fan-out over at once rather than when its lease would end.
	defer func() { _ = w.leases.Release(context.WithoutCancel(ctx), "fanout:"+ep.Name) }()
	failures := 0
	for ctx.Err() == nil {
		busy, err := w.step(ctx, ep)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait := min(w.o.PollInterval<<min(failures, 6), 30*time.Second)
			w.log.Warn("webhooks: database error; retrying", "endpoint", ep.Name, "in", wait.String(), "err", err)
			sleep(ctx, wait)
		case busy:
			failures = 0
		default:
			failures = 0
			select {
			case <-ctx.Done():
			case <-ep.wake:
			case <-time.After(w.o.PollInterval):
			}
		}
	}
}

// Notify tells the Worker that a change may have committed events, so that idle endpoints look at the
// outbox at once instead of at their next poll. It never blocks; internal/app calls it after every
// SCIM write. Without it, the Worker polls every PollInterval, which also finds the writes of other
// processes.
func (w *Worker) Notify() {
	for _, ep := range w.endpoints {
		select {
		case ep.wake <- struct{}{}:
		default:
		}
	}
}

// step fans out new events, when this replica holds the endpoint's fan-out lease, and delivers one
// round; busy means there may be more to do at once. Every replica claims and sends deliveries; one fans
// out: on one server the cursor's row lock kept them apart, but a cluster's nodes lock nothing for each
// other, and two replicas fanning out the same rows through two nodes only conflict at commit.
func (w *Worker) step(ctx context.Context, ep *endpoint) (busy bool, err error) {
	fresh := 0
	held, err := w.holdFanOut(ctx, ep)
	if err != nil {
		return false, fmt.Errorf("fan-out lease: %w", err)
	}
	if held {
		if fresh, err = w.fanOut(ctx, ep); err != nil {
			return false, fmt.Errorf("fan-out: %w", err)
		}
	}
	n, err := w.deliverRound(ctx, ep)
	if err != nil {
		return false, fmt.Errorf("delivery: %w", err)
	}
	return fresh >= w.o.FanOutBatch || n > 0, nil
}

// holdFanOut takes or renews the endpoint's fan-out lease. A lease with more than two thirds of its
// time left is not renewed: every renewal is a write every node of a cluster applies, and polls come
// every PollInterval.
func (w *Worker) holdFanOut(ctx context.Context, ep *endpoint) (bool, error) {
	now := w.now()
	if now.Before(ep.heldUntil.Add(-2 * w.o.FanOutLease / 3)) {
		return true, nil
	}
	held, err := w.leases.Hold(ctx, "fanout:"+ep.Name, w.o.FanOutLease)
	if err != nil || !held {
		ep.heldUntil = time.Time{}
		return false, err
	}
	ep.heldUntil = now.Add(w.o.FanOutLease)
	return true, nil
}

func (w *Worker) runPruner(ctx context.Context) {
	for sleep(ctx, w.o.PruneEvery) {
		// One replica prunes each round: the others would only wait on its locks.
		var n Pruned
		ran, err := w.leases.Run(ctx, "prune", w.o.PruneEvery, func(ctx context.Context) error {
			var err error
			n, err = w.Prune(ctx)
			return err
		})
		if !ran && err == nil {
			continue
		}
		if err != nil && ctx.Err() == nil {
			w.log.Warn("webhooks: pruning failed", "err", err)
		} else if n.Deliveries+n.Outbox > 0 {
			w.log.Info("webhooks: pruned", "deliveries", n.Deliveries, "outbox_events", n.Outbox)
		}
	}
}

// sleep waits d, or less when ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
