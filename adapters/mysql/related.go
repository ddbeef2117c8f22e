package mysql

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// loadSide reads what the users with the given app keys have outside the users table's ordinary columns:
// one batched query per placement. lock takes the rows' locks too, for a read-modify-write. Users with
// nothing get an empty Side; nil is returned when the mapping has no side placements.
func (s *Store) loadSide(ctx context.Context, q sqlx.QueryerContext, keys []any, lock bool) (sides, error) {
	if !s.m.HasSide() || len(keys) == 0 {
		return nil, nil
	}
	out := make(sides, len(keys))
	for _, k := range keys {
		out[sideKey(k)] = s.m.NewSide()
	}
	in := placeholders(len(keys))
	suffix := ""
	if lock {
		suffix = " FOR UPDATE"
	}
	if len(s.m.JSON) > 0 {
		cols := []string{quoteIdent(s.m.Key)}
		for _, d := range s.m.JSON {
			cols = append(cols, quoteIdent(d.Column))
		}
		err := scanRows(ctx, q, "SELECT "+strings.Join(cols, ", ")+" FROM "+quoteIdent(s.m.Table)+" WHERE "+
			quoteIdent(s.m.Key)+" IN ("+in+")"+suffix, keys, func(vals []any) {
			if side := out.of(vals[0]); side != nil {
				copy(side.Docs, vals[1:])
			}
		})
		if err != nil {
			return nil, err
		}
	}
	for i, t := range s.m.Tables {
		names := columnNames(t.Columns)
		err := scanRows(ctx, q, "SELECT "+quoteIdent(t.ForeignKey)+", "+quoteList(names)+" FROM "+quoteIdent(t.Name)+
			" WHERE "+quoteIdent(t.ForeignKey)+" IN ("+in+")"+suffix, keys, func(vals []any) {
			if side := out.of(vals[0]); side != nil {
				side.Tables[i] = zipRow(names, vals[1:])
			}
		})
		if err != nil {
			return nil, err
		}
	}
	for i, l := range s.m.Lists {
		names := columnNames(l.Columns)
		cond, args := scopeCondition(l.Scope, "")
		order := quoteIdent(l.ForeignKey)
		if id := l.IdentityColumn(); id != "" {
			order += ", " + quoteIdent(id)
		}
		err := scanRows(ctx, q, "SELECT "+quoteIdent(l.ForeignKey)+", "+quoteList(names)+" FROM "+quoteIdent(l.Table)+
			" WHERE "+quoteIdent(l.ForeignKey)+" IN ("+in+")"+cond+" ORDER BY "+order+suffix, append(keys, args...), func(vals []any) {
			if side := out.of(vals[0]); side != nil {
				side.Lists[i] = append(side.Lists[i], zipRow(names, vals[1:]))
			}
		})
		if err != nil {
			return nil, err
		}
	}
	for i, kv := range s.m.KeyValue {
		managed := make([]any, len(kv.Keys))
		for j, k := range kv.Keys {
			managed[j] = k.Name
		}
		err := scanRows(ctx, q, "SELECT "+quoteIdent(kv.ForeignKey)+", "+quoteIdent(kv.KeyColumn)+", "+quoteIdent(kv.ValueColumn)+
			" FROM "+quoteIdent(kv.Table)+" WHERE "+quoteIdent(kv.ForeignKey)+" IN ("+in+") AND "+quoteIdent(kv.KeyColumn)+
			" IN ("+placeholders(len(managed))+")"+suffix, append(keys, managed...), func(vals []any) {
			side := out.of(vals[0])
			if side == nil {
				return
			}
			if side.KV[i] == nil {
				side.KV[i] = map[string]any{}
			}
			side.KV[i][matchKey(kv, vals[1])] = vals[2]
		})
		if err != nil {
			return nil, err
		}
	}
	// Only a write (which locks) compares with the record of written list rows; a GET needs no query more.
	if lock {
		if err := s.loadOurs(ctx, q, keys, out, suffix); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sides holds the Side of each user of a batch, by app key.
type sides map[string]*mapping.Side

// of returns the Side of the user with this app key, as given or as a foreign key column returned it:
// a case-insensitive collation may match a text key written in another case. nil for an unknown key.
func (s sides) of(key any) *mapping.Side { return s[sideKey(key)] }

func sideKey(k any) string { return strings.ToLower(keyString(k)) }

// matchKey returns the configured spelling of a key read back, which the column's collation may have
// matched case-insensitively.
func matchKey(kv *mapping.KeyValue, raw any) string {
	k := keyString(raw)
	for _, c := range kv.Keys {
		if strings.EqualFold(c.Name, k) {
			return c.Name
		}
	}
	return k
}

// scanRows runs a query and hands each row's values to fn; text arrives as []byte.
func scanRows(ctx context.Context, q sqlx.QueryerContext, query string, args []any, fn func([]any)) error {
	rows, err := q.QueryxContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return err
		}
		fn(vals)
	}
	return rows.Err()
}

func keyString(k any) string { return bookkeeping.KeyString(k) }

func columnNames(cols []*mapping.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func quoteList(names []string) string { return bookkeeping.QuoteList(dialect, names) }

func zipRow(names []string, vals []any) map[string]any {
	row := make(map[string]any, len(names))
	for i, n := range names {
		row[n] = vals[i]
	}
	return row
}

// scopeCondition renders " AND alias.col = ?" for each scope column, in a stable order.
func scopeCondition(scope map[string]any, alias string) (string, []any) {
	var b strings.Builder
	var args []any
	for _, col := range slices.Sorted(maps.Keys(scope)) {
		c := alias + quoteIdent(col)
		vals, null := mapping.ScopeValues(scope[col])
		var alts []string
		switch len(vals) {
		case 0:
		case 1:
			alts = append(alts, c+" = ?")
		default:
			alts = append(alts, c+" IN ("+placeholders(len(vals))+")")
		}
		if null {
			alts = append(alts, c+" IS NULL")
		}
		b.WriteString(" AND (" + strings.Join(alts, " OR ") + ")")
		args = append(args, vals...)
	}
	return b.String(), args
}

// execOps runs a write's side statements in order.
func execOps(ctx context.Context, tx *bookkeeping.Tx, ops []mapping.Op) error {
	for _, op := range ops {
		query, args := renderOp(op)
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

func renderOp(op mapping.Op) (string, []any) {
	var args []any
	where := func() string {
		conds := make([]string, 0, len(op.Where))
		for _, col := range slices.Sorted(maps.Keys(op.Where)) {
			if v := op.Where[col]; v == nil {
				conds = append(conds, quoteIdent(col)+" IS NULL")
			} else {
				conds = append(conds, quoteIdent(col)+" = ?")
				args = append(args, v)
			}
		}
		s := " WHERE " + strings.Join(conds, " AND ")
		if op.One {
			s += " LIMIT 1"
		}
		return s
	}
	cols := slices.Sorted(maps.Keys(op.Set))
	switch op.Kind {
	case mapping.Insert:
		for _, c := range cols {
			args = append(args, op.Set[c])
		}
		return "INSERT INTO " + quoteIdent(op.Table) + " (" + quoteList(cols) + ") VALUES (" + placeholders(len(cols)) + ")", args
	case mapping.Update:
		sets := make([]string, len(cols))
		for i, c := range cols {
			if op.Set[c] == mapping.ColumnDefault {
				sets[i] = quoteIdent(c) + " = DEFAULT"
				continue
			}
			sets[i] = quoteIdent(c) + " = ?"
			args = append(args, op.Set[c])
		}
		return "UPDATE " + quoteIdent(op.Table) + " SET " + strings.Join(sets, ", ") + where(), args
	}
	return "DELETE FROM " + quoteIdent(op.Table) + where(), args
}
