package roles

import (
	"context"
	"fmt"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// columnStore keeps one role in a column of the users table, or in a key-value row (roles.keyvalue:
// WordPress's wp_user_level): the highest-priority role granted, or the default.
type columnStore struct {
	r                  *mapping.Roles
	table, key, column string // quoted
}

// want keeps a value scimbridge did not write (other than the default): the column holds one role, and
// a hand-given one is not replaced by what groups grant.
func (c *columnStore) want(granted, hand []string) []string {
	switch {
	case len(hand) > 0 && (c.r.Default == nil || hand[0] != *c.r.Default):
		return hand[:1]
	case len(granted) > 0:
		return granted[:1]
	case c.r.Default != nil:
		return []string{*c.r.Default}
	}
	return nil
}

func (c *columnStore) read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error) {
	one := func(v string) []string { return []string{v} }
	if c.r.KeyValue != nil {
		return readKVRow(ctx, tx, c.r.KeyValue, keys, one)
	}
	return readColumn(ctx, tx, c.table, c.key, c.column, keys, one)
}

func (c *columnStore) write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error {
	var ups updates
	for _, u := range users {
		if u.key == nil || same(have[bookkeeping.KeyString(u.key)].roles, u.want) {
			continue
		}
		var v any
		if len(u.want) > 0 {
			v = u.want[0]
		}
		if kv := c.r.KeyValue; kv != nil {
			st := have[bookkeeping.KeyString(u.key)]
			if err := c.writeKV(ctx, tx, kv, u.key, v, st.present); err != nil {
				return err
			}
			continue
		}
		ups.add(c.column+" = ?", []any{v}, u.key)
	}
	return ups.run(ctx, tx, c.table, c.key)
}

// writeKV stores the role in the user's key-value row; no role (and no default) deletes the row.
func (c *columnStore) writeKV(ctx context.Context, tx *bookkeeping.Tx, kv *mapping.RoleKVRow, key, v any, exists bool) error {
	if v != nil {
		return writeKVRow(ctx, tx, kv, key, v.(string), exists)
	}
	if !exists {
		return nil
	}
	d := tx.D
	err := tx.Later(ctx, "DELETE FROM "+d.Quote(kv.Table)+" WHERE "+d.Quote(kv.ForeignKey)+" = ? AND "+d.Quote(kv.KeyColumn)+" = ?", key, kv.Key)
	return err
}

// readColumn reads a role column of the users with these keys, locking their rows; parse turns a
// stored value into roles.
func readColumn(ctx context.Context, tx *bookkeeping.Tx, table, key, column string, keys []any,
	parse func(string) []string) (map[string]state, error) {
	out := map[string]state{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []struct {
		Key   any     `db:"k"`
		Value *string `db:"v"`
	}
	q := "SELECT " + key + " AS k, " + column + " AS v FROM " + table + " WHERE " + key + " IN (" +
		bookkeeping.Placeholders(len(keys)) + ") FOR UPDATE"
	if err := tx.SelectContext(ctx, &rows, q, keys...); err != nil {
		return nil, err
	}
	for _, row := range rows {
		st := state{}
		if row.Value != nil {
			st.raw, st.roles, st.present = *row.Value, parse(*row.Value), true
		}
		out[bookkeeping.KeyString(bookkeeping.NormalizeKey(row.Key))] = st
	}
	return out, nil
}

// updates groups the users that get the same SET clause, so that a group of 10,000 costs a handful of
// UPDATEs (one per batch keys) rather than one each.
type updates struct {
	order []string
	bySig map[string]*update
}

type update struct {
	set  string
	args []any
	keys []any
}

func (us *updates) add(set string, args []any, key any) {
	sig := set + fmt.Sprintf("%#v", args)
	if us.bySig == nil {
		us.bySig = map[string]*update{}
	}
	if us.bySig[sig] == nil {
		us.bySig[sig] = &update{set: set, args: args}
		us.order = append(us.order, sig)
	}
	us.bySig[sig].keys = append(us.bySig[sig].keys, key)
}

func (us *updates) run(ctx context.Context, tx *bookkeeping.Tx, table, key string) error {
	for _, sig := range us.order {
		up := us.bySig[sig]
		for start := 0; start < len(up.keys); start += batch {
			keys := up.keys[start:min(start+batch, len(up.keys))]
			if err := tx.Later(ctx, "UPDATE "+table+" SET "+up.set+" WHERE "+key+" IN ("+bookkeeping.Placeholders(len(keys))+")",
				append(append([]any{}, up.args...), keys...)...); err != nil {
				return err
			}
		}
	}
	return nil
}
