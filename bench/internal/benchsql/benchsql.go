// Package benchsql is the plain SQL the load tools run beside scimbridge: seeding rows straight into
// tables with multi-row INSERTs (tables of 100,000 users would take minutes through the store), and
// reading rows back as text to print EXPLAIN or to compare what the seed wrote with what the store wrote.
package benchsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Insert runs one INSERT INTO target VALUES (?, ...), (?, ...) with a tuple of placeholders per row;
// target is the table and its column list, "users (email, status)".
func Insert(ctx context.Context, tx sqlx.ExecerContext, target string, rows [][]any) error {
	var q strings.Builder
	var args []any
	q.WriteString("INSERT INTO " + target + " VALUES ")
	for n, r := range rows {
		if n > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")")
		args = append(args, r...)
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// IDs maps each key to the id of the row of table whose column keyCol holds it, for linking rows just
// inserted with AUTO_INCREMENT ids; it fails unless every key is found.
func IDs(ctx context.Context, tx sqlx.QueryerContext, table, keyCol string, keys []string) (map[string]int64, error) {
	in, args, err := sqlx.In("SELECT "+keyCol+" AS k, id FROM "+table+" WHERE "+keyCol+" IN (?)", keys)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Key string `db:"k"`
		ID  int64  `db:"id"`
	}
	if err := sqlx.SelectContext(ctx, tx, &rows, in, args...); err != nil {
		return nil, err
	}
	ids := make(map[string]int64, len(rows))
	for _, r := range rows {
		ids[r.Key] = r.ID
	}
	if len(ids) != len(keys) {
		return nil, fmt.Errorf("seeded %d rows into %s, found %d again", len(keys), table, len(ids))
	}
	return ids, nil
}

// Analyze runs ANALYZE TABLE on each table, so that after a bulk seed the optimizer plans with the
// tables' real sizes.
func Analyze(ctx context.Context, db sqlx.ExecerContext, tables ...string) error {
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+t); err != nil {
			return err
		}
	}
	return nil
}

// Strings runs a query and returns its column names and rows as text, NULL as "NULL".
func Strings(ctx context.Context, db sqlx.QueryerContext, query string, args ...any) (cols []string, out [][]string, err error) {
	rows, err := db.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	if cols, err = rows.Columns(); err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}
