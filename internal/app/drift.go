package app

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
)

// NewStore is the store serve writes with, for the commands that work on it outside serve (drift,
// access): the same mapping, role stores, group mirror, limits and audit redaction. No breaker: those
// commands make no deactivation through SCIM.
func NewStore(db *sqlx.DB, cfg *config.Config, o Options) *mysql.Store {
	return mysql.New(db, cfg.UsersMapping(), mysql.Options{Prefix: cfg.Database.BookkeepingPrefix, Now: o.Now, Rand: o.Rand,
		Log: o.Log, Roles: cfg.RolesMapping(), MoreRoles: cfg.MoreRoleStores(), GroupMirror: cfg.GroupsMapping().MirrorMapping(),
		AuditRedact: cfg.Audit.Redact,
		Limits:      mysql.DocLimits{MaxValueBytes: cfg.Server.MaxValueBytes, MaxDocBytes: cfg.Server.MaxDocumentBytes}})
}

// runDriftCheck runs the drift report every [drift] every, on one replica: the owner of the lease
// "drift-check", taken for two periods and renewed at each check, so that it stays with one replica
// while it lives and passes to another once it stops. Each check's counts become the
// scimbridge_drift_users gauges and a log line. Nothing is repaired: that takes `scimbridge drift --repair`.
func (a *App) runDriftCheck(ctx context.Context) {
	every := a.cfg.Drift.Every.Duration
	if every <= 0 {
		return
	}
	if a.o.DriftEvery > 0 {
		every = a.o.DriftEvery
	}
	for {
		held, err := a.leases().Hold(ctx, "drift-check", 2*every)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("drift: taking the drift-check lease failed; retrying later", "err", err)
		case held:
			a.checkDrift(ctx)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}

// checkDrift runs one drift report and publishes its counts.
func (a *App) checkDrift(ctx context.Context) {
	start := a.o.Now()
	rep, err := a.store.Drift(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("drift: the check failed; retrying at the next one", "err", err)
		}
		return
	}
	a.drift.set(rep, a.o.Now().Sub(start)) // the console's Drift page shows it
	if a.metrics != nil {
		a.metrics.DriftChecked(rep.Counts, a.o.Now())
	}
	attrs := []any{"checked", rep.Checked, "took", a.o.Now().Sub(start).Round(time.Millisecond).String()}
	drifted := false
	for _, k := range mysql.DriftKinds {
		attrs = append(attrs, k, rep.Counts[k])
		drifted = drifted || (rep.Counts[k] > 0 && k != mysql.DriftNoBaseline)
	}
	if drifted {
		a.log.Warn("drift: the app's tables differ from what scimbridge wrote (scimbridge drift shows them)", attrs...)
		return
	}
	a.log.Info("drift: none", attrs...)
}
