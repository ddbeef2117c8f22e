package webhook

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Register creates the cursor of every endpoint that has none, starting at the newest outbox event: a
// new endpoint receives the events committed from then on (Replay sends older ones). Run calls it;
// call it before serving SCIM so that no change slips between the two.
func (w *Worker) Register(ctx context.Context) error {
	for _, ep := range w.endpoints {
		var head int64
		if err := w.db.GetContext(ctx, &head, "SELECT COALESCE(MAX(seq), 0) FROM "+w.t.outbox); err != nil {
			return err
		}
		res, err := w.db.ExecContext(ctx, "INSERT IGNORE INTO "+w.t.cursors+
			" (endpoint, last_seq, scan_seq, created_at) VALUES (?, ?, ?, ?)", ep.Name, head, head, w.now().UTC())
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
	LastSeq  int64         `db:"last_seq"`  // every outbox seq up to here is fanned out, or given up as a gap
	ScanSeq  int64         `db:"scan_seq"`  // the highest outbox seq fanned out
	GapSince sql.NullTime  `db:"gap_since"` // when the oldest gap after last_seq was first seen
	GapUpto  sql.NullInt64 `db:"gap_upto"`  // scan_seq at gap_since: gaps up to it expire together
	Disabled bool          `db:"disabled"`
}

// outboxRef is an outbox row without its payload.
type outboxRef struct {
	Seq     int64  `db:"seq"`
	EventID string `db:"event_id"`
	Type    string `db:"type"`
	Subject string `db:"subject"`
	Fanned  bool   `db:"fanned"`
}

// fanOut copies the outbox rows an endpoint has not seen into its deliveries, in one transaction holding
// its cursor row, so that two replicas never fan out the same rows twice (the second skips the locked
// cursor). It returns how many new outbox rows it read.
//
// Outbox seqs are handed out when a change inserts its event, not when it commits: seq 11 may commit
// before seq 10, or 10 may roll back. So scan_seq (what has been read) moves ahead while last_seq stays
// below the first missing seq, and every pass re-reads the rows between the two, fanning out those that
// committed late. A seq still missing GapGrace after it was seen missing is given up: its change rolled
// back (one taking that long to commit would be lost to webhooks, and is logged).
func (w *Worker) fanOut(ctx context.Context, ep *endpoint) (int, error) {
	fresh := 0
	err := inTx(ctx, w.db, func(tx *sqlx.Tx) error {
		now := w.now().UTC()
		var c cursor
		err := tx.GetContext(ctx, &c, "SELECT last_seq, scan_seq, gap_since, gap_upto, disabled_at IS NOT NULL AS disabled FROM "+
			w.t.cursors+" WHERE endpoint = ? FOR UPDATE SKIP LOCKED", ep.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // another replica is at it (or Register has not run: Run always does)
		}
		if err != nil {
			return err
		}
		var late, rows []outboxRef
		if c.LastSeq < c.ScanSeq {
			if err := tx.SelectContext(ctx, &late, "SELECT o.seq, o.event_id, o.type, o.subject, EXISTS (SELECT 1 FROM "+w.t.deliveries+
				" d WHERE d.endpoint = ? AND d.seq = o.seq) AS fanned FROM "+w.t.outbox+" o WHERE o.seq > ? AND o.seq <= ? ORDER BY o.seq",
				ep.Name, c.LastSeq, c.ScanSeq); err != nil {
				return err
			}
		}
		if err := tx.SelectContext(ctx, &rows, "SELECT seq, event_id, type, subject, 0 AS fanned FROM "+w.t.outbox+
			" WHERE seq > ? ORDER BY seq LIMIT ?", c.ScanSeq, w.o.FanOutBatch); err != nil {
			return err
		}
		fresh = len(rows)
		var add []outboxRef
		for _, r := range slices.Concat(late, rows) {
			if !r.Fanned && ep.Wants(r.Type) {
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
		if len(rows) > 0 {
			c.ScanSeq = rows[len(rows)-1].Seq
		}
		w.advance(&c, slices.Concat(late, rows), now, ep.Name)
		_, err = tx.ExecContext(ctx, "UPDATE "+w.t.cursors+" SET last_seq = ?, scan_seq = ?, gap_since = ?, gap_upto = ? WHERE endpoint = ?",
			c.LastSeq, c.ScanSeq, c.GapSince, c.GapUpto, ep.Name)
		return err
	})
	return fresh, err
}

// advance moves last_seq over the seqs that are there (rows, in seq order, cover last_seq..scan_seq),
// and over the gaps that have waited GapGrace.
func (w *Worker) advance(c *cursor, rows []outboxRef, now time.Time, name string) {
	contiguous := func() {
		for _, r := range rows {
			if r.Seq == c.LastSeq+1 {
				c.LastSeq = r.Seq
			} else if r.Seq > c.LastSeq+1 {
				return
			}
		}
	}
	contiguous()
	if c.LastSeq >= c.ScanSeq {
		c.GapSince, c.GapUpto = sql.NullTime{}, sql.NullInt64{}
		return
	}
	if !c.GapSince.Valid {
		c.GapSince, c.GapUpto = nullTime(now), sql.NullInt64{Int64: c.ScanSeq, Valid: true}
		return
	}
	if now.Sub(c.GapSince.Time) < w.o.GapGrace {
		return
	}
	from := c.LastSeq + 1
	c.LastSeq = max(c.LastSeq, c.GapUpto.Int64)
	w.log.Debug("webhooks: outbox seqs never committed (rolled-back changes); not waiting for them any longer",
		"endpoint", name, "from", from, "upto", c.LastSeq)
	contiguous()
	c.GapSince, c.GapUpto = sql.NullTime{}, sql.NullInt64{}
	if c.LastSeq < c.ScanSeq {
		c.GapSince, c.GapUpto = nullTime(now), sql.NullInt64{Int64: c.ScanSeq, Valid: true}
	}
}

// insertDeliveries adds one delivery per row for endpoint name; rows that have one already are left
// as they are.
func (w *Worker) insertDeliveries(ctx context.Context, tx *sqlx.Tx, name string, rows []outboxRef, status string, now time.Time) error {
	const chunk = 200
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		args := make([]any, 0, n*8)
		for _, r := range rows[:n] {
			args = append(args, name, r.Seq, r.EventID, r.Type, r.Subject, status, now, now)
		}
		q := "INSERT INTO " + w.t.deliveries + " (endpoint, seq, event_id, type, subject, status, enqueued_at, next_attempt_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ") + " ON DUPLICATE KEY UPDATE id = id"
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
