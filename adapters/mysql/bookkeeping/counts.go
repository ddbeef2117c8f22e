package bookkeeping

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// CountShards is how many rows user_counts spreads the count over.
const CountShards = 16

// countShards is a derived table of the shard numbers 0..CountShards-1, for the migration that fills
// user_counts (a plain SELECT list: no seq tables or recursive CTEs, which not every server has).
var countShards = func() string {
	parts := make([]string, CountShards)
	for i := range parts {
		parts[i] = "SELECT " + strconv.Itoa(i) + " AS n"
	}
	return strings.Join(parts, " UNION ALL ")
}()

// CountUser adds delta (+1 for a user created or revived, -1 for one deleted) to the live users count, in
// the write's transaction, so that the count changes exactly when the user does. The shard is the last
// hex digit of the SCIM id, random in every UUID scimbridge makes (the first is the time in a UUIDv7):
// concurrent writes spread over the 16 rows. A user's create and delete need not meet one shard: the
// count is the sum of all.
func CountUser(ctx context.Context, tx *Tx, id string, delta int) error {
	return tx.Later(ctx, "UPDATE "+tx.Tables.UserCounts()+" SET live = live + ?, changes = changes + 1 WHERE shard = ?", delta, shardOf(id))
}

func shardOf(id string) int {
	if id == "" {
		return 0
	}
	n, err := strconv.ParseUint(id[len(id)-1:], 16, 8)
	if err != nil {
		return 0
	}
	return int(n)
}

// Counts are the sums of user_counts: the users that are not deleted, and the creates and deletes so
// far.
type Counts struct {
	Live    int64 `db:"live"`
	Changes int64 `db:"changes"`
}

// ReadCounts reads the users count with q (the database, or a transaction whose read view it must share).
func ReadCounts(ctx context.Context, q sqlx.QueryerContext, t Tables) (Counts, error) {
	var c Counts
	err := sqlx.GetContext(ctx, q, &c, "SELECT COALESCE(SUM(live), 0) AS live, COALESCE(SUM(changes), 0) AS changes FROM "+t.UserCounts())
	return c, err
}

// Recount sets the users count to the users that are not deleted, for rows a bulk SQL import wrote
// without scimbridge. It can run while scimbridge serves: it locks the count rows first, so a write
// that counted a user before commits before the COUNT reads (READ COMMITTED: the latest commits), and a
// write that counts after it adds to the new figure. changes goes up, so readers drop what they derived
// from the old count.
func Recount(ctx context.Context, db beginner, t Tables) error {
	tx, err := beginIn(ctx, db, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var shards []int
	if err := tx.SelectContext(ctx, &shards, "SELECT shard FROM "+t.UserCounts()+" ORDER BY shard FOR UPDATE"); err != nil {
		return err
	}
	var live int64
	if err := tx.GetContext(ctx, &live, "SELECT COUNT(*) FROM "+t.Users()+" WHERE deleted_at IS NULL"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+t.UserCounts()+" SET live = IF(shard = 0, ?, 0), changes = changes + 1", live); err != nil {
		return err
	}
	return tx.Commit()
}
