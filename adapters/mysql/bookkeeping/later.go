package bookkeeping

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// Later runs a write of the transaction's whose result (rows affected, insert id) nobody needs and
// whose error may be told by a later statement: the audit trail, the outbox, the bookkeeping row of a
// user, the app row's UPDATE, the user counts, the values index. On a pool Open made, such a write
// waits on its connection and goes to the server with the transaction's next statement, or with its
// COMMIT, as one round trip (pending.go); the server still runs every statement in order, so the next
// one sees it. An error of the write then fails that statement, and the transaction with it.
// Elsewhere (outside a transaction begun lazily, pending.go) the write runs at once. A statement
// prepared explicitly in the transaction runs on its own and would not carry them: none is.
func (tx *Tx) Later(ctx context.Context, query string, args ...any) error {
	_, err := tx.ExecContext(deferring(ctx), query, args...)
	return err
}

// Deferred is Later as an ExecerContext, for helpers that take one. Its results are not known when it
// returns: asking for them is an error.
func (tx *Tx) Deferred() sqlx.ExecerContext { return deferred{tx} }

type deferred struct{ tx *Tx }

func (d deferred) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(deferring(ctx), query, args...)
}
