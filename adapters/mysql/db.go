// Package mysql stores SCIM resources in a MySQL or MariaDB database: in the app's own tables, as the
// mapping says, and in scimbridge's bookkeeping tables beside them. Every SCIM write is one transaction.
package mysql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
	"github.com/scimbridge/scimbridge/scim"
)

// Open, Migrate and LoginRefused are the adapter's entry points for opening and preparing the database;
// the bookkeeping package owns them.
func Open(dsn string, maxOpen int) (*sqlx.DB, error) { return bookkeeping.Open(dsn, maxOpen) }

// Migrate brings scimbridge's own tables up to date (see bookkeeping.Migrate).
func Migrate(ctx context.Context, db *sqlx.DB, prefix string) (int, error) {
	return bookkeeping.Migrate(ctx, db, prefix)
}

// Reindex rebuilds the values table, which serves eq filters on attributes kept in scimbridge's own
// document, from every user's document (see bookkeeping.Reindex): for users a bulk SQL import wrote.
// progress, when not nil, is told the users done and the total after each batch.
func Reindex(ctx context.Context, db *sqlx.DB, prefix string, progress func(done, total int)) error {
	return bookkeeping.Reindex(ctx, db, bookkeeping.NewTables(prefix, dialect), 0, progress)
}

// LoginRefused says why the database refused the account, or nil (see bookkeeping.LoginRefused).
func LoginRefused(err error) error { return bookkeeping.LoginRefused(err) }

// dialect is the SQL this adapter writes: MySQL's and MariaDB's.
var dialect = bookkeeping.MySQL

// quoteIdent quotes a table or column name, so reserved words (user, order) work.
func quoteIdent(name string) string { return dialect.Quote(name) }

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
	kind, detail := dialect.Classify(err)
	switch kind {
	case bookkeeping.ErrDuplicate:
		if detail == "live_user_name" {
			return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Detail: "a user with this userName already exists", Err: err}
		}
		return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness,
			Detail: fmt.Sprintf("the app already has a user with the same value for its unique key %q (as the column's collation compares, "+
				"which may call names that differ only in accents or width the same)", detail), Err: err}
	case bookkeeping.ErrTooLong:
		return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("a value is too long for the app's column %q", detail), Err: err}
	case bookkeeping.ErrMissing:
		return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("the app's column %q needs a value that the request did not give", detail), Err: err}
	case bookkeeping.ErrBadValue:
		return &scim.Error{Status: 400, ScimType: scim.TypeInvalidValue, Detail: fmt.Sprintf("a value does not fit the app's column %q", detail), Err: err}
	case bookkeeping.ErrReferenced:
		return &scim.Error{Status: 409, Detail: "the app still has rows that refer to this user; it cannot be deleted", Err: err}
	case bookkeeping.ErrRetryable:
		// Every attempt met a concurrent change (a deadlock, or on a cluster another node's write to the
		// same rows): nothing was written, and the same request a moment later will most likely pass. A
		// 503 with Retry-After is what Okta and Entra retry; a 500 counts toward Entra's quarantine.
		return &scim.Error{Status: 503, Detail: "the database is busy with concurrent changes to the same data; retry", Err: err}
	case bookkeeping.ErrTimeout:
		return &scim.Error{Status: 503, Detail: "the request timed out", Err: err}
	case bookkeeping.ErrUnavailable:
		return scim.Unavailable(err)
	}
	return scim.Internal(err)
}

// inTx runs fn in one transaction of the bookkeeping layer, retried from the start after a deadlock or
// lock-wait timeout: fn may run more than once (see bookkeeping.Runner.InTx). Errors come back as SCIM
// errors.
func (s *Store) inTx(ctx context.Context, fn func(tx *bookkeeping.Tx) error) error {
	return s.classify(s.run.InTx(ctx, fn))
}

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return scim.Unavailable(err)
	}
	return nil
}

// Recount sets the users count that unfiltered lists' totalResults come from (scim_user_counts) to the
// users that are not deleted (see bookkeeping.Recount): after users were written or deleted with SQL.
// Reindex does it too.
func Recount(ctx context.Context, db *sqlx.DB, prefix string) error {
	return bookkeeping.Recount(ctx, db, bookkeeping.NewTables(prefix, dialect))
}

// DeactivationGuard is the deactivation circuit breaker (package breaker) as the store uses it: Admit in
// the transaction of each deactivation, before it writes; Settle with the write's error, after it.
type DeactivationGuard interface {
	Admit(ctx context.Context, tx *bookkeeping.Tx, d breaker.Deactivation) error
	Settle(ctx context.Context, err error) error
}

// admitDeactivation asks the breaker, if there is one, whether the user cur may be deactivated.
func (s *Store) admitDeactivation(ctx context.Context, tx *bookkeeping.Tx, id string, cur scim.Resource, op string) error {
	if s.guard == nil {
		return nil
	}
	return s.guard.Admit(ctx, tx, breaker.Deactivation{UserID: id, UserName: userName(cur), Operation: op})
}

// settleDeactivation is the breaker's answer to a write's error (a held deactivation becomes a 503).
func (s *Store) settleDeactivation(ctx context.Context, err error) error {
	if s.guard == nil || err == nil {
		return err
	}
	return s.guard.Settle(ctx, err)
}
