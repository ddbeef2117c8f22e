package bookkeeping

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migrate brings the bookkeeping tables up to date. A named lock serializes replicas starting together.
// When the recorded version is already the latest it runs no DDL at all, so that `serve` works with an
// account that may only read and write rows (a DDL account runs `scimbridge migrate` after upgrades).
func Migrate(ctx context.Context, db *sqlx.DB, prefix string) (applied int, err error) {
	if current, err := Version(ctx, db, prefix); err == nil && current >= Latest() {
		return 0, nil
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	lock := prefix + "migrate"
	var got int
	if err := conn.GetContext(ctx, &got, "SELECT GET_LOCK(?, 60)", lock); err != nil || got != 1 {
		return 0, fmt.Errorf("could not take the migration lock %q: %v", lock, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock)

	table := prefix + "schema_migrations"
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+MySQL.Quote(table)+` (
		version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB`); err != nil {
		return 0, err
	}
	var current int
	if err := conn.GetContext(ctx, &current, `SELECT COALESCE(MAX(version), 0) FROM `+MySQL.Quote(table)); err != nil {
		return 0, err
	}
	for v := current + 1; v <= len(migrations); v++ {
		// MySQL commits DDL implicitly, so each step records itself right after it runs; a crash in between
		// leaves a table that exists but is unrecorded, which the next run reports instead of guessing.
		if err := migrations[v-1].apply(ctx, conn, prefix); err != nil {
			return applied, fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+MySQL.Quote(table)+` (version, applied_at) VALUES (?, UTC_TIMESTAMP(6))`, v); err != nil {
			return applied, fmt.Errorf("recording migration %d: %w", v, err)
		}
		applied++
	}
	return applied, nil
}

func (m migration) apply(ctx context.Context, conn *sqlx.Conn, prefix string) error {
	if m.run != nil {
		return m.run(ctx, conn, prefix)
	}
	_, err := conn.ExecContext(ctx, strings.ReplaceAll(m.sql, "{p}", prefix))
	return err
}

// Latest is the version of the newest migration this build knows.
func Latest() int { return len(migrations) }

// Version is the migration version recorded in the database: 0 when none was ever applied (no
// {p}schema_migrations table), an error when the database cannot say.
func Version(ctx context.Context, db sqlx.QueryerContext, prefix string) (int, error) {
	var exists int
	if err := sqlx.GetContext(ctx, db, &exists, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
		prefix+"schema_migrations"); err != nil {
		return 0, err
	}
	if exists == 0 {
		return 0, nil
	}
	var v int
	err := sqlx.GetContext(ctx, db, &v, "SELECT COALESCE(MAX(version), 0) FROM "+MySQL.Quote(prefix+"schema_migrations"))
	return v, err
}
