package webhook

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// deliveryCols are the columns a new delivery row is inserted with.
var deliveryCols = []string{"endpoint", "seq", "event_id", "type", "subject", "status", "enqueued_at", "next_attempt_at"}

// Register creates the cursor of every endpoint that has none, starting at the newest outbox event: a
// new endpoint receives the events committed from then on (Replay sends older ones). Run calls it;
// call it before serving SCIM so that no change slips between the two.
func (w *Worker) Register(ctx context.Context) error {
	for _, ep := range w.endpoints {
		var head int64
		if err := w.db.GetContext(ctx, &head, "SELECT COALESCE(MAX(seq), 0) FROM "+w.t.Outbox()); err != nil {
			return err
		}
		res, err := w.db.ExecContext(ctx, w.run.D.InsertKeeping(w.t.Cursors(),
			[]string{"endpoint", "last_seq", "scan_seq", "created_at"}, 1), ep.Name, head, head, w.now().UTC())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			w.log.Info("webhooks: new endpoint; it receives the events from now on", "endpoint", ep.Name, "from_seq", head+1)
		}
	}
	return nil
}

type cursor struct {
	LastSeq  int64          `db:"last_seq"` // every outbox seq up to here is fanned out, or given up
	ScanSeq  int64          `db:"scan_seq"` // the highest outbox seq fanned out
	Gaps     sql.NullString `db:"gaps"`     // the seqs up to scan_seq still missing (gaps); NULL: none, or a cursor of an older version
	Disabled bool           `db:"disabled"`
}

const cursorColumns = "last_seq, scan_seq, gaps, disabled_at IS NOT NULL AS disabled"

// outboxRef is an outbox row without its payload.
type outboxRef struct {
	Seq     int64  `db:"seq"`
	EventID string `db:"event_id"`
	Type    string `db:"type"`
	Subject string `db:"subject"`
}

// fanOut copies the outbox rows an endpoint has not seen into its deliveries, in one transaction holding
// its cursor row, so that two replicas never fan out the same rows twice (the second skips the locked
// cursor). It returns how many new outbox rows it read.
//
// Outbox seqs are handed out when a change inserts its event, not when it commits: seq 11 may commit
// before seq 10, or 10 may roll back. The seqs found missing are kept in the cursor as gaps, and each
// round reads the new rows and the rows of those gaps (and nothing else) in one statement: one
// snapshot, in which a transaction's events are all there or none is. Two statements could see two
// snapshots, and a transaction committing between them would be fanned out half now, half in the next
// round, its later event ahead of its earlier one. A gap still missing GapGrace after it was seen is
// given up: its change rolled back (one taking that long to commit would be lost to webhooks, and is
// logged).
func (w *Worker) fanOut(ctx context.Context, ep *endpoint) (int, error) {
	fresh := 0
	err := w.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		now := w.now().UTC()
		var c cursor
		err := tx.GetContext(ctx, &c, "SELECT "+cursorColumns+" FROM "+w.t.Cursors()+" WHERE endpoint = ? FOR UPDATE SKIP LOCKED", ep.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // another replica is at it (or Register has not run: Run always does)
		}
		if err != nil {
			return err
		}
		missing, err := w.cursorGaps(ctx, tx, &c, now)
		if err != nil {
			return err
		}
		rows, err := w.readOutbox(ctx, tx, c.ScanSeq, missing)
		if err != nil {
			return err
		}
		var add []outboxRef
		var late, seen []int64
		for _, r := range rows {
			if r.Seq > c.ScanSeq {
				fresh++
				seen = append(seen, r.Seq)
			} else {
				late = append(late, r.Seq)
			}
			if ep.Wants(r.Type) {
				add = append(add, r)
			}
		}
		status := StatusPending
		if c.Disabled {
			status = StatusDisabled
		}
		if err := w.insertDeliveries(ctx, tx, ep.Name, add, status, now); err != nil {
			return err
		}
		missing = missing.without(late)
		if len(seen) > 0 {
			upto := seen[len(seen)-1]
			missing = append(missing, missingBetween(c.ScanSeq, upto, seen, now)...)
			c.ScanSeq = upto
		}
		missing = w.giveUp(missing, now, ep.Name)
		c.LastSeq = missing.floor(c.ScanSeq)
		g := sql.NullString{String: missing.String(), Valid: len(missing) > 0}
		_, err = tx.ExecContext(ctx, "UPDATE "+w.t.Cursors()+" SET last_seq = ?, scan_seq = ?, gaps = ?, gap_since = NULL, gap_upto = NULL WHERE endpoint = ?",
			c.LastSeq, c.ScanSeq, g, ep.Name)
		return err
	})
	return fresh, err
}

// readOutbox reads, in one statement, up to FanOutBatch rows after scanSeq and the rows that have
// appeared in the gaps, in seq order.
func (w *Worker) readOutbox(ctx context.Context, tx *bookkeeping.Tx, scanSeq int64, missing gaps) ([]outboxRef, error) {
	const cols = "seq, event_id, type, subject"
	q := "SELECT " + cols + " FROM (SELECT " + cols + " FROM " + w.t.Outbox() + " WHERE seq > ? ORDER BY seq LIMIT ?) fresh"
	args := []any{scanSeq, w.o.FanOutBatch}
	if len(missing) > 0 {
		ranges := make([]string, len(missing))
		for i, g := range missing {
			ranges[i] = "seq BETWEEN ? AND ?"
			args = append(args, g.Lo, g.Hi)
		}
		q += " UNION ALL SELECT " + cols + " FROM " + w.t.Outbox() + " WHERE " + strings.Join(ranges, " OR ")
	}
	var rows []outboxRef
	if err := tx.SelectContext(ctx, &rows, q+" ORDER BY seq", args...); err != nil {
		return nil, err
	}
	return rows, nil
}

// cursorGaps returns the cursor's gaps. A cursor written by a version that kept only last_seq and
// scan_seq has its gaps worked out once, from the seqs present between the two.
func (w *Worker) cursorGaps(ctx context.Context, tx *bookkeeping.Tx, c *cursor, now time.Time) (gaps, error) {
	if c.Gaps.Valid {
		return parseGaps(c.Gaps.String)
	}
	if c.LastSeq >= c.ScanSeq {
		return nil, nil
	}
	var seqs []int64
	if err := tx.SelectContext(ctx, &seqs, "SELECT seq FROM "+w.t.Outbox()+" WHERE seq > ? AND seq <= ? ORDER BY seq", c.LastSeq, c.ScanSeq); err != nil {
		return nil, err
	}
	return missingBetween(c.LastSeq, c.ScanSeq, seqs, now), nil
}

// giveUp drops the gaps that have waited GapGrace, and the oldest beyond MaxGaps.
func (w *Worker) giveUp(missing gaps, now time.Time, name string) gaps {
	missing, expired := missing.expire(now, w.o.GapGrace)
	for _, g := range expired {
		w.log.Debug("webhooks: outbox seqs never committed (rolled-back changes); not waiting for them any longer",
			"endpoint", name, "from", g.Lo, "upto", g.Hi)
	}
	missing, dropped := missing.bound(w.o.MaxGaps)
	for _, g := range dropped {
		w.log.Warn("webhooks: too many missing outbox seqs; giving up the oldest before their grace period (a change committing later is not delivered)",
			"endpoint", name, "from", g.Lo, "upto", g.Hi, "max_gaps", w.o.MaxGaps)
	}
	return missing
}

// insertDeliveries adds one delivery per row for endpoint name; rows that have one already are left
// as they are.
func (w *Worker) insertDeliveries(ctx context.Context, tx *bookkeeping.Tx, name string, rows []outboxRef, status string, now time.Time) error {
	const chunk = 200
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		args := make([]any, 0, n*8)
		for _, r := range rows[:n] {
			args = append(args, name, r.Seq, r.EventID, r.Type, r.Subject, status, now, now)
		}
		q := w.run.D.InsertKeeping(w.t.Deliveries(), deliveryCols, n)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
