package roles

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// listStore keeps every granted role in one column of the users table, separated; tokens the mapping
// does not manage (given by hand in the app) are kept as they are.
type listStore struct {
	r                  *mapping.Roles
	table, key, column string // quoted
}

func (l *listStore) want(granted, hand []string) []string { return union(l.r.Managed(), granted, hand) }

func (l *listStore) read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error) {
	return readColumn(ctx, tx, l.table, l.key, l.column, keys, l.r.ListRoles)
}

func (l *listStore) write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error {
	var ups updates
	for _, u := range users {
		if u.key == nil {
			continue
		}
		// Even with the same managed roles the text may need rewriting (a separator, an order).
		st := have[bookkeeping.KeyString(u.key)]
		if merged := l.r.MergeList(st.raw, u.want); merged != st.raw {
			ups.add(l.column+" = ?", []any{merged}, u.key)
		}
	}
	return ups.run(ctx, tx, l.table, l.key)
}
