package webhook

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// Delivery statuses. pending and failed deliveries are still to be sent ("waiting"); the others are final
// until an operator acts (Retry, RetryDead, Replay, Enable).
const (
	StatusPending   = "pending"   // enqueued, not attempted yet (or re-enqueued)
	StatusFailed    = "failed"    // attempted and failed; next_attempt_at says when it is tried again
	StatusDelivered = "delivered" // the receiver answered 2xx
	StatusDead      = "dead"      // failed for give_up_after (or max_attempts); kept for Retry
	StatusDisabled  = "disabled"  // its endpoint answered 410 Gone; kept for Enable
)

// tables are the quoted names of the tables this package uses (created by adapters/mysql.Migrate).
type tables struct {
	outbox, cursors, deliveries string
}

func newTables(prefix string) tables {
	return tables{
		outbox:     quote(prefix + "outbox"),
		cursors:    quote(prefix + "webhook_cursors"),
		deliveries: quote(prefix + "webhook_deliveries"),
	}
}

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// inTx runs fn in a READ COMMITTED transaction, from the start again after a deadlock or lock-wait
// timeout.
func inTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
			}
		}
		if err = runTx(ctx, db, fn); !retryable(err) {
			return err
		}
	}
	return err
}

func runTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
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

func retryable(err error) bool {
	var me *mysqldriver.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}
