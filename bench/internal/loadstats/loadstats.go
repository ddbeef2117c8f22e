// Package loadstats times what the load tools under bench/ measure — a fixed number of operations on a
// fixed number of goroutines — and reports it the same way in every tool (ops/s, nearest-rank
// percentiles, failures), so that figures from different tools and runs can be set side by side.
package loadstats

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what one timed phase measured.
type Result struct {
	N         int             // operations attempted
	Failures  int             // operations that returned an error
	FirstErr  error           // the first of them
	Elapsed   time.Duration   // wall time of the phase
	Latencies []time.Duration // of every operation, sorted
	CPU       CPU             // used during the phase, when the tool measured it (ReadCPU)
}

// CPUPerOp is the phase's CPU per operation: the process's and the database's (-1 when unknown).
func (r Result) CPUPerOp() (self, db time.Duration) {
	if r.N == 0 {
		return 0, -1
	}
	db = -1
	if r.CPU.DB >= 0 {
		db = r.CPU.DB / time.Duration(r.N)
	}
	return r.CPU.Self / time.Duration(r.N), db
}

// PerSecond is the rate of successful operations over the phase's wall time.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N-r.Failures) / r.Elapsed.Seconds()
}

// Pct is the nearest-rank percentile p (0..100) of the latencies; Pct(100) is the slowest.
func (r Result) Pct(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[max(0, min(i, len(r.Latencies)-1))]
}

// String is the one-line report every tool prints for a phase.
func (r Result) String() string {
	s := fmt.Sprintf("%d ops in %s: %.0f ops/s, p50 %s, p95 %s, p99 %s, max %s, %d failed",
		r.N, r.Elapsed.Round(time.Millisecond), r.PerSecond(), MS(r.Pct(50)), MS(r.Pct(95)), MS(r.Pct(99)), MS(r.Pct(100)), r.Failures)
	if r.FirstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.FirstErr)
	}
	return s
}

// Merge adds o to r as if both had run as one phase, one after the other: for a measurement split into
// alternating rounds so that drift over the run (a warming buffer pool, other load) falls on both sides.
func (r *Result) Merge(o Result) {
	r.N += o.N
	r.Failures += o.Failures
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
	r.Elapsed += o.Elapsed
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.CPU.Self += o.CPU.Self
	if r.CPU.DB >= 0 {
		r.CPU.DB += o.CPU.DB
		if o.CPU.DB < 0 {
			r.CPU.DB = -1
		}
	}
	slices.Sort(r.Latencies)
}

// MS prints a latency in milliseconds with two decimals, the unit and precision of every report.
func MS(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// Check is a phase's error: err (from Hammer or Batches), else one for its failed operations, since the
// figures of a phase in which operations failed do not measure what they say.
func Check(r Result, err error) error {
	if err == nil && r.Failures > 0 {
		err = fmt.Errorf("%d of %d operations failed, first: %w", r.Failures, r.N, r.FirstErr)
	}
	return err
}

// Hammer runs op(i) for i in [0, n) on conc goroutines and times each call. It stops early, counting the
// rest as not attempted, when ctx ends. An operation's error is counted, not returned: the error is only
// for a phase cut short.
func Hammer(ctx context.Context, n, conc int, op func(ctx context.Context, i int) error) (Result, error) {
	var next atomic.Int64
	var mu sync.Mutex
	res := Result{Latencies: make([]time.Duration, 0, n)}
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/conc+1)
			var fails int
			var first error
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				t := time.Now()
				err := op(ctx, i)
				lat = append(lat, time.Since(t))
				if err != nil {
					fails++
					if first == nil {
						first = err
					}
				}
			}
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.Failures += fails
			if res.FirstErr == nil {
				res.FirstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.N = len(res.Latencies)
	slices.Sort(res.Latencies)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("stopped after %d of %d operations: %w", res.N, n, err)
	}
	return res, nil
}

// Batches runs op(from, to) over [0, n) cut into slices of size, on conc goroutines, as Hammer does: the
// way the tools seed large tables, one transaction per slice. The Result counts slices, not items.
func Batches(ctx context.Context, n, size, conc int, op func(ctx context.Context, from, to int) error) (Result, error) {
	return Hammer(ctx, (n+size-1)/size, conc, func(ctx context.Context, k int) error {
		return op(ctx, k*size, min((k+1)*size, n))
	})
}
