package bookkeeping

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
)

// A connection of Open's sends the statements of a transaction that need no answer of their own
// together with the next statement that does, as one multi-statement round trip: the transaction's
// START TRANSACTION goes with its first statement, a deferred write (Tx.Later) with the statement after
// it, and the last deferred writes with the COMMIT. The server runs them in the order they were issued,
// so every statement still sees the ones before it; only an error of a deferred write is told by the
// statement that carried it. A round trip is a write and a read system call on each side and a wake-up
// of the server's thread: in a profile of POSTs here, a third of scimbridge's own CPU for a create went
// to the system calls of its round trips, and most statements cost the server 30 to 80 us
// (bench/README.md). Only a lazily begun transaction (lazyTx) holds statements: the driver's own
// transactions (another isolation level, read-only) would commit without them.

// laterKey marks a context whose ExecContext may wait for the next statement (Tx.Later).
type laterKey struct{}

func deferring(ctx context.Context) context.Context { return context.WithValue(ctx, laterKey{}, true) }

func isDeferred(ctx context.Context) bool { v, _ := ctx.Value(laterKey{}).(bool); return v }

// pendingStmt is a statement waiting on its connection for the next one.
type pendingStmt struct {
	query string
	args  []driver.NamedValue
}

// maxCarried bounds the bytes of statements one round trip carries ahead of its own (arguments
// counted as escaped, roughly): well under any server's max_allowed_packet and the driver's limit
// for interpolating arguments, past which it would prepare the statement, which it cannot do for
// several.
const maxCarried = 1 << 20

func stmtSize(query string, args []driver.NamedValue) int {
	n := len(query) + 2
	for _, a := range args {
		switch v := a.Value.(type) {
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

// hold keeps a statement for the next round trip; pending statements past maxCarried are sent first.
func (c *textConn) hold(ctx context.Context, query string, args []driver.NamedValue) error {
	size := stmtSize(query, args)
	if len(c.pending) > 0 && c.pendingSize+size > maxCarried {
		if err := c.flush(ctx); err != nil {
			return err
		}
	}
	c.pending = append(c.pending, pendingStmt{query, args})
	c.pendingSize += size
	return nil
}

// withPending runs do with query preceded by the pending statements, in one round trip. When the
// driver will not take them together (driver.ErrSkip: it would prepare the statement, which it cannot
// do for several), the pending ones are sent first and ErrSkip is returned for query alone.
func (c *textConn) withPending(ctx context.Context, query string, args []driver.NamedValue, do func(string, []driver.NamedValue) error) error {
	if len(c.pending) > 0 && c.pendingSize+stmtSize(query, args) > maxCarried {
		if err := c.flush(ctx); err != nil {
			return err
		}
	}
	if len(c.pending) == 0 {
		return do(query, args)
	}
	q, all := c.joined(pendingStmt{query, args})
	err := do(q, all)
	if errors.Is(err, driver.ErrSkip) {
		if err := c.flush(ctx); err != nil {
			return err
		}
		return driver.ErrSkip
	}
	c.sent()
	return err
}

// joined is the pending statements and then more, as one multi-statement query and its arguments.
func (c *textConn) joined(more ...pendingStmt) (string, []driver.NamedValue) {
	var b strings.Builder
	var args []driver.NamedValue
	for i, p := range append(c.pending[:len(c.pending):len(c.pending)], more...) {
		if i > 0 {
			b.WriteString(";\n")
		}
		b.WriteString(p.query)
		args = append(args, p.args...)
	}
	return b.String(), args
}

// sent empties the queue: its statements went to the server. After a START TRANSACTION the
// transaction is open there, whatever the statements after it answered.
func (c *textConn) sent() {
	for _, p := range c.pending {
		if p.query == startTransaction {
			c.begun = true
		}
	}
	c.pending, c.pendingSize = nil, 0
}

// flush sends the pending statements alone: together, or one at a time if the driver will not take
// them together.
func (c *textConn) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	q, args := c.joined()
	_, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if errors.Is(err, driver.ErrSkip) {
		pending := c.pending
		c.sent()
		for _, p := range pending {
			if _, err := c.execOne(ctx, p.query, p.args); err != nil {
				return err
			}
		}
		return nil
	}
	c.sent()
	return err
}

// execOne runs one statement, prepared if the driver will not interpolate its arguments.
func (c *textConn) execOne(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if !errors.Is(err, driver.ErrSkip) {
		return res, err
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

const startTransaction = "START TRANSACTION"

// lazyTx is a transaction whose START TRANSACTION waits for its first statement.
type lazyTx struct{ c *textConn }

// Commit sends COMMIT with what is pending; a transaction that sent nothing has nothing to commit. If a
// statement that went with the COMMIT failed, the COMMIT did not run: the transaction is rolled back
// here, so that the connection does not go back to the pool with one open.
func (t lazyTx) Commit() error {
	c := t.c
	defer func() { c.begun, c.lazy = false, false }()
	if !c.begun && len(c.pending) == 1 && c.pending[0].query == startTransaction {
		c.sent()
		return nil
	}
	ctx := context.Background()
	exec := func(q string, args []driver.NamedValue) error {
		_, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
		return err
	}
	err := c.withPending(ctx, "COMMIT", nil, exec)
	if errors.Is(err, driver.ErrSkip) {
		// The pending writes were too large to go together and went one at a time (withPending):
		// the COMMIT goes alone.
		err = exec("COMMIT", nil)
	}
	if err != nil && c.begun {
		_, _ = c.Conn.(driver.ExecerContext).ExecContext(ctx, "ROLLBACK", nil)
	}
	return err
}

// Rollback drops what is pending and rolls back what was sent.
func (t lazyTx) Rollback() error {
	c := t.c
	c.pending, c.pendingSize, c.lazy = nil, 0, false
	if !c.begun {
		return nil
	}
	c.begun = false
	_, err := c.Conn.(driver.ExecerContext).ExecContext(context.Background(), "ROLLBACK", nil)
	return err
}

// laterResult is the result of a deferred write: not known when it is asked for.
type laterResult struct{}

var errLaterResult = errors.New("bookkeeping: the result of a deferred write is not known until the next statement")

func (laterResult) LastInsertId() (int64, error) { return 0, errLaterResult }
func (laterResult) RowsAffected() (int64, error) { return 0, errLaterResult }
