// Package progress shows how far long work has come (the role reconcile at start, a webhook replay):
// the count, the rate and the time left. On a terminal it redraws one line in place; otherwise (a
// service's log) it writes a log line now and then, so that a long start is not mistaken for a hang.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Options say where progress goes.
type Options struct {
	Terminal io.Writer        // a terminal to redraw a line on; nil writes log lines instead
	Log      *slog.Logger     // where log lines go [discards]
	Now      func() time.Time // [time.Now]
	Every    time.Duration    // time between log lines [10s]; the terminal line is redrawn at most every 100ms
}

// Reporter shows the progress of one piece of work. It is not safe for concurrent use.
type Reporter struct {
	what     string
	o        Options
	start    time.Time
	last     time.Time // of the last line shown
	total    int
	done     int
	drawn    bool
	interval time.Duration
}

// Start begins reporting work named what (such as "roles reconcile") of total items (0 when unknown).
func Start(what string, total int, o Options) *Reporter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	r := &Reporter{what: what, o: o, total: total, interval: o.Every}
	if o.Terminal != nil {
		r.interval = 100 * time.Millisecond
	}
	r.start = o.Now()
	r.last = r.start
	return r
}

// SetTotal says how many items there are, once known.
func (r *Reporter) SetTotal(total int) { r.total = total }

// Update says that done items are finished (a total, not an increment). A total that grew is taken.
func (r *Reporter) Update(done int) {
	r.done = done
	if done > r.total && r.total > 0 {
		r.total = done
	}
	now := r.o.Now()
	if now.Sub(r.last) < r.interval {
		return
	}
	r.last = now
	r.show(now, false)
}

// Finish shows the last state: on a terminal the final line, ended; in the log nothing more (the caller
// logs the outcome of its work).
func (r *Reporter) Finish() {
	if r.o.Terminal != nil && (r.drawn || r.total > 0) {
		r.show(r.o.Now(), true)
	}
}

func (r *Reporter) show(now time.Time, final bool) {
	elapsed := now.Sub(r.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(r.done) / elapsed.Seconds()
	}
	eta := time.Duration(-1)
	if rate > 0 && r.total >= r.done {
		eta = time.Duration(float64(r.total-r.done) / rate * float64(time.Second)).Round(time.Second)
	}
	if r.o.Terminal == nil {
		attrs := []any{"done", r.done, "rate_per_s", roundRate(rate)}
		if r.total > 0 {
			attrs = append(attrs, "total", r.total)
		}
		if eta >= 0 && r.total > 0 {
			attrs = append(attrs, "eta", eta.String())
		}
		r.o.Log.Info(r.what+": in progress", attrs...)
		return
	}
	line := fmt.Sprintf("%s: %d", r.what, r.done)
	if r.total > 0 {
		line += fmt.Sprintf("/%d (%d%%)", r.total, r.done*100/r.total)
	}
	line += fmt.Sprintf(", %s/s", formatRate(rate))
	switch {
	case final:
		line += fmt.Sprintf(", took %s\n", elapsed.Round(time.Millisecond))
	case eta >= 0 && r.total > 0:
		line += fmt.Sprintf(", ETA %s", eta)
	}
	fmt.Fprintf(r.o.Terminal, "\r\033[K%s", line)
	r.drawn = true
}

func roundRate(rate float64) float64 { return float64(int64(rate*10+0.5)) / 10 }

func formatRate(rate float64) string {
	if rate >= 100 {
		return fmt.Sprintf("%.0f", rate)
	}
	return fmt.Sprintf("%.1f", rate)
}

// Terminal returns f when it is a terminal (a character device), else nil: what Options.Terminal takes.
func Terminal(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return f
}
