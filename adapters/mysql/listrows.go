package mysql

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// The record of the list rows scimbridge wrote (<prefix>list_rows, see mapping.Side.Ours): a replacement
// of a list deletes only these, so an Okta PUT keeps the addresses a user added in the app.

// tracksLists reports whether any list keeps the app's rows, and so needs the record.
func (s *Store) tracksLists() bool {
	for _, l := range s.m.Lists {
		if l.KeepAppRows && l.IdentityColumn() != "" {
			return true
		}
	}
	return false
}

// loadOurs fills the Ours of the sides of these app keys from the record. A user that has no bookkeeping
// row yet (being created or adopted) keeps the empty record NewSide gave it: all its rows are the app's.
func (s *Store) loadOurs(ctx context.Context, q sqlx.QueryerContext, keys []any, out sides, suffix string) error {
	if !s.tracksLists() {
		return nil
	}
	index := map[string]int{}
	for i, l := range s.m.Lists {
		index[l.Name()] = i
	}
	return scanRows(ctx, q, "SELECT b."+s.joinKey+", b.lists_untracked, r.list, r.row_key FROM "+s.bookTable()+" b LEFT JOIN "+
		s.t.ListRows()+" r ON r.user_id = b.id WHERE b."+s.joinKey+" IN ("+placeholders(len(keys))+")"+suffix, keys, func(vals []any) {
		side := out.of(vals[0])
		if side == nil {
			return
		}
		if text(vals[1]) == "1" {
			clear(side.Ours) // untracked: nil, every managed row counts as scimbridge's
			return
		}
		if i, ok := index[text(vals[2])]; ok && side.Ours[i] != nil {
			side.Ours[i][text(vals[3])] = true
		}
	})
}

// text is a scanned value as text ("" for NULL).
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// writeOurs brings the record of user id to what a write from old to new leaves (mapping.Users.Written),
// inserting and deleting only the difference; a user untracked until now becomes tracked.
func (s *Store) writeOurs(ctx context.Context, tx *bookkeeping.Tx, id string, old scim.Resource, side *mapping.Side, new scim.Resource) error {
	if side == nil || !s.tracksLists() {
		return nil
	}
	written, err := s.m.Written(old, new, side.Ours)
	if err != nil {
		return err
	}
	var ins, del []any
	untracked := false
	for i, l := range s.m.Lists {
		if written[i] == nil {
			continue
		}
		had := side.Ours[i]
		if had == nil {
			untracked, had = true, map[string]bool{}
		}
		for _, k := range slices.Sorted(maps.Keys(written[i])) {
			if !had[k] {
				ins = append(ins, id, l.Name(), k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(had)) {
			if !written[i][k] {
				del = append(del, l.Name(), k)
			}
		}
	}
	t := s.t.ListRows()
	if len(del) > 0 {
		terms := strings.TrimSuffix(strings.Repeat("(list = ? AND row_key = ?) OR ", len(del)/2), " OR ")
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE user_id = ? AND ("+terms+")", append([]any{id}, del...)...); err != nil {
			return err
		}
	}
	if len(ins) > 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" (user_id, list, row_key) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(ins)/3), ", "), ins...); err != nil {
			return err
		}
	}
	if untracked {
		_, err = tx.ExecContext(ctx, "UPDATE "+s.bookTable()+" SET lists_untracked = 0 WHERE id = ?", id)
	}
	return err
}
