package webhook

import (
	"context"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// deliverRound claims up to ClaimBatch due deliveries of an endpoint, posts them over the endpoint's
// lanes (sendBatch) and records the outcomes in one transaction. It returns how many it claimed.
func (w *Worker) deliverRound(ctx context.Context, ep *endpoint) (int, error) {
	cs, err := w.claim(ctx, ep, w.o.ClaimBatch)
	if err != nil || len(cs) == 0 {
		return 0, err
	}
	// Posts in flight may finish for StopGrace after ctx ends, so that a stopping agent records what
	// it sent instead of leaving it to be sent again.
	postCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopTimer := context.AfterFunc(ctx, func() { time.AfterFunc(w.o.StopGrace, cancel) })
	defer stopTimer()

	outs := w.sendBatch(postCtx, ctx, ep, cs, ep.lanes)
	recordCtx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelRecord()
	return len(cs), w.record(recordCtx, ep, cs, outs)
}

// record writes the outcome of each claimed delivery, if this Worker still holds its lease (Replay or
// an expired lease may have handed it over), then disables the endpoint if it answered 410.
func (w *Worker) record(ctx context.Context, ep *endpoint, cs []claimed, outs []outcome) error {
	now := w.now().UTC()
	var gone *outcome
	type logLine struct {
		c      claimed
		o      outcome
		status string
		next   time.Time
		kept   bool
	}
	var lines []logLine
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		lines = lines[:0]
		all := make([]int64, len(cs))
		for i, c := range cs {
			all[i] = c.ID
		}
		// The rows whose lease is still this Worker's; Replay or an expired lease may have handed others over.
		var mine []int64
		if err := tx.SelectContext(ctx, &mine, "SELECT id FROM "+w.t.Deliveries()+" WHERE id IN ("+marks(len(all))+") AND lease_owner = ? FOR UPDATE",
			append(int64Args(all), w.o.Owner)...); err != nil {
			return err
		}
		kept := make(map[int64]bool, len(mine))
		for _, id := range mine {
			kept[id] = true
		}
		// Successes (nearly all, in a healthy run) and releases in one statement per kind and status.
		var released []int64
		delivered := map[int][]int64{}
		for i, c := range cs {
			o := outs[i]
			l := logLine{c: c, o: o, kept: kept[c.ID]}
			lines = append(lines, l)
			if !l.kept {
				continue
			}
			switch {
			case o.aborted || o.held:
				released = append(released, c.ID)
			case o.ok:
				lines[len(lines)-1].status = StatusDelivered
				delivered[o.status] = append(delivered[o.status], c.ID)
			default:
				st, next := w.afterFailure(ep, c, o, now)
				lines[len(lines)-1].status, lines[len(lines)-1].next = st, next
				if o.gone {
					gone = &outs[i]
				}
				// A delivery disabled meanwhile (410 seen by a parallel post) stays disabled.
				if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = IF(status IN ('pending', 'failed'), ?, status), attempts = attempts + 1,"+
					" next_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
					st, next, now, nullStatus(o.status), shorten(o.err), c.ID); err != nil {
					return err
				}
			}
		}
		for status, ids := range delivered {
			if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?,"+
				" last_error = NULL, delivered_at = ?, lease_owner = NULL, lease_until = NULL WHERE id IN ("+marks(len(ids))+")",
				append([]any{StatusDelivered, now, status, now}, int64Args(ids)...)...); err != nil {
				return err
			}
		}
		if len(released) > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET lease_owner = NULL, lease_until = NULL WHERE id IN ("+marks(len(released))+")",
				int64Args(released)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range lines {
		w.logOutcome(ep, l.c, l.o, l.status, l.next, l.kept)
	}
	if gone != nil {
		return w.disable(ctx, ep.Name, "the endpoint answered "+gone.err, now)
	}
	return nil
}

func (w *Worker) logOutcome(ep *endpoint, c claimed, o outcome, status string, next time.Time, kept bool) {
	attrs := []any{"endpoint", ep.Name, "event_id", c.EventID, "type", c.Type, "subject", c.Subject, "attempt", c.Attempts + 1}
	if kept && w.o.OnOutcome != nil {
		w.o.OnOutcome(ep.Name, outcomeResult(o, status))
	}
	switch {
	case !kept:
		w.log.Warn("webhooks: outcome not recorded: the delivery was handed over meanwhile (replay, or a lease that expired)", attrs...)
	case o.aborted:
		w.log.Info("webhooks: delivery interrupted by shutdown; it will be sent again", attrs...)
	case o.held:
		w.log.Debug("webhooks: delivery held back (an earlier event of its subject failed, or the lease ran short); it will be sent later", attrs...)
	case o.ok:
		w.log.Debug("webhooks: delivered", attrs...)
	case status == StatusDead:
		w.log.Error("webhooks: delivery is dead: giving up (scimbridge webhooks retry brings it back)", append(attrs, "error", o.describe())...)
	default:
		w.log.Warn("webhooks: delivery failed; will retry", append(attrs, "error", o.describe(), "next_attempt_at", next)...)
	}
}

// outcomeResult names a recorded outcome for Options.OnOutcome.
func outcomeResult(o outcome, status string) string {
	switch {
	case o.aborted:
		return "interrupted"
	case o.ok:
		return StatusDelivered
	case status == StatusDead:
		return StatusDead
	}
	return StatusFailed
}

// afterFailure decides what becomes of a failed delivery: dead once it has failed for give_up_after
// since it was enqueued (or max_attempts times, or its attempt number max_rejections or later was
// refused with a 4xx other than 408/410/429), else failed and tried again after an exponential,
// jittered wait (or the receiver's Retry-After, when longer), with a last attempt at the deadline.
func (w *Worker) afterFailure(ep *endpoint, c claimed, o outcome, now time.Time) (string, time.Time) {
	attempts := c.Attempts + 1
	deadline := c.EnqueuedAt.Add(ep.GiveUpAfter)
	if o.gone {
		return StatusFailed, now // disable() turns it into disabled right after
	}
	if rejection(o.status) && attempts >= ep.MaxRejections {
		// The receiver read the request and refused it (a signature it cannot check, a body it will not
		// take): the same bytes get the same answer, and the subject's later events wait behind it.
		w.stats.dead.Add(1)
		w.stats.rejected.Add(1)
		return StatusDead, now
	}
	if c.Payload == nil || (ep.MaxAttempts > 0 && attempts >= ep.MaxAttempts) || !now.Before(deadline) {
		w.stats.dead.Add(1)
		return StatusDead, now
	}
	wait := max(w.backoff(attempts), min(o.retryAfter, w.o.BackoffMax))
	next := now.Add(wait)
	if next.After(deadline) {
		next = deadline
	}
	return StatusFailed, next
}

// backoff is the wait after the n-th failed attempt: BackoffBase doubled n-1 times, at most BackoffMax,
// then ±20% at random so that receivers coming back are not hit by every replica at once.
func (w *Worker) backoff(n int) time.Duration {
	d := w.o.BackoffBase
	for i := 1; i < n && d < w.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.o.BackoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*w.rand()))
}

// disable marks an endpoint disabled (it answered 410 Gone) and its waiting deliveries disabled. New
// events keep being fanned out to it, as disabled deliveries, so that Enable loses nothing.
func (w *Worker) disable(ctx context.Context, name, reason string, now time.Time) error {
	var n int64
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		var one int
		if err := tx.GetContext(ctx, &one, "SELECT 1 FROM "+w.t.Cursors()+" WHERE endpoint = ? FOR UPDATE", name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+w.t.Cursors()+" SET disabled_at = ?, disabled_reason = ? WHERE endpoint = ? AND disabled_at IS NULL",
			now, shorten(reason), name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET status = ? WHERE endpoint = ? AND waiting = 1", StatusDisabled, name)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err == nil {
		w.log.Error("webhooks: ENDPOINT DISABLED: it answered 410 Gone. No more events are sent to it; they are kept as disabled"+
			" deliveries until `scimbridge webhooks enable` (or Worker.Enable) is run",
			"endpoint", name, "reason", reason, "deliveries_disabled", n)
	}
	return err
}

func nullStatus(s int) any {
	if s == 0 {
		return nil
	}
	return s
}
