package webhook

import (
	"context"
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
}

// claim leases up to n due deliveries of an endpoint to this Worker. A delivery is due when it is
// waiting (pending or failed), its next_attempt_at has come, nobody holds a live lease on it, and no
// earlier delivery about the same subject is still waiting: events about one user reach an endpoint in
// the order they were committed, one at a time, while other subjects go on.
//
// The candidates are found by a plain read, then locked with FOR UPDATE SKIP LOCKED and checked again:
// rows another replica is claiming are skipped, not waited for, and a lease that replica has just
// committed excludes the row. The subject check stays in the plain read on purpose: under SKIP LOCKED,
// a locking subquery would skip the locked earlier delivery and wrongly find the subject free.
func (w *Worker) claim(ctx context.Context, ep *endpoint, n int) ([]claimed, error) {
	now := w.now().UTC()
	var ids []int64
	err := w.db.SelectContext(ctx, &ids, "SELECT d.id FROM "+w.t.Deliveries()+" d"+
		" WHERE d.endpoint = ? AND d.waiting = 1 AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)"+
		" AND NOT EXISTS (SELECT 1 FROM "+w.t.Deliveries()+" e FORCE INDEX (subject_order) WHERE e.endpoint = d.endpoint AND e.subject = d.subject"+
		" AND e.waiting = 1 AND e.seq < d.seq)"+
		" ORDER BY d.next_attempt_at, d.seq LIMIT ?", ep.Name, now, now, 2*n)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []claimed
	err = w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		out = out[:0]
		args := append(int64Args(ids), now, n)
		if err := tx.SelectContext(ctx, &out, "SELECT id, seq, event_id, type, subject, attempts, enqueued_at FROM "+w.t.Deliveries()+
			" WHERE id IN ("+marks(len(ids))+") AND waiting = 1 AND (lease_until IS NULL OR lease_until <= ?)"+
			" ORDER BY next_attempt_at, seq LIMIT ?"+bookkeeping.MySQL.SkipLocked(), args...); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		got := make([]int64, len(out))
		for i, c := range out {
			got[i] = c.ID
		}
		_, err := tx.ExecContext(ctx, "UPDATE "+w.t.Deliveries()+" SET lease_owner = ?, lease_until = ? WHERE id IN ("+marks(len(got))+")",
			append([]any{w.o.Owner, now.Add(ep.lease)}, int64Args(got)...)...)
		return err
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out, w.loadPayloads(ctx, out)
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
