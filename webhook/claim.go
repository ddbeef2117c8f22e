package webhook

import (
	"context"
	"errors"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// claimed is a delivery this Worker holds the lease of, with the event to send.
type claimed struct {
	ID         int64     `db:"id"`
	Seq        int64     `db:"seq"`
	EventID    string    `db:"event_id"`
	Type       string    `db:"type"`
	Subject    string    `db:"subject"`
	Attempts   int       `db:"attempts"`
	EnqueuedAt time.Time `db:"enqueued_at"`
	Payload    []byte    `db:"-"` // nil when the outbox row is gone
	LeaseUntil time.Time `db:"-"` // this Worker's lease ends then
}

// claim leases up to n due deliveries of an endpoint to this Worker, in seq order per subject. A
// delivery is due when it is waiting (pending or failed), its next_attempt_at has come and nobody holds
// a live lease on it; it is claimed only when every earlier waiting delivery about the same subject is
// claimed in the same batch: events about one user reach an endpoint in the order they were committed,
// while other subjects go on. A batch may hold several deliveries of one subject; send posts them one
// after the other (lanes.go).
//
// The heads (due deliveries whose subject has no earlier waiting one) and their subjects' chains are
// found by plain reads, then locked with FOR UPDATE SKIP LOCKED and checked again: rows another replica
// is claiming are skipped, not waited for, and a lease that replica has just committed excludes the
// row. A subject's chain ends at the first delivery that is not claimable (not due, leased, or skipped
// under lock). Heads are chosen first so that subjects blocked behind a failed delivery never fill a
// batch and starve the others. The subject check stays in plain reads on purpose: under SKIP LOCKED, a
// locking read would skip the locked earlier delivery and wrongly find the subject free.
func (w *Worker) claim(ctx context.Context, ep *endpoint, n int) ([]claimed, error) {
	now := w.now().UTC()
	// The heads: due deliveries with no earlier waiting delivery of their subject, one per subject.
	var subjects []any
	err := w.db.SelectContext(ctx, &subjects, "SELECT d.subject FROM "+w.t.Deliveries()+" d"+
		" WHERE d.endpoint = ? AND d.waiting = 1 AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)"+
		" AND NOT EXISTS (SELECT 1 FROM "+w.t.Deliveries()+" e FORCE INDEX (subject_order) WHERE e.endpoint = d.endpoint AND e.subject = d.subject"+
		" AND e.waiting = 1 AND e.seq < d.seq)"+
		" ORDER BY d.next_attempt_at, d.seq LIMIT ?", ep.Name, now, now, n)
	if err != nil || len(subjects) == 0 {
		return nil, err
	}
	// Their chains: each subject's waiting deliveries in seq order, as long as they are due and free.
	var chain []struct {
		ID      int64  `db:"id"`
		Subject string `db:"subject"`
		Free    bool   `db:"free"`
	}
	if err := w.db.SelectContext(ctx, &chain, "SELECT id, subject, next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AS free"+
		" FROM "+w.t.Deliveries()+" FORCE INDEX (subject_order)"+
		" WHERE endpoint = ? AND subject IN ("+marks(len(subjects))+") AND waiting = 1 ORDER BY seq LIMIT ?",
		append(append([]any{now, now, ep.Name}, subjects...), 4*n)...); err != nil {
		return nil, err
	}
	blocked := map[string]bool{}
	var wanted []want
	var ids []int64
	for _, c := range chain {
		if !c.Free {
			blocked[c.Subject] = true
		}
		if c.Free && !blocked[c.Subject] && len(ids) < n {
			wanted = append(wanted, want{c.ID, c.Subject})
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var out []claimed
	err = w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		out = out[:0]
		var locked []claimed
		args := append(int64Args(ids), now)
		if err := tx.SelectContext(ctx, &locked, "SELECT id, seq, event_id, type, subject, attempts, enqueued_at FROM "+w.t.Deliveries()+
			" WHERE id IN ("+marks(len(ids))+") AND waiting = 1 AND (lease_until IS NULL OR lease_until <= ?)"+
			" ORDER BY seq"+bookkeeping.MySQL.SkipLocked(), args...); err != nil {
			return err
		}
		out = unbroken(wanted, locked)
		if len(out) == 0 {
			return nil
		}
		got := make([]int64, len(out))
		for i, c := range out {
			got[i] = c.ID
			out[i].LeaseUntil = now.Add(ep.lease)
		}
		// Conditional, and counted: the lease moves only from rows still waiting with no live lease. The
		// SKIP LOCKED read above is what keeps replicas apart on one server; on engines where it does
		// not lock (TiDB), or across Galera nodes, where it locks one node only, this is the check. A
		// claim that did not get every row gives them all back: partial, it could break a subject's order.
		res, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET lease_owner = ?, lease_until = ? WHERE id IN ("+marks(len(got))+")"+
			" AND waiting = 1 AND (lease_until IS NULL OR lease_until <= ?)",
			append(append([]any{w.o.Owner, now.Add(ep.lease)}, int64Args(got)...), now)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(got)) {
			return errClaimRaced
		}
		return nil
	})
	if errors.Is(err, errClaimRaced) {
		return nil, nil // another replica claimed some of them first; the next round claims what is left
	}
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out, w.loadPayloads(ctx, out)
}

// errClaimRaced rolls back a claim that found some of its rows leased by another replica meanwhile.
var errClaimRaced = errors.New("webhook: a claim raced another replica's")

// want is a delivery claim would like to lease, with its subject.
type want struct {
	id      int64
	subject string
}

// unbroken keeps, of the deliveries wanted (in seq order), those locked whose subject has had no wanted
// delivery missing before them: a row skipped under lock ends its subject's chain.
func unbroken(wanted []want, locked []claimed) []claimed {
	byID := make(map[int64]claimed, len(locked))
	for _, c := range locked {
		byID[c.ID] = c
	}
	var out []claimed
	broken := map[string]bool{}
	for _, wt := range wanted {
		c, ok := byID[wt.id]
		if !ok {
			broken[wt.subject] = true
		}
		if ok && !broken[wt.subject] {
			out = append(out, c)
		}
	}
	return out
}

// loadPayloads reads the outbox payload of each claimed delivery, byte for byte as committed.
func (w *Worker) loadPayloads(ctx context.Context, cs []claimed) error {
	seqs := make([]int64, len(cs))
	for i, c := range cs {
		seqs[i] = c.Seq
	}
	var rows []struct {
		Seq     int64  `db:"seq"`
		Payload []byte `db:"payload"`
	}
	if err := w.db.SelectContext(ctx, &rows, "SELECT seq, payload FROM "+w.t.Outbox()+" WHERE seq IN ("+marks(len(seqs))+")", int64Args(seqs)...); err != nil {
		return err
	}
	bySeq := make(map[int64][]byte, len(rows))
	for _, r := range rows {
		bySeq[r.Seq] = r.Payload
	}
	for i := range cs {
		cs[i].Payload = bySeq[cs[i].Seq]
	}
	return nil
}
