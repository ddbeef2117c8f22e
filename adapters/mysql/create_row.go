package mysql

// The row a create inserted, as the server returned it (INSERT ... RETURNING, see insertApp), and the
// user it makes: what a read-back would read, without one.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// autoIncrementKey is an AUTO_INCREMENT key as RETURNING gave it, as LastInsertId gives it: an int64.
func autoIncrementKey(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("INSERT ... RETURNING: the key is %T, not a number", v)
}

// storedRow is an app row as the server returned it: its columns' names and values.
type storedRow struct {
	names []string
	vals  []any
}

// get is the value of the column named name (as MySQL compares names: without case); nil for none.
func (r *storedRow) get(name string) any {
	for i, n := range r.names {
		if strings.EqualFold(n, name) {
			return r.vals[i]
		}
	}
	return nil
}

func (s *Store) insertReturning(ctx context.Context, tx *bookkeeping.Tx, q string, args []any) (*storedRow, error) {
	rows, err := tx.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("INSERT ... RETURNING returned no row")
	}
	vals := make([]any, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	return &storedRow{names: names, vals: vals}, rows.Close()
}

// createdUser is the user a create just wrote, as the read-back (oneUserSnap) would read it: the
// bookkeeping row from what the transaction wrote, the app columns from the row as stored.
func (s *Store) createdUser(id string, appKey any, r scim.Resource, doc []byte, now time.Time, stored *storedRow) *bookRow {
	b := &bookRow{id: id, externalID: externalID(r), version: 1, created: now, lastModified: now, doc: doc,
		userName: userName(r), app: make(map[string]any, len(s.scimCols))}
	if s.joinKey == "app_id" {
		b.appID.Int64, b.appID.Valid = appKey.(int64)
	} else {
		b.appKey.String, b.appKey.Valid = appKey.(string)
	}
	for _, c := range s.scimCols {
		b.app[c] = stored.get(c)
	}
	b.snap = audit.Row(stored.names, stored.vals)
	return b
}
