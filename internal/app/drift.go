package app

import (
	"context"
	"database/sql"
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

// runDriftCheck runs the drift report every [drift] every, on one replica: the one holding the drift
// lock (a named lock, held by one connection while this process lives; another replica takes it over
// when this one's connection goes). Each check's counts become the scimbridge_drift_users gauges and a
// log line. Nothing is repaired: that takes `scimbridge drift --repair`.
func (a *App) runDriftCheck(ctx context.Context) {
	every := a.cfg.Drift.Every.Duration
	if every <= 0 {
		return
	}
	if a.o.DriftEvery > 0 {
		every = a.o.DriftEvery
	}
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(LEFT(CONCAT(?, DATABASE()), 64))", a.driftLock())
			_ = conn.Close()
		}
	}()
	for {
		if conn == nil {
			conn = a.takeDriftLock(ctx)
		} else if err := conn.PingContext(ctx); err != nil {
			_ = conn.Close() // the lock went with the connection
			conn = a.takeDriftLock(ctx)
		}
		if conn != nil {
			a.checkDrift(ctx)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}

func (a *App) driftLock() string { return a.cfg.Database.BookkeepingPrefix + "drift:" }

// takeDriftLock returns the connection holding the drift lock, or nil when another replica holds it.
func (a *App) takeDriftLock(ctx context.Context) *sql.Conn {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		a.log.Warn("drift: no connection for the drift lock; retrying later", "err", err)
		return nil
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(LEFT(CONCAT(?, DATABASE()), 64), 0)", a.driftLock()).Scan(&got); err != nil || got.Int64 != 1 {
		if err != nil && ctx.Err() == nil {
			a.log.Warn("drift: taking the drift lock failed; retrying later", "err", err)
		}
		_ = conn.Close()
		return nil
	}
	return conn
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
