package bookkeeping

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Later runs a write of the transaction's that nothing after it in the same transaction reads, and
// whose result (rows affected, insert id) nobody needs: the audit trail, the outbox, the record of the
// columns written, the user counts, the rows of the values index, the end of gate sessions. On a
// Runner's transaction over a pool Open made, such writes wait and go to the server together just
// before the commit, as one multi-statement round trip, in the order they were queued; an error of
// one of them is the commit's (the transaction is rolled back, and run again if it is a conflict).
// Elsewhere the write runs at once. The point is round trips: a POST's five bookkeeping writes after
// its read-back were five, each a wait for the client and a wake-up for the server.
//
// Only for tables a write transaction never reads: a read in the same transaction would not see a
// queued write yet.
func (tx *Tx) Later(ctx context.Context, query string, args ...any) error {
	if tx.later == nil {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	tx.later.add(query, args)
	return nil
}

// Deferred is Later as an ExecerContext, for helpers that take one. Its results are not known until
// the commit: asking for them is an error.
func (tx *Tx) Deferred() sqlx.ExecerContext { return deferred{tx} }

type deferred struct{ tx *Tx }

func (d deferred) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if d.tx.later == nil {
		return d.tx.ExecContext(ctx, query, args...)
	}
	d.tx.later.add(query, args)
	return laterResult{}, nil
}

type laterResult struct{}

var errLaterResult = errors.New("bookkeeping: the result of a deferred write is not known before the commit")

func (laterResult) LastInsertId() (int64, error) { return 0, errLaterResult }
func (laterResult) RowsAffected() (int64, error) { return 0, errLaterResult }

// laterQueue holds a transaction's deferred writes until flush.
type laterQueue struct {
	stmts []string
	args  [][]any
}

func (q *laterQueue) add(query string, args []any) {
	q.stmts = append(q.stmts, query)
	q.args = append(q.args, args)
}

// maxBatch bounds the bytes of one multi-statement batch (statements and arguments, roughly), well
// under any server's max_allowed_packet (MySQL 8's default is 64 MiB, MariaDB's 16 MiB; 4 MiB in old
// ones) and under the driver's limit for interpolating arguments into the statement.
const maxBatch = 1 << 20

// flush sends the queued writes, as few multi-statement round trips as maxBatch allows, and empties
// the queue.
func (tx *Tx) flush(ctx context.Context) error {
	q := tx.later
	if q == nil || len(q.stmts) == 0 {
		return nil
	}
	stmts, args := q.stmts, q.args
	q.stmts, q.args = nil, nil
	for start := 0; start < len(stmts); {
		end, size := start, 0
		var batchArgs []any
		for end < len(stmts) && (end == start || size+stmtSize(stmts[end], args[end]) <= maxBatch) {
			size += stmtSize(stmts[end], args[end])
			batchArgs = append(batchArgs, args[end]...)
			end++
		}
		if _, err := tx.ExecContext(ctx, strings.Join(stmts[start:end], ";\n"), batchArgs...); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// stmtSize is about the bytes a statement takes with its arguments interpolated (escaping can double
// a string; other values are short).
func stmtSize(query string, args []any) int {
	n := len(query)
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += 2*len(v) + 2
		case []byte:
			n += 2*len(v) + 10
		default:
			n += 32
		}
	}
	return n
}

// batchPools are the pools whose connections take several statements in one query (AllowBatches).
var batchPools sync.Map // *sql.DB -> struct{}

// AllowBatches declares that db's connections take several statements in one query, with arguments
// interpolated by the driver (its multiStatements and interpolateParams), so that the transactions a
// Runner runs on db send their deferred writes together (Tx.Later). Open declares its pools; a pool
// opened another way (a test's recording one) may be declared so too.
func AllowBatches(db *sqlx.DB) { batchPools.Store(db.DB, struct{}{}) }

func batching(db *sqlx.DB) bool {
	if db == nil {
		return false
	}
	_, ok := batchPools.Load(db.DB)
	return ok
}
