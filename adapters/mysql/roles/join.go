package roles

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// joinStore keeps a row per user and role in a join table (user_roles), the role by its key in the app's
// roles table, which is looked up by name. Rows of roles the mapping does not manage are left alone.
type joinStore struct {
	r *mapping.Roles
}

func (j *joinStore) want(granted, hand []string) []string { return union(j.r.Managed(), granted, hand) }

func (j *joinStore) read(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string]state, error) {
	out := map[string]state{}
	if len(keys) == 0 {
		return out, nil
	}
	ids, err := j.roleKeys(ctx, tx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]string{}
	var roleKeys []any
	for _, m := range j.r.Managed() {
		byKey[bookkeeping.KeyString(ids[m])] = m
		roleKeys = append(roleKeys, ids[m])
	}
	var rows []struct {
		User any `db:"u"`
		Role any `db:"r"`
	}
	d := tx.D
	q := "SELECT " + d.Quote(j.r.User) + " AS u, " + d.Quote(j.r.Role) + " AS r FROM " + d.Quote(j.r.Table) +
		" WHERE " + d.Quote(j.r.User) + " IN (" + bookkeeping.Placeholders(len(keys)) + ") AND " + d.Quote(j.r.Role) +
		" IN (" + bookkeeping.Placeholders(len(roleKeys)) + ") FOR UPDATE"
	if err := tx.SelectContext(ctx, &rows, q, append(keys, roleKeys...)...); err != nil {
		return nil, err
	}
	have := map[string]map[string]bool{}
	for _, row := range rows {
		u := bookkeeping.KeyString(bookkeeping.NormalizeKey(row.User))
		if have[u] == nil {
			have[u] = map[string]bool{}
		}
		have[u][byKey[bookkeeping.KeyString(bookkeeping.NormalizeKey(row.Role))]] = true
	}
	for u, set := range have {
		st := state{}
		for _, m := range j.r.Managed() {
			if set[m] {
				st.roles = append(st.roles, m)
			}
		}
		out[u] = st
	}
	return out, nil
}

// write inserts the granted roles users lack and deletes the managed ones no longer granted, many rows a
// statement, so that a group of 10,000 costs a handful of round trips.
func (j *joinStore) write(ctx context.Context, tx *bookkeeping.Tx, users []*user, have map[string]state) error {
	var ins, del [][2]any // (user key, role name)
	for _, u := range users {
		if u.key == nil {
			continue
		}
		st := have[bookkeeping.KeyString(u.key)]
		for _, role := range minus(u.want, st.roles) {
			ins = append(ins, [2]any{u.key, role})
		}
		for _, role := range minus(st.roles, u.want) {
			del = append(del, [2]any{u.key, role})
		}
	}
	if len(ins) == 0 && len(del) == 0 {
		return nil
	}
	ids, err := j.roleKeys(ctx, tx)
	if err != nil {
		return err
	}
	d := tx.D
	t, uc, rc := d.Quote(j.r.Table), d.Quote(j.r.User), d.Quote(j.r.Role)
	for start := 0; start < len(ins); start += batch {
		rows := ins[start:min(start+batch, len(ins))]
		args := make([]any, 0, 2*len(rows))
		for _, r := range rows {
			args = append(args, r[0], ids[r[1].(string)])
		}
		if err := tx.Later(ctx, "INSERT INTO "+t+" ("+uc+", "+rc+") VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(rows)), ", "), args...); err != nil {
			return err
		}
	}
	for start := 0; start < len(del); start += batch {
		q, args := joinDelete(t, uc, rc, del[start:min(start+batch, len(del))], ids)
		if err := tx.Later(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// joinDelete is the DELETE of (user, role) rows, as `(user = ? AND role IN (?, ...)) OR ...`, one term
// per user. Not the shorter `(user, role) IN ((?, ?))`: MariaDB turns a row constructor with one pair
// into a full table scan, and every user losing one role is exactly that case.
func joinDelete(t, uc, rc string, rows [][2]any, ids map[string]any) (string, []any) {
	var order []string
	byUser := map[string][]any{}
	users := map[string]any{}
	for _, r := range rows {
		k := bookkeeping.KeyString(r[0])
		if _, ok := users[k]; !ok {
			users[k] = r[0]
			order = append(order, k)
		}
		byUser[k] = append(byUser[k], ids[r[1].(string)])
	}
	terms := make([]string, 0, len(order))
	args := make([]any, 0, len(order)+len(rows))
	for _, k := range order {
		terms = append(terms, "("+uc+" = ? AND "+rc+" IN ("+bookkeeping.Placeholders(len(byUser[k]))+"))")
		args = append(append(args, users[k]), byUser[k]...)
	}
	return "DELETE FROM " + t + " WHERE " + strings.Join(terms, " OR "), args
}

// roleKeys looks the managed roles up by name in the app's roles table. Every role a rule names must
// exist there once, within the lookup's scope (`scimbridge check` says which do not).
func (j *joinStore) roleKeys(ctx context.Context, tx *bookkeeping.Tx) (map[string]any, error) {
	l := j.r.Lookup
	q, args := LookupSQL(tx.D, l, j.r.Managed())
	var rows []struct {
		Key  any    `db:"k"`
		Name string `db:"n"`
	}
	if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	ids := map[string]any{}
	for _, r := range rows {
		if _, twice := ids[r.Name]; twice {
			return nil, fmt.Errorf("role %q of the role mapping is in %s.%s more than once%s: give roles.lookup a scope",
				r.Name, l.Table, l.Name, scopeText(l.Scope))
		}
		ids[r.Name] = bookkeeping.NormalizeKey(r.Key)
	}
	for _, m := range j.r.Managed() {
		if _, ok := ids[m]; !ok {
			return nil, fmt.Errorf("role %q of the role mapping does not exist in %s.%s%s", m, l.Table, l.Name, scopeText(l.Scope))
		}
	}
	return ids, nil
}

// LookupSQL is the query reading the key (k) and name (n) of the lookup table's rows named as these
// roles, within its scope.
func LookupSQL(d bookkeeping.Dialect, l mapping.RoleLookup, names []string) (string, []any) {
	q := "SELECT " + d.Quote(l.Key) + " AS k, " + d.Quote(l.Name) + " AS n FROM " + d.Quote(l.Table) +
		" WHERE " + d.Quote(l.Name) + " IN (" + bookkeeping.Placeholders(len(names)) + ")"
	args := bookkeeping.Args(names)
	for _, col := range sortedScope(l.Scope) {
		q += " AND " + d.Quote(col) + " = ?"
		args = append(args, l.Scope[col])
	}
	return q, args
}

func sortedScope(scope map[string]any) []string {
	cols := make([]string, 0, len(scope))
	for c := range scope {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols
}

// scopeText is " where type = Group" for the messages, "" without a scope.
func scopeText(scope map[string]any) string {
	if len(scope) == 0 {
		return ""
	}
	var conds []string
	for _, c := range sortedScope(scope) {
		conds = append(conds, fmt.Sprintf("%s = %v", c, scope[c]))
	}
	return " where " + strings.Join(conds, " and ")
}
