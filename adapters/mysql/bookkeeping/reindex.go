package bookkeeping

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// beginner is a database or one connection of it: what Reindex needs.
type beginner interface {
	sqlx.QueryerContext
	BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
}

// ReindexBatch is how many users Reindex rewrites per transaction.
const ReindexBatch = 1000

// Reindex rebuilds the values table from the bookkeeping documents of every user that is not deleted,
// and their in_groups from the membership table, batch users per transaction in id order, removes the
// values of deleted users, and counts the users again (Recount). It is for rows a bulk
// SQL import wrote without scimbridge (scimbridge's own writes keep the table right), and can run while
// scimbridge serves: each batch locks its users' rows as a write does. progress, when not nil, is told
// the users done and the total after each batch.
func Reindex(ctx context.Context, db beginner, t Tables, batch int, progress func(done, total int)) error {
	return reindex(ctx, db, t, batch, false, progress)
}

// fillValues is Reindex for a values table just created, and empty: it only inserts, so that the
// migration needs no DELETE privilege (the migrating account has none).
func fillValues(ctx context.Context, conn *sqlx.Conn, prefix string) error {
	return reindex(ctx, conn, NewTables(prefix, MySQL), 0, true, nil)
}

func reindex(ctx context.Context, db beginner, t Tables, batch int, empty bool, progress func(done, total int)) error {
	if batch <= 0 {
		batch = ReindexBatch
	}
	var total int
	if err := sqlx.GetContext(ctx, db, &total, "SELECT COUNT(*) FROM "+t.Users()+" WHERE deleted_at IS NULL"); err != nil {
		return err
	}
	done, after := 0, ""
	for {
		n, last, err := reindexBatch(ctx, db, t, after, batch, empty)
		if err != nil {
			return fmt.Errorf("reindex after user %q: %w", after, err)
		}
		done += n
		if progress != nil {
			progress(done, total)
		}
		if n < batch {
			break
		}
		after = last
	}
	if empty {
		return nil
	}
	if _, err := execIn(ctx, db, "DELETE v FROM "+t.Values()+" v JOIN "+t.Users()+" b ON b.id = v.user_id WHERE b.deleted_at IS NOT NULL"); err != nil {
		return err
	}
	// The import did not count its users either.
	return Recount(ctx, db, t)
}

func reindexBatch(ctx context.Context, db beginner, t Tables, after string, batch int, empty bool) (n int, last string, err error) {
	tx, err := beginIn(ctx, db, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, "", err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var rows []struct {
		ID  string `db:"id"`
		Doc []byte `db:"doc"`
	}
	if err = tx.SelectContext(ctx, &rows, "SELECT id, doc FROM "+t.Users()+
		" WHERE id > ? AND deleted_at IS NULL ORDER BY id LIMIT ? FOR UPDATE", after, batch); err != nil {
		return 0, "", err
	}
	if len(rows) == 0 {
		return 0, "", tx.Commit()
	}
	ids := make([]string, len(rows))
	byUser := make(map[string][]Value, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		vals, err := DocValues(r.Doc)
		if err != nil {
			return 0, "", fmt.Errorf("user %s: bookkeeping doc: %w", r.ID, err)
		}
		byUser[r.ID] = vals
	}
	if !empty {
		if _, err = tx.ExecContext(ctx, "DELETE FROM "+t.Values()+" WHERE user_id IN ("+Placeholders(len(ids))+")", Args(ids)...); err != nil {
			return 0, "", err
		}
	}
	if err = insertValues(ctx, tx.Tx, t, byUser); err != nil {
		return 0, "", err
	}
	if !empty { // memberships and direct roles an import wrote, or that went: in_groups and has_direct say so again
		if _, err = tx.ExecContext(ctx, "UPDATE "+t.Users()+" b SET in_groups = EXISTS (SELECT 1 FROM "+t.Members()+
			" gm WHERE gm.user_id = b.id), has_direct = EXISTS (SELECT 1 FROM "+t.RoleDirect()+" rd WHERE rd.user_id = b.id)"+
			" WHERE b.id IN ("+Placeholders(len(ids))+")", Args(ids)...); err != nil {
			return 0, "", err
		}
	}
	return len(rows), rows[len(rows)-1].ID, tx.Commit()
}

// execIn runs one statement in a transaction of its own.
func execIn(ctx context.Context, db beginner, q string, args ...any) (sql.Result, error) {
	tx, err := beginIn(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return res, tx.Commit()
}
