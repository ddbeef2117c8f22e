package loadstats

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Warnings is a slog.Handler that counts the warnings and errors scimbridge logs during a run (the
// store's transaction retries after lock conflicts, the agent's 5xx) and keeps the first, dropping the
// rest of the log: a load tool reports how many there were beside its figures, not a log. Its zero value
// is ready; use it by pointer.
type Warnings struct {
	n     atomic.Int64
	first atomic.Value // string
}

// Count is how many warnings and errors were logged so far.
func (w *Warnings) Count() int64 { return w.n.Load() }

// First is the first of them with its "err" attribute, or "" if none was logged.
func (w *Warnings) First() string {
	s, _ := w.first.Load().(string)
	return s
}

func (w *Warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *Warnings) Handle(_ context.Context, r slog.Record) error {
	w.n.Add(1)
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	w.first.CompareAndSwap(nil, msg)
	return nil
}

func (w *Warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *Warnings) WithGroup(string) slog.Handler      { return w }
