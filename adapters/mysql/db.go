// Package mysql stores SCIM resources in a MySQL or MariaDB database: in the app's own tables, as the
// mapping says, and in scimbridge's bookkeeping tables beside them. Every SCIM write is one transaction.
package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/scim"
)

// Open connects with the settings scimbridge relies on whatever the DSN says: times parsed as UTC,
// utf8mb4, and a session that behaves the same on MySQL and MariaDB.
func Open(dsn string, maxOpen int) (*sqlx.DB, error) {
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("database DSN: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second // dialing; queries are bounded by each request's context
	}
	cfg.Collation = "utf8mb4_unicode_ci"
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	if maxOpen <= 0 {
		maxOpen = 20
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
}

// MySQL error numbers scimbridge reacts to.
const (
	errDupEntry       = 1062
	errLockWait       = 1205
	errDeadlock       = 1213
	errDataTooLong    = 1406
	errBadNull        = 1048
	errNoDefault      = 1364
	errTruncated      = 1265
	errIncorrectValue = 1366
	errOutOfRange     = 1264
	errRowIsReferred  = 1451
)

// retryable reports whether a transaction failed only because of concurrency and may simply run again.
func retryable(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && (me.Number == errDeadlock || me.Number == errLockWait)
}

var (
	dupKeyName = regexp.MustCompile(`for key '(?:[^'.]*\.)?([^']+)'`)
	columnName = regexp.MustCompile(`(?i)column '([^']+)'`)
)

// classify turns a database error into the SCIM error the client sees. The SQL text stays in Err, which
// is logged, never sent.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	var se *scim.Error
	if errors.As(err, &se) {
		return err
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		col := ""
		if m := columnName.FindStringSubmatch(me.Message); m != nil {
			col = m[1]
		}
		switch me.Number {
		case errDupEntry:
			key := ""
			if m := dupKeyName.FindStringSubmatch(me.Message); m != nil {
				key = m[1]
			}
			if key == "live_user_name" {
				return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Detail: "a user with this userName already exists", Err: err}
			}
			return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness,
				Detail: fmt.Sprintf("the app already has a user with the same value for its unique key %q (as the column's collation compares, "+
					"which may call names that differ only in accents or width the same)", key), Err: err}
		case errDataTooLong:
			return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("a value is too long for the app's column %q", col), Err: err}
		case errBadNull, errNoDefault:
			return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("the app's column %q needs a value that the request did not give", col), Err: err}
		case errTruncated, errIncorrectValue, errOutOfRange:
			return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("a value does not fit the app's column %q", col), Err: err}
		case errRowIsReferred:
			return &scim.Error{Status: 409, Detail: "the app still has rows that refer to this user; it cannot be deleted", Err: err}
		}
		return scim.Internal(err)
	}
	// Before unavailable: context.DeadlineExceeded is a net.Error too.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &scim.Error{Status: 503, Detail: "the request timed out", Err: err}
	}
	if unavailable(err) {
		return scim.Unavailable(err)
	}
	return scim.Internal(err)
}

// unavailable reports errors that mean the database cannot be reached right now.
func unavailable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysqldriver.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.As(err, &oe) || errors.As(err, &ne)
}

// inTx runs fn in one transaction, retrying it from the start after a deadlock or lock-wait timeout.
// fn must do all its reads inside tx, so a retry sees fresh data.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	const attempts = 4
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return s.classify(ctx.Err())
			case <-time.After(time.Duration(i*i) * 20 * time.Millisecond):
			}
		}
		if err = s.runTx(ctx, fn); !retryable(err) {
			return s.classify(err)
		}
		s.log.Warn("transaction retried after a lock conflict", "attempt", i+1, "err", err)
	}
	return s.classify(err)
}

func (s *Store) runTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	// READ COMMITTED: locking reads of rows that do not exist yet (is there a tombstone, an app row to
	// adopt?) then take no gap locks, which under REPEATABLE READ deadlock concurrent creates of different
	// users. Uniqueness never relied on those reads: unique indexes decide.
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return scim.Unavailable(err)
	}
	return nil
}

// Login errors: the server answered, and waiting will not change its answer.
const (
	errDBAccessDenied         = 1044 // the account may not use this database
	errAccessDenied           = 1045 // wrong user or password
	errUnknownDB              = 1049
	errAccessDeniedNoPassword = 1698 // e.g. unix_socket authentication for root over TCP
)

// LoginRefused returns a message for an error that means the server refused this account (wrong
// password, no grant on the database, no such database), or nil. Such an error is not "the database is
// not up yet": retrying it would wait forever, so callers fail at once with this message.
func LoginRefused(err error) error {
	var me *mysqldriver.MySQLError
	if !errors.As(err, &me) {
		return nil
	}
	switch me.Number {
	case errAccessDenied, errAccessDeniedNoPassword:
		return fmt.Errorf("the database refused the login: access denied (MySQL error %d); check the user and password of the DSN: %s", me.Number, me.Message)
	case errDBAccessDenied:
		return fmt.Errorf("the database refused access to the database: access denied (MySQL error %d); grant the DSN's user access: %s", me.Number, me.Message)
	case errUnknownDB:
		return fmt.Errorf("the DSN names a database that does not exist (MySQL error %d): %s", me.Number, me.Message)
	}
	return nil
}
