package app

import (
	"context"
	"fmt"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
)

// openDB opens the database (unless the caller gave a handle) and applies scimbridge's migrations.
func (a *App) openDB(ctx context.Context) error {
	if a.o.DB != nil {
		a.db = a.o.DB
	} else {
		dsn := a.o.DSN
		if dsn == "" {
			var err error
			if dsn, err = a.cfg.DSN(a.o.Getenv, a.o.ReadFile); err != nil {
				return err
			}
		}
		db, err := mysql.Open(dsn, a.cfg.Database.MaxOpenConns)
		if err != nil {
			return err
		}
		a.db, a.ownDB = db, true
	}
	return a.migrateWhenReachable(ctx)
}

// migrateWhenReachable applies migrations, waiting for the database if it is not up yet (containers
// often start before their database). A refused login does not get better by waiting: it fails at once,
// and so does a migration that fails on a database that answers.
func (a *App) migrateWhenReachable(ctx context.Context) error {
	prefix := a.cfg.Database.BookkeepingPrefix
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		n, err := mysql.Migrate(ctx, a.db, prefix)
		if err == nil {
			a.log.Info("database ready", "migrations_applied", n)
			return nil
		}
		if refused := mysql.LoginRefused(err); refused != nil {
			return refused
		}
		if pingErr := a.db.PingContext(ctx); pingErr == nil {
			return fmt.Errorf("migrating scimbridge's tables: %w", err)
		}
		a.log.Warn("database not reachable; retrying", "in", wait.String(), "err", err)
		if err := a.o.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
