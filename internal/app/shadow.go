package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
)

// Shadow mode ([server] mode = "shadow") runs the live code unchanged on copies: at its first start it
// copies every app table the mapping names to {p}shapp_<table>, and serves with config.Shadow's
// configuration, whose mapping names the copies and whose bookkeeping prefix is {p}sh_. The app's own
// tables are never written; `scimbridge plan` shows what going live would change in them, and
// `scimbridge golive`, or a serve in live mode, applies the shadow state to them (golive.go).
//
// A lease keeps the two modes apart: a shadow serve holds it while it runs, go-live while it
// applies, and a live serve refuses to start while someone else holds it.

// ErrShadowLocked is returned when a shadow serve or a go-live holds the shadow lease.
var ErrShadowLocked = errors.New("a shadow-mode serve (or a go-live) is running on this database, or one died less than 30s ago; stop it first")

// The shadow lock is a lease ({p}leases, like the migration's): a row, so that it holds across the nodes
// of a cluster, renewed while it is held, and ending by itself shadowLease after a holder died.
const (
	shadowLeaseName = "shadow"
	shadowLease     = 30 * time.Second
)

// shadowLock is the held shadow lease and its renewal.
type shadowLock struct {
	leases bookkeeping.Leases
	stop   context.CancelFunc
	done   chan struct{}
}

func shadowLeases(db *sqlx.DB, prefix, owner string, now func() time.Time) bookkeeping.Leases {
	return bookkeeping.Leases{DB: db, Tables: bookkeeping.NewTables(prefix, bookkeeping.MySQL), Owner: owner, Now: now}
}

// takeShadowLock takes the shadow lease without waiting, and renews it until release; ErrShadowLocked
// when another owner holds it.
func takeShadowLock(ctx context.Context, l bookkeeping.Leases, log *slog.Logger) (*shadowLock, error) {
	held, err := l.Hold(ctx, shadowLeaseName, shadowLease)
	if err != nil {
		return nil, err
	}
	if !held {
		return nil, ErrShadowLocked
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	lock := &shadowLock{leases: l, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(lock.done)
		t := time.NewTicker(shadowLease / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if ok, err := l.Hold(rctx, shadowLeaseName, shadowLease); (err != nil || !ok) && rctx.Err() == nil && log != nil {
					log.Error("shadow mode: renewing the shadow lease failed; a live serve may start beside this one", "err", err)
				}
			}
		}
	}()
	return lock, nil
}

func (l *shadowLock) release() {
	if l == nil {
		return
	}
	l.stop()
	<-l.done
	_ = l.leases.Release(context.Background(), shadowLeaseName)
}

// enterMode is serve's first step after the migrations: in shadow mode, it takes the shadow lock (kept
// until Close), prepares the copies the first time and switches a.cfg to the shadow configuration; in
// live mode, it refuses to run beside a shadow serve, and notes a pending shadow state for
// goLiveIfPending, which New runs once the webhook endpoints are registered.
func (a *App) enterMode(ctx context.Context) error {
	prefix := a.cfg.Database.BookkeepingPrefix
	if a.cfg.Server.Mode != config.ModeShadow {
		st, err := readState(ctx, a.db, prefix, false)
		if err != nil {
			return err
		}
		if st == nil || st.Status == stateLive {
			// Live replicas start side by side without the lease; only a holder of it stops them.
			owner, _, err := shadowLeases(a.db, prefix, a.owner, a.o.Now).Leader(ctx, shadowLeaseName)
			if err != nil {
				return err
			}
			if owner != "" {
				return ErrShadowLocked
			}
			return nil
		}
		a.pendingGoLive = true // after the webhook endpoints are registered: they must get go-live's events
		return nil
	}
	lock, err := takeShadowLock(ctx, shadowLeases(a.db, prefix, a.owner, a.o.Now), a.log)
	if err != nil {
		return err
	}
	a.shadowLock = lock
	shadow, tables, err := a.cfg.Shadow()
	if err != nil {
		return err
	}
	if err := prepareShadow(ctx, a.db, prefix, tables, a.o.Now()); err != nil {
		return err
	}
	if _, err := mysql.Migrate(ctx, a.db, shadow.Database.BookkeepingPrefix); err != nil {
		return fmt.Errorf("migrating shadow mode's tables: %w", err)
	}
	if a.cfg.Gate != nil {
		a.log.Warn("shadow mode: the [gate] is not served (it would decide on accounts the app does not have yet)")
	}
	if a.cfg.UsersMapping().OnDelete == "delete" {
		a.log.Warn("shadow mode with users.on_delete = \"delete\": a user deleted in shadow mode leaves nothing for go-live to replay; an app row it adopted is not deleted at go-live")
	}
	if len(a.cfg.Webhooks) > 0 {
		a.log.Warn("shadow mode: no webhooks are sent (the app's tables do not change); go-live sends the events")
	}
	a.log.Info("shadow mode: the app's tables are not written", "copies", len(tables), "bookkeeping_prefix", shadow.Database.BookkeepingPrefix)
	a.loaded, a.cfg = a.cfg, shadow
	return nil
}

// goLiveIfPending goes live when enterMode found a shadow state pending.
func (a *App) goLiveIfPending(ctx context.Context) error {
	if !a.pendingGoLive {
		return nil
	}
	lock, err := takeShadowLock(ctx, shadowLeases(a.db, a.cfg.Database.BookkeepingPrefix, a.owner, a.o.Now), a.log)
	if err != nil {
		return err
	}
	defer lock.release()
	a.log.Info("a shadow-mode state is pending: going live before serving")
	return goLiveLocked(ctx, a.db, a.cfg, a.o, a.log, DefaultGoLiveBatch, func(phase string, done, total int) {
		a.log.Info("go-live: in progress", "phase", phase, "done", done, "total", total)
	})
}

// prepareShadow starts shadow mode the first time: it copies the app's tables and records the state, in
// that order, so that a start that fails half-way copies them again. Later starts find the state and
// keep the copies and the shadow state as they are.
func prepareShadow(ctx context.Context, db *sqlx.DB, prefix string, tables []string, now time.Time) error {
	st, err := readState(ctx, db, prefix, false)
	if err != nil {
		return err
	}
	switch {
	case st == nil:
	case st.Status == stateShadow:
		return nil
	case st.Status == stateApplying:
		return errors.New("shadow mode: a go-live started and has not finished; run `scimbridge golive` to finish it")
	default:
		return errors.New("shadow mode: this database went live already (scimbridge golive); set [server] mode = \"live\"")
	}
	var users int
	if err := db.GetContext(ctx, &users, "SELECT COUNT(*) FROM "+bookkeeping.MySQL.Quote(prefix+"users")); err != nil {
		return err
	}
	if users > 0 {
		return fmt.Errorf("shadow mode is for the first sync, and %susers already holds %d users provisioned in live mode", prefix, users)
	}
	q := bookkeeping.MySQL.Quote
	for _, t := range tables {
		c := config.ShadowTable(prefix, t)
		for _, stmt := range []string{"DROP TABLE IF EXISTS " + q(c), "CREATE TABLE " + q(c) + " LIKE " + q(t)} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("shadow mode: copying %s: %w", t, err)
			}
		}
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+q(config.ShadowTable(prefix, t))+" SELECT * FROM "+q(t)); err != nil {
			return fmt.Errorf("shadow mode: copying %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+goliveTable(prefix)+" (id, status, started, updated) VALUES (1, ?, ?, ?)",
		stateShadow, now.UTC(), now.UTC()); err != nil {
		return err
	}
	return tx.Commit()
}

// DiscardShadow throws shadow mode's state away: the copies of the app's tables, the shadow bookkeeping
// and the go-live state, so that the next shadow serve starts from the app's tables as they are then
// (after a mapping was fixed, say). The app's tables and the live bookkeeping are not touched. It is
// refused while a shadow serve or a go-live runs, and once go-live has started.
func DiscardShadow(ctx context.Context, db *sqlx.DB, cfg *config.Config, o Options) (dropped []string, err error) {
	prefix := cfg.Database.BookkeepingPrefix
	lock, err := takeShadowLock(ctx, shadowLeases(db, prefix, bookkeeping.ProcessOwner(), o.Now), o.Log)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	st, err := readState(ctx, db, prefix, false)
	if err != nil {
		return nil, err
	}
	if st != nil && st.Status != stateShadow {
		return nil, fmt.Errorf("go-live has started (state %q): the shadow state is the app's now; it cannot be discarded", st.Status)
	}
	// Both prefixes are scimbridge's own: {p}sh_ for shadow bookkeeping, {p}shapp_ for the copies.
	like := func(p string) string { return strings.NewReplacer(`\`, `\\`, "_", `\_`, "%", `\%`).Replace(p) + "%" }
	if err := db.SelectContext(ctx, &dropped, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND "+
		"(table_name LIKE ? OR table_name LIKE ?) ORDER BY table_name", like(config.ShadowPrefix(prefix)), like(config.ShadowTable(prefix, ""))); err != nil {
		return nil, err
	}
	for _, t := range dropped {
		if _, err := db.ExecContext(ctx, "DROP TABLE "+bookkeeping.MySQL.Quote(t)); err != nil {
			return nil, fmt.Errorf("dropping %s: %w", t, err)
		}
	}
	_, err = db.ExecContext(ctx, "DELETE FROM "+goliveTable(prefix)+" WHERE id = 1")
	return dropped, err
}
