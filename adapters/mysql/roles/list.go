package roles

import (
	"context"
	"fmt"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// listStore keeps every granted role in one value, separated, a JSON array or a PHP-serialized array
// (roles.encoding), in a column of the users table or in a key-value row (roles.keyvalue); entries the
// mapping does not manage (given by hand in the app) keep their exact bytes.
type listStore struct {
	r                  *mapping.Roles
	table, key, column string // quoted
}

func (l *listStore) want(granted, hand []string) []string { return union(l.r.Managed(), granted, hand) }

func (l *listStore) read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error) {
	if l.r.KeyValue != nil {
		return readKVRow(ctx, tx, l.r.KeyValue, keys, l.r.Held)
	}
	return readColumn(ctx, tx, l.table, l.key, l.column, keys, l.r.Held)
}

func (l *listStore) write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error {
	var ups updates
	for _, u := range users {
		if u.key == nil {
			continue
		}
		// Even with the same managed roles the text may need rewriting (a separator, an order).
		st := have[bookkeeping.KeyString(u.key)]
		merged, err := l.r.Merge(st.raw, u.want)
		if err != nil {
			return fmt.Errorf("the roles of the app's user %v: %w; scimbridge does not overwrite it", u.key, err)
		}
		if (!st.present && len(u.want) == 0) || (st.present && merged == st.raw) {
			continue // nothing to hold and no value yet, or the value is right
		}
		if l.r.KeyValue != nil {
			if err := writeKVRow(ctx, tx, l.r.KeyValue, u.key, merged, st.present); err != nil {
				return err
			}
			continue
		}
		ups.add(l.column+" = ?", []any{merged}, u.key)
	}
	return ups.run(ctx, tx, l.table, l.key)
}

// readKVRow reads the key-value row holding the roles of the users with these keys, locking it; parse
// turns its value into roles. A user without the row holds none.
func readKVRow(ctx context.Context, tx *bookkeeping.Tx, kv *mapping.RoleKVRow, keys []any,
	parse func(string) []string) (map[string]state, error) {
	out := map[string]state{}
	if len(keys) == 0 {
		return out, nil
	}
	d := tx.D
	var rows []struct {
		Key   any     `db:"k"`
		Value *string `db:"v"`
	}
	q := "SELECT " + d.Quote(kv.ForeignKey) + " AS k, " + d.Quote(kv.ValueColumn) + " AS v FROM " + d.Quote(kv.Table) +
		" WHERE " + d.Quote(kv.ForeignKey) + " IN (" + bookkeeping.Placeholders(len(keys)) + ") AND " + d.Quote(kv.KeyColumn) +
		" = ? FOR UPDATE"
	if err := tx.SelectContext(ctx, &rows, q, append(append([]any{}, keys...), kv.Key)...); err != nil {
		return nil, err
	}
	for _, row := range rows {
		k := bookkeeping.KeyString(bookkeeping.NormalizeKey(row.Key))
		if _, twice := out[k]; twice {
			continue // the app's first row of the key is the one it reads (WordPress's get_user_meta)
		}
		st := state{present: true}
		if row.Value != nil {
			st.raw, st.roles = *row.Value, parse(*row.Value)
		}
		out[k] = st
	}
	return out, nil
}

// writeKVRow stores a user's role value in its key-value row, inserting the row when there is none.
func writeKVRow(ctx context.Context, tx *bookkeeping.Tx, kv *mapping.RoleKVRow, key any, value string, exists bool) error {
	d := tx.D
	var err error
	if exists {
		err = tx.Later(ctx, "UPDATE "+d.Quote(kv.Table)+" SET "+d.Quote(kv.ValueColumn)+" = ? WHERE "+d.Quote(kv.ForeignKey)+
			" = ? AND "+d.Quote(kv.KeyColumn)+" = ?", value, key, kv.Key)
	} else {
		err = tx.Later(ctx, "INSERT INTO "+d.Quote(kv.Table)+" ("+d.Quote(kv.ForeignKey)+", "+d.Quote(kv.KeyColumn)+", "+
			d.Quote(kv.ValueColumn)+") VALUES (?, ?, ?)", key, kv.Key, value)
	}
	return err
}
