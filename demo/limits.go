package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/webhook"
)

// limits is what scimbridge cannot do on the embedded engine, found by trying it at start.
type limits struct {
	lines   []string // for the banner
	noPrune bool     // webhook.Worker.Prune fails here
}

// probeEngine tries what is known to fail on go-mysql-server v0.20.0 in the webhooks, on a scratch
// database, before scimbridge starts (the worker's prune interval depends on it), so that the demo tells
// only what is still true: a fix in scimbridge's SQL makes the line disappear.
func probeEngine(ctx context.Context, e *Engine, prefix string) limits {
	var l limits
	replay, prune, err := probeWebhookOps(ctx, e, prefix)
	if err != nil {
		l.lines = append(l.lines, fmt.Sprintf("Could not check `scimbridge webhooks replay` and pruning on this engine: %v", err))
		return l
	}
	if !replay {
		l.lines = append(l.lines, "`scimbridge webhooks replay` against this database would mark events to be sent again, but\n"+
			"they are never sent: go-mysql-server does not recompute a STORED generated column (`waiting`) in\n"+
			"INSERT ... ON DUPLICATE KEY UPDATE. The demo itself never replays.")
	}
	if !prune {
		l.noPrune = true
		l.lines = append(l.lines, "Pruning old webhook events fails: go-mysql-server cannot run the correlated NOT EXISTS of a\n"+
			"single-table DELETE (\"attempted to evaluate uninitialized subquery\"). The demo's worker tries once a\n"+
			"day instead of every 10 minutes; nothing in a demo is old enough to be pruned anyway.")
	}
	return l
}

// withFilterProbe tries a filter on a multi-valued attribute through scimbridge's store and puts its line,
// if it fails, first.
func (l limits) withFilterProbe(ctx context.Context, store *mysql.Store) limits {
	f, err := scim.ParseFilter(`emails.value pr`)
	if err == nil {
		_, err = store.ListUsers(ctx, scim.ListQuery{Filter: f, StartIndex: 1, Count: 1})
	}
	if err != nil {
		l.lines = append([]string{"Filters on multi-valued attributes kept by scimbridge (emails, phoneNumbers, ...) answer 500:\n" +
			"go-mysql-server cannot parse the COLLATE clause in the JSON_TABLE(... COLUMNS (...)) that scimbridge sends."}, l.lines...)
	}
	return l
}

// probeWebhookOps tries webhook.Worker.Replay and Prune on one delivered event, in a scratch database:
// replay tells whether the delivery waits to be sent again afterwards, prune whether the event was
// pruned 200 hours later. err means the probe itself failed.
func probeWebhookOps(ctx context.Context, e *Engine, prefix string) (replay, prune bool, err error) {
	const name = "scimbridge_demo_probe"
	root, err := mysql.Open("root@tcp("+e.Addr()+")/", 1)
	if err != nil {
		return false, false, err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return false, false, err
	}
	defer root.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE "+name)
	db, err := mysql.Open("root@tcp("+e.Addr()+")/"+name, 1)
	if err != nil {
		return false, false, err
	}
	defer db.Close()
	if _, err := mysql.Migrate(ctx, db, prefix); err != nil {
		return false, false, err
	}
	now := time.Now().UTC()
	outbox, deliveries := "`"+prefix+"outbox`", "`"+prefix+"webhook_deliveries`"
	if _, err := db.ExecContext(ctx, "INSERT INTO "+outbox+" (event_id, type, subject, occurred_at, payload)"+
		" VALUES ('probe', 'user.created', 'user:probe', ?, '{}')", now); err != nil {
		return false, false, err
	}
	ep := []webhook.Endpoint{{Name: "probe", URL: "http://127.0.0.1/"}}
	w, err := webhook.New(db, webhook.Options{Prefix: prefix, Endpoints: ep})
	if err != nil {
		return false, false, err
	}
	if err := w.Register(ctx); err != nil {
		return false, false, err
	}
	delivered := func() error {
		_, err := db.ExecContext(ctx, "DELETE FROM "+deliveries)
		if err == nil {
			_, err = db.ExecContext(ctx, "INSERT INTO "+deliveries+" (endpoint, seq, event_id, type, subject, status, enqueued_at,"+
				" next_attempt_at, delivered_at) SELECT 'probe', seq, event_id, type, subject, 'delivered', ?, ?, ? FROM "+outbox, now, now, now)
		}
		return err
	}
	if err := delivered(); err != nil {
		return false, false, err
	}
	if _, err := w.Replay(ctx, "probe", now.Add(-time.Minute)); err != nil {
		return false, false, err
	}
	if replay, err = one(ctx, db, "SELECT COUNT(*) FROM "+deliveries+" WHERE status = 'pending' AND waiting = 1"); err != nil {
		return false, false, err
	}
	if err := delivered(); err != nil {
		return false, false, err
	}
	later := now.Add(200 * time.Hour)
	if w, err = webhook.New(db, webhook.Options{Prefix: prefix, Endpoints: ep, Now: func() time.Time { return later }}); err != nil {
		return false, false, err
	}
	_, pruneErr := w.Prune(ctx)
	left, err := one(ctx, db, "SELECT COUNT(*) FROM "+outbox)
	return replay, pruneErr == nil && !left, err
}

// one reports whether a SELECT COUNT(*) counts exactly one row.
func one(ctx context.Context, db *sqlx.DB, q string) (bool, error) {
	var n int
	err := db.GetContext(ctx, &n, q)
	return n == 1, err
}
