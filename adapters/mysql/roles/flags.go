package roles

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// flagsStore keeps roles as boolean columns of the users table, one or more roles per column.
type flagsStore struct {
	r          *mapping.Roles
	table, key string // quoted
}

func (f *flagsStore) want(granted, hand []string) []string {
	return union(f.r.Managed(), granted, hand)
}

func (f *flagsStore) columns() []string {
	cols := make([]string, 0, len(f.r.FlagColumns()))
	for c := range f.r.FlagColumns() {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols
}

func (f *flagsStore) read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error) {
	out := map[string]state{}
	if len(keys) == 0 {
		return out, nil
	}
	cols := f.columns()
	rows, err := tx.QueryxContext(ctx, "SELECT "+f.key+", "+bookkeeping.QuoteList(tx.D, cols)+" FROM "+f.table+" WHERE "+f.key+
		" IN ("+bookkeeping.Placeholders(len(keys))+") FOR UPDATE", keys...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for i, c := range cols {
			if truthy(vals[i+1]) {
				for _, role := range f.r.FlagColumns()[c] {
					set[role] = true
				}
			}
		}
		st := state{}
		for _, m := range f.r.Managed() {
			if set[m] {
				st.roles = append(st.roles, m)
			}
		}
		out[bookkeeping.KeyString(bookkeeping.NormalizeKey(vals[0]))] = st
	}
	return out, rows.Err()
}

func (f *flagsStore) write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error {
	var ups updates
	for _, u := range users {
		if u.key == nil || same(have[bookkeeping.KeyString(u.key)].roles, u.want) {
			continue
		}
		set, args := f.sets(tx.D, u.want)
		ups.add(set, args, u.key)
	}
	return ups.run(ctx, tx, f.table, f.key)
}

// sets is the SET clause for a user granted these roles: a column is 1 when one of its roles is granted.
func (f *flagsStore) sets(d bookkeeping.Dialect, want []string) (string, []any) {
	granted := map[string]bool{}
	for _, g := range want {
		granted[g] = true
	}
	var sets []string
	var args []any
	for _, c := range f.columns() {
		on := 0
		for _, role := range f.r.FlagColumns()[c] {
			if granted[role] {
				on = 1
			}
		}
		sets = append(sets, d.Quote(c)+" = ?")
		args = append(args, on)
	}
	return strings.Join(sets, ", "), args
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case []byte:
		s := string(v)
		return s != "" && s != "0" && s != "\x00"
	case int64:
		return v != 0
	case bool:
		return v
	}
	return fmt.Sprint(v) != "0"
}
