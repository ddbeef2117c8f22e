package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one timed phase measured.
type result struct {
	n         int             // operations attempted
	failures  int             // operations that returned an error
	firstErr  error           // the first of them
	elapsed   time.Duration   // wall time of the phase
	latencies []time.Duration // of every operation, sorted
}

func (r result) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.n-r.failures) / r.elapsed.Seconds()
}

// pct is the nearest-rank percentile p (0..100) of the latencies.
func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.latencies))+0.5) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

func (r result) String() string {
	s := fmt.Sprintf("%d ops in %s: %.0f ops/s, p50 %s, p99 %s, max %s, %d failed",
		r.n, r.elapsed.Round(time.Millisecond), r.perSecond(), ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(100)), r.failures)
	if r.firstErr != nil {
		s += fmt.Sprintf(" (first: %v)", r.firstErr)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// hammer runs op(i) for i in [0, n) on conc goroutines and times each call. It stops early, counting the
// rest as not attempted, when ctx ends.
func hammer(ctx context.Context, n, conc int, op func(ctx context.Context, i int) error) (result, error) {
	var next atomic.Int64
	var mu sync.Mutex
	res := result{latencies: make([]time.Duration, 0, n)}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
			res.latencies = append(res.latencies, lat...)
			res.failures += fails
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n = len(res.latencies)
	sort.Slice(res.latencies, func(a, b int) bool { return res.latencies[a] < res.latencies[b] })
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("stopped after %d of %d operations: %w", res.n, n, err)
	}
	return res, nil
}
