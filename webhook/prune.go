package webhook

import (
	"context"
	"database/sql"

	"github.com/scimbridge/scimbridge/config"
)

// Pruned counts what Prune deleted.
type Pruned struct {
	Deliveries int64 // delivered deliveries older than their endpoint's retention
	Outbox     int64 // outbox events delivered to every endpoint that wanted them, older than the longest retention
}

// pruneChunk bounds each DELETE, so that pruning never holds many locks for long.
const pruneChunk = 1000

// Prune deletes delivered deliveries older than their endpoint's retention (the default retention for
// endpoints no longer configured), then outbox events older than the longest retention that every
// endpoint with a cursor has fanned out and that no endpoint still owes (pending, failed, dead or
// disabled deliveries keep their event, so that they can be retried). Run calls it every PruneEvery.
func (w *Worker) Prune(ctx context.Context) (Pruned, error) {
	var p Pruned
	now := w.now().UTC()
	longest := config.DefaultWebhookRetention
	names := make([]any, 0, len(w.endpoints))
	for _, ep := range w.endpoints {
		n, err := w.deleteChunks(ctx, "DELETE FROM "+w.t.Deliveries()+" WHERE endpoint = ? AND status = ? AND delivered_at < ? LIMIT ?",
			ep.Name, StatusDelivered, now.Add(-ep.Retention))
		p.Deliveries += n
		if err != nil {
			return p, err
		}
		longest = max(longest, ep.Retention)
		names = append(names, ep.Name)
	}
	q := "DELETE FROM " + w.t.Deliveries() + " WHERE status = ? AND delivered_at < ?"
	args := []any{StatusDelivered, now.Add(-config.DefaultWebhookRetention)}
	if len(names) > 0 {
		q += " AND endpoint NOT IN (" + marks(len(names)) + ")"
		args = append(args, names...)
	}
	n, err := w.deleteChunks(ctx, q+" LIMIT ?", args...)
	p.Deliveries += n
	if err != nil {
		return p, err
	}

	// Every cursor bounds it, configured or not: an endpoint removed from this replica's configuration
	// may still be configured on another, and stops holding events back only when forgotten (Forget).
	if len(names) > 0 {
		var registered int
		if err := w.db.GetContext(ctx, &registered, "SELECT COUNT(*) FROM "+w.t.Cursors()+" WHERE endpoint IN ("+marks(len(names))+")", names...); err != nil {
			return p, err
		}
		if registered < len(names) {
			return p, nil // an endpoint has no cursor yet: it might still want old events
		}
	}
	var bound sql.NullInt64
	if err := w.db.GetContext(ctx, &bound, "SELECT MIN(last_seq) FROM "+w.t.Cursors()); err != nil {
		return p, err
	}
	if !bound.Valid {
		bound.Int64 = 1<<63 - 1 // no endpoint has ever run
	}
	// NOT IN rather than a correlated NOT EXISTS, which go-mysql-server (the demo's engine) cannot run in a
	// single-table DELETE; both columns are NOT NULL, so the two mean the same.
	p.Outbox, err = w.deleteChunks(ctx, "DELETE FROM "+w.t.Outbox()+" WHERE occurred_at < ? AND seq <= ? AND seq NOT IN (SELECT d.seq FROM "+
		w.t.Deliveries()+" d FORCE INDEX (seq_status) WHERE d.status <> ?) ORDER BY seq LIMIT ?",
		now.Add(-longest), bound.Int64, StatusDelivered)
	return p, err
}

// deleteChunks runs a DELETE ending in "LIMIT ?" until it deletes fewer than pruneChunk rows.
func (w *Worker) deleteChunks(ctx context.Context, q string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := w.db.ExecContext(ctx, q, append(args, pruneChunk)...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
