package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// ErrNotFound is returned for an unknown delivery id or endpoint name.
var ErrNotFound = errors.New("not found")

// Retry makes one dead or failed delivery due now, its attempts and give-up clock starting afresh.
func (w *Worker) Retry(ctx context.Context, id int64) error {
	return w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		var d struct {
			Endpoint string `db:"endpoint"`
			Status   string `db:"status"`
		}
		err := tx.GetContext(ctx, &d, "SELECT endpoint, status FROM "+w.t.Deliveries()+" WHERE id = ? FOR UPDATE", id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch d.Status {
		case StatusDelivered:
			return fmt.Errorf("delivery %d was delivered already; replay the endpoint to send it again", id)
		case StatusDisabled:
			return fmt.Errorf("delivery %d waits for its endpoint %q, which is disabled; enable the endpoint", id, d.Endpoint)
		case StatusPending, StatusFailed: // possibly in flight: only make it due now
			_, err = tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET next_attempt_at = ? WHERE id = ?", w.now().UTC(), id)
			return err
		}
		_, err = w.requeue(ctx, tx, "id = ?", id)
		return err
	})
}

// Skip makes a waiting (pending or failed) delivery dead at once, with reason as its last error, so that
// the later events of its subject go on; Retry brings it back. A delivery in flight loses its lease: the
// outcome of that attempt is then not recorded.
func (w *Worker) Skip(ctx context.Context, id int64, reason string) error {
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		var status string
		err := tx.GetContext(ctx, &status, "SELECT status FROM "+w.t.Deliveries()+" WHERE id = ? FOR UPDATE", id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if status != StatusPending && status != StatusFailed {
			return fmt.Errorf("delivery %d is %s, not waiting: nothing to skip", id, status)
		}
		_, err = tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
			StatusDead, shorten("skipped by an operator: "+reason), id)
		return err
	})
	if err == nil {
		w.stats.skipped.Add(1)
		w.log.Warn("webhooks: delivery skipped by an operator; it is dead (scimbridge webhooks retry brings it back)", "id", id, "reason", reason)
	}
	return err
}

// RetryDead makes every dead delivery of an endpoint ("": of every endpoint) due now, and returns how
// many there were.
func (w *Worker) RetryDead(ctx context.Context, endpoint string) (int64, error) {
	where, args := "status = ?", []any{StatusDead}
	if endpoint != "" {
		where, args = where+" AND endpoint = ?", append(args, endpoint)
	}
	var n int64
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) (err error) {
		n, err = w.requeue(ctx, tx, where, args...)
		return err
	})
	return n, err
}

// requeue makes the deliveries matching where pending and due now, as if just enqueued.
func (w *Worker) requeue(ctx context.Context, tx *bookkeeping.Tx, where string, args ...any) (int64, error) {
	now := w.now().UTC()
	res, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = ?, attempts = 0, enqueued_at = ?, next_attempt_at = ?,"+
		" lease_owner = NULL, lease_until = NULL, delivered_at = NULL WHERE "+where, append([]any{StatusPending, now, now}, args...)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Replay enqueues again every event of the outbox that occurred since since and that the endpoint
// subscribes to, delivered or not, and returns how many. Events pruned from the outbox cannot be
// replayed; those not fanned out yet are left to the worker.
func (w *Worker) Replay(ctx context.Context, endpoint string, since time.Time) (int, error) {
	return w.ReplayProgress(ctx, endpoint, since, nil)
}

// ReplayProgress is Replay telling progress, if not nil, after each batch how many of the outbox
// events since since it has gone through, of how many. The replay is one transaction, which may run
// more than once: the count may then start again.
func (w *Worker) ReplayProgress(ctx context.Context, endpoint string, since time.Time, progress func(done, total int)) (int, error) {
	ep := w.byName[endpoint]
	if ep == nil {
		return 0, fmt.Errorf("endpoint %q is not configured: %w", endpoint, ErrNotFound)
	}
	count := 0
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		count = 0
		now := w.now().UTC()
		var c cursor
		err := tx.GetContext(ctx, &c, "SELECT "+cursorColumns+" FROM "+w.t.Cursors()+" WHERE endpoint = ? FOR UPDATE", endpoint)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("endpoint %q has never run: %w", endpoint, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var rows []outboxRef
		if err := tx.SelectContext(ctx, &rows, "SELECT seq, event_id, type, subject FROM "+w.t.Outbox()+
			" WHERE occurred_at >= ? AND seq <= ? ORDER BY seq", since.UTC(), c.ScanSeq); err != nil {
			return err
		}
		status := StatusPending
		if c.Disabled {
			status = StatusDisabled
		}
		total := len(rows)
		for len(rows) > 0 {
			if progress != nil {
				progress(total-len(rows), total)
			}
			var args, seqs []any
			n := 0
			for _, r := range rows[:min(len(rows), 200)] {
				if ep.Wants(r.Type) {
					args = append(args, endpoint, r.Seq, r.EventID, r.Type, r.Subject, status, now, now)
					seqs = append(seqs, r.Seq)
					n++
				}
			}
			rows = rows[min(len(rows), 200):]
			if n == 0 {
				continue
			}
			// New deliveries are inserted; existing ones are reset by a plain UPDATE rather than in ON DUPLICATE
			// KEY UPDATE, where go-mysql-server (the demo's engine) does not recompute the generated `waiting`.
			q := w.run.D.InsertKeeping(w.t.Deliveries(), deliveryCols, n)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = ?, attempts = 0, enqueued_at = ?, next_attempt_at = ?,"+
				" lease_owner = NULL, lease_until = NULL, delivered_at = NULL WHERE endpoint = ? AND seq IN ("+marks(n)+")",
				append([]any{status, now, now, endpoint}, seqs...)...); err != nil {
				return err
			}
			count += n
		}
		if progress != nil {
			progress(total, total)
		}
		return nil
	})
	return count, err
}

// Enable lifts an endpoint's 410 disablement: its disabled deliveries become pending, due now, and
// are sent in order. It returns how many.
func (w *Worker) Enable(ctx context.Context, endpoint string) (int64, error) {
	var n int64
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) (err error) {
		var one int
		err = tx.GetContext(ctx, &one, "SELECT 1 FROM "+w.t.Cursors()+" WHERE endpoint = ? FOR UPDATE", endpoint)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("endpoint %q: %w", endpoint, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Cursors()+" SET disabled_at = NULL, disabled_reason = NULL WHERE endpoint = ?", endpoint); err != nil {
			return err
		}
		n, err = w.requeue(ctx, tx, "endpoint = ? AND status = ?", endpoint, StatusDisabled)
		return err
	})
	return n, err
}

// Forget deletes the deliveries and cursor of an endpoint that is no longer configured, so that the
// outbox events it still owed can be pruned.
func (w *Worker) Forget(ctx context.Context, endpoint string) (int64, error) {
	if w.byName[endpoint] != nil {
		return 0, fmt.Errorf("endpoint %q is configured; remove it from the configuration first", endpoint)
	}
	var n int64
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM "+w.t.Deliveries()+" WHERE endpoint = ?", endpoint)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, "DELETE FROM "+w.t.Cursors()+" WHERE endpoint = ?", endpoint)
		return err
	})
	return n, err
}
