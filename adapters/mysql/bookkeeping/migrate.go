package bookkeeping

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// MigrateOptions are Migrate's clock and waiting; zero values get the defaults in brackets.
type MigrateOptions struct {
	Now   func() time.Time // the lease's clock [time.Now]
	Owner string           // the lease's owner [host-pid-random]
	Lease time.Duration    // how long the migration lease lasts unless renewed [1m]
	Poll  time.Duration    // how often a replica waiting for another's migration looks again [250ms]
}

// Migrate brings the bookkeeping tables up to date (MigrateWith, default options).
func Migrate(ctx context.Context, db *sqlx.DB, prefix string) (applied int, err error) {
	return MigrateWith(ctx, db, prefix, MigrateOptions{})
}

// MigrateWith brings the bookkeeping tables up to date. Replicas starting together take turns through
// the lease "migrate" ({p}leases, lease.go), a row every node of a cluster agrees on, where GET_LOCK is
// local to one server; the others wait until the version is the latest or the lease is free. When the
// recorded version is already the latest it runs no DDL at all, so that `serve` works with an account
// that may only read and write rows (a DDL account runs `scimbridge migrate` after upgrades).
func MigrateWith(ctx context.Context, db *sqlx.DB, prefix string, o MigrateOptions) (applied int, err error) {
	if current, err := Version(ctx, db, prefix); err == nil && current >= Latest() {
		return 0, nil
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Owner == "" {
		o.Owner = ProcessOwner()
	}
	for _, bootstrap := range []string{leaseTableSQL, schemaMigrationsSQL} {
		if _, err := db.ExecContext(ctx, strings.ReplaceAll(bootstrap, "{p}", prefix)); err != nil {
			return 0, err
		}
	}
	leases := Leases{DB: db, Tables: NewTables(prefix, MySQL), Owner: o.Owner, Now: o.Now}
	for {
		ran, err := leases.Run(ctx, prefix+"migrate", o.Lease, func(ctx context.Context) error {
			var err error
			applied, err = migrateHeld(ctx, db, prefix)
			return err
		})
		if ran || err != nil {
			return applied, err
		}
		// Another replica is migrating: done when it is, or go on from where it stopped if it died.
		if v, err := Version(ctx, db, prefix); err == nil && v >= Latest() {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

const schemaMigrationsSQL = `CREATE TABLE IF NOT EXISTS {p}schema_migrations (
	version INT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB`

// migrateHeld applies the migrations after the recorded version, holding the migration lease.
func migrateHeld(ctx context.Context, db *sqlx.DB, prefix string) (applied int, err error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	table := MySQL.Quote(prefix + "schema_migrations")
	var current int
	if err := conn.GetContext(ctx, &current, `SELECT COALESCE(MAX(version), 0) FROM `+table); err != nil {
		return 0, err
	}
	for v := current + 1; v <= len(migrations); v++ {
		// MySQL commits DDL implicitly, so each step records itself right after it runs.
		if err := migrations[v-1].apply(ctx, conn, prefix); err != nil {
			if !alreadyDone(err) {
				return applied, fmt.Errorf("migration %d: %w", v, err)
			}
			// The step's work is there already: another replica whose lease ran out did it (then it may
			// have recorded it too: go on after what it recorded), or a run that crashed between the
			// step and its record. With the lease held nobody else is at it: record it and go on.
			var now int
			if err := conn.GetContext(ctx, &now, `SELECT COALESCE(MAX(version), 0) FROM `+table); err != nil {
				return applied, err
			}
			if now >= v {
				v = now
				continue
			}
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+table+` (version, applied_at) VALUES (?, UTC_TIMESTAMP(6))`, v); err != nil {
			var me *mysqldriver.MySQLError
			if errors.As(err, &me) && me.Number == errDupEntry {
				continue // recorded by another replica just now
			}
			return applied, fmt.Errorf("recording migration %d: %w", v, err)
		}
		applied++
	}
	return applied, nil
}

// MySQL errors of a DDL step whose work is done already: the table exists (1050), the column (1060),
// the index (1061); what it drops is gone (1091).
const (
	errTableExists   = 1050
	errDupColumn     = 1060
	errDupKey        = 1061
	errCantDropThing = 1091
)

func alreadyDone(err error) bool {
	var me *mysqldriver.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case errTableExists, errDupColumn, errDupKey, errCantDropThing:
		return true
	}
	return false
}

// ProcessOwner names this process as the owner of leases and claims: host, pid and a random part.
func ProcessOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%.60s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
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
