// Package bookkeeping owns scimbridge's own tables in a MySQL-family database and the transactions that
// write them: it opens the connection with the session settings scimbridge relies on, migrates the
// tables (migrations.go), and runs every write as one retrying transaction, a Tx carrying the
// transaction's one timestamp and the tables' names. What differs between SQL databases (quoting, error
// codes, locking clauses, JSON functions) is behind Dialect, so that another database adds a Dialect and
// its own adapter beside adapters/mysql rather than branches in either.
package bookkeeping

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// DSNForm is the form of a DSN, as the Go MySQL driver reads it.
const DSNForm = "user:pass@tcp(host:3306)/db"

// Open connects with the settings scimbridge relies on whatever the DSN says: times parsed as UTC,
// utf8mb4, a session that behaves the same on MySQL and MariaDB, and arguments interpolated client-side.
func Open(dsn string, maxOpen int) (*sqlx.DB, error) { return OpenWrapped(dsn, maxOpen, nil) }

// OpenWrapped is Open with the MySQL driver's connector passed through wrap (when not nil) before
// scimbridge's own: a test's recording of what each round trip sends the server.
func OpenWrapped(dsn string, maxOpen int, wrap func(driver.Connector) driver.Connector) (*sqlx.DB, error) {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && scheme != "" && strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+") == "" {
		// A URL (mysql://user@host/db, as other tools take): say the form the driver takes. The DSN
		// itself is not repeated: it may hold a password.
		return nil, fmt.Errorf("database DSN: a %s:// URL is not a DSN; write it in the form %s, such as app:secret@tcp(db.example.com:3306)/legacy", scheme, DSNForm)
	}
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("database DSN: %w; the DSN has the form %s", err, DSNForm)
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
	// One round trip per statement: the driver quotes the arguments into the statement itself (safe
	// with utf8mb4, and it follows the session's NO_BACKSLASH_ESCAPES) instead of preparing, executing
	// and closing a server-side statement. textConnector keeps []byte arguments text, as they were.
	cfg.InterpolateParams = true
	// Several statements in one round trip, for what a transaction sends ahead of its next statement
	// (pending.go). Every statement scimbridge sends is built from quoted identifiers and arguments the
	// driver escapes (above), never from request text, so a value cannot end one statement and begin
	// another.
	cfg.MultiStatements = true
	inner, err := mysqldriver.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	off, err := mysqldriver.NewConnector(autocommitOff(cfg))
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		inner, off = wrap(inner), wrap(off)
	}
	if maxOpen <= 0 {
		maxOpen = 20
	}
	c := &cluster{}
	c.guarded.open = func() *sqlx.DB {
		db := sqlx.NewDb(sql.OpenDB(textConnector{inner: off, cluster: c}), "mysql")
		db.SetMaxOpenConns(maxOpen)
		db.SetMaxIdleConns(maxOpen)
		db.SetConnMaxIdleTime(time.Minute)
		db.SetConnMaxLifetime(5 * time.Minute)
		return db
	}
	db := sqlx.NewDb(sql.OpenDB(textConnector{inner: inner, cluster: c}), "mysql")
	clusters.Store(db.DB, c)
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
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
