package app

import (
	"context"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// auditPruneBatch bounds each DELETE of the pruning, so that it never holds many locks for long.
const auditPruneBatch = 1000

// runAuditPruner deletes audit rows older than [audit] retention, at once and then every
// Options.AuditPruneEvery, until ctx ends. With retention 0 the rows are kept.
func (a *App) runAuditPruner(ctx context.Context) {
	keep := a.cfg.Audit.Retention.Duration
	if keep <= 0 {
		return
	}
	every := a.o.AuditPruneEvery
	if every <= 0 {
		every = time.Hour
	}
	t := bookkeeping.NewTables(a.cfg.Database.BookkeepingPrefix, bookkeeping.MySQL)
	for {
		// One replica prunes at a time (the others' DELETEs would only wait on its locks).
		var n int64
		_, err := a.leases().Run(ctx, "audit-prune", every, func(ctx context.Context) error {
			var err error
			n, err = audit.Prune(ctx, a.db, t, a.o.Now().Add(-keep), auditPruneBatch)
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("audit: pruning failed; retrying later", "err", err)
		case n > 0:
			a.log.Info("audit: pruned", "rows", n)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}
