package mysql

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// roleState is what the app stores now for one user: the managed roles, and the raw column value
// (list store) that a rewrite must keep the unmanaged tokens of.
type roleState struct {
	roles []string
	raw   string
}

// want is what the app should store for a user, as a list of roles: the column store holds one role
// (the highest priority granted, or the default), the others every granted role.
func (rs *roleSync) want(u *roleUser) []string {
	if rs.r.Store != "column" {
		return u.granted
	}
	switch {
	case len(u.granted) > 0:
		return u.granted[:1]
	case rs.r.Default != nil:
		return []string{*rs.r.Default}
	}
	return nil
}

func (rs *roleSync) users() (table, key string) {
	return quoteIdent(rs.s.m.Table), quoteIdent(rs.s.m.Key)
}

// current reads the app's stored roles of the users, keyed by app key.
func (rs *roleSync) current(ctx context.Context, tx *bookkeeping.Tx, users []*roleUser) (map[string]roleState, error) {
	out := map[string]roleState{}
	keys := appKeys(users)
	if len(keys) == 0 {
		return out, nil
	}
	table, key := rs.users()
	switch rs.r.Store {
	case "column", "list":
		var rows []struct {
			Key   any     `db:"k"`
			Value *string `db:"v"`
		}
		q := "SELECT " + key + " AS k, " + quoteIdent(rs.r.Column) + " AS v FROM " + table + " WHERE " + key + " IN (" + placeholders(len(keys)) + ") FOR UPDATE"
		if err := tx.SelectContext(ctx, &rows, q, keys...); err != nil {
			return nil, err
		}
		for _, row := range rows {
			st := roleState{}
			if row.Value != nil {
				st.raw = *row.Value
				st.roles = []string{*row.Value}
				if rs.r.Store == "list" {
					st.roles = rs.r.ListRoles(*row.Value)
				}
			}
			out[keyString(normalizeKey(row.Key))] = st
		}
	case "flags":
		cols := sortedKeys(rs.r.FlagColumns())
		rows, err := tx.QueryxContext(ctx, "SELECT "+key+", "+quoteList(cols)+" FROM "+table+" WHERE "+key+" IN ("+placeholders(len(keys))+") FOR UPDATE", keys...)
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
					for _, role := range rs.r.FlagColumns()[c] {
						set[role] = true
					}
				}
			}
			st := roleState{}
			for _, m := range rs.r.Managed() {
				if set[m] {
					st.roles = append(st.roles, m)
				}
			}
			out[keyString(normalizeKey(vals[0]))] = st
		}
		return out, rows.Err()
	case "join":
		ids, err := rs.roleKeys(ctx, tx)
		if err != nil {
			return nil, err
		}
		byKey := map[string]string{}
		var roleKeys []any
		for _, m := range rs.r.Managed() {
			byKey[keyString(ids[m])] = m
			roleKeys = append(roleKeys, ids[m])
		}
		var rows []struct {
			User any `db:"u"`
			Role any `db:"r"`
		}
		q := "SELECT " + quoteIdent(rs.r.User) + " AS u, " + quoteIdent(rs.r.Role) + " AS r FROM " + quoteIdent(rs.r.Table) +
			" WHERE " + quoteIdent(rs.r.User) + " IN (" + placeholders(len(keys)) + ") AND " + quoteIdent(rs.r.Role) +
			" IN (" + placeholders(len(roleKeys)) + ") FOR UPDATE"
		if err := tx.SelectContext(ctx, &rows, q, append(keys, roleKeys...)...); err != nil {
			return nil, err
		}
		have := map[string]map[string]bool{}
		for _, row := range rows {
			u := keyString(normalizeKey(row.User))
			if have[u] == nil {
				have[u] = map[string]bool{}
			}
			have[u][byKey[keyString(normalizeKey(row.Role))]] = true
		}
		for u, set := range have {
			st := roleState{}
			for _, m := range rs.r.Managed() {
				if set[m] {
					st.roles = append(st.roles, m)
				}
			}
			out[u] = st
		}
	}
	return out, nil
}

// apply writes the roles each user should have where they differ from what the app stores, in batches:
// users getting the same column values share one UPDATE (per 1,000 keys), and join-table rows are
// inserted and deleted many to a statement, so a group of 10,000 costs a handful of round trips.
func (rs *roleSync) apply(ctx context.Context, tx *bookkeeping.Tx, users []*roleUser, old map[string]roleState) error {
	type update struct {
		set  string
		args []any
		keys []any
	}
	updates := map[string]*update{}
	var order []string
	var ins, del [][2]any // join store: (user key, role name)
	for _, u := range users {
		if u.key == nil {
			continue
		}
		st := old[keyString(u.key)]
		want := rs.want(u)
		if sameRoles(st.roles, want) && rs.r.Store != "list" {
			continue
		}
		var set string
		var args []any
		switch rs.r.Store {
		case "column":
			var v any
			if len(want) > 0 {
				v = want[0]
			}
			set, args = quoteIdent(rs.r.Column)+" = ?", []any{v}
		case "list":
			merged := rs.r.MergeList(st.raw, want)
			if merged == st.raw {
				continue
			}
			set, args = quoteIdent(rs.r.Column)+" = ?", []any{merged}
		case "flags":
			set, args = rs.flagSets(want)
		case "join":
			for _, role := range minus(want, st.roles) {
				ins = append(ins, [2]any{u.key, role})
			}
			for _, role := range minus(st.roles, want) {
				del = append(del, [2]any{u.key, role})
			}
			continue
		}
		sig := set + fmt.Sprintf("%#v", args)
		if updates[sig] == nil {
			updates[sig] = &update{set: set, args: args}
			order = append(order, sig)
		}
		updates[sig].keys = append(updates[sig].keys, u.key)
	}
	table, key := rs.users()
	for _, sig := range order {
		up := updates[sig]
		for start := 0; start < len(up.keys); start += memberBatch {
			batch := up.keys[start:min(start+memberBatch, len(up.keys))]
			if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET "+up.set+" WHERE "+key+" IN ("+placeholders(len(batch))+")",
				append(append([]any{}, up.args...), batch...)...); err != nil {
				return err
			}
		}
	}
	if len(ins) == 0 && len(del) == 0 {
		return nil
	}
	return rs.applyJoin(ctx, tx, ins, del)
}

// flagSets is the SET clause of the flags store for a user granted these roles.
func (rs *roleSync) flagSets(want []string) (string, []any) {
	granted := map[string]bool{}
	for _, g := range want {
		granted[g] = true
	}
	var sets []string
	var args []any
	for _, c := range sortedKeys(rs.r.FlagColumns()) {
		on := 0
		for _, role := range rs.r.FlagColumns()[c] {
			if granted[role] {
				on = 1
			}
		}
		sets = append(sets, quoteIdent(c)+" = ?")
		args = append(args, on)
	}
	return strings.Join(sets, ", "), args
}

// applyJoin inserts the granted roles users lack and deletes the managed ones no longer granted, many
// rows a statement; roles the mapping does not manage (granted by hand in the app) are left alone.
func (rs *roleSync) applyJoin(ctx context.Context, tx *bookkeeping.Tx, ins, del [][2]any) error {
	ids, err := rs.roleKeys(ctx, tx)
	if err != nil {
		return err
	}
	t, uc, rc := quoteIdent(rs.r.Table), quoteIdent(rs.r.User), quoteIdent(rs.r.Role)
	pairs := func(rows [][2]any) []any {
		args := make([]any, 0, 2*len(rows))
		for _, r := range rows {
			args = append(args, r[0], ids[r[1].(string)])
		}
		return args
	}
	for start := 0; start < len(ins); start += memberBatch {
		batch := ins[start:min(start+memberBatch, len(ins))]
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" ("+uc+", "+rc+") VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(batch)), ", "), pairs(batch)...); err != nil {
			return err
		}
	}
	for start := 0; start < len(del); start += memberBatch {
		q, args := joinDelete(t, uc, rc, del[start:min(start+memberBatch, len(del))], ids)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
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
		k := keyString(r[0])
		if _, ok := users[k]; !ok {
			users[k] = r[0]
			order = append(order, k)
		}
		byUser[k] = append(byUser[k], ids[r[1].(string)])
	}
	terms := make([]string, 0, len(order))
	args := make([]any, 0, len(order)+len(rows))
	for _, k := range order {
		terms = append(terms, "("+uc+" = ? AND "+rc+" IN ("+placeholders(len(byUser[k]))+"))")
		args = append(append(args, users[k]), byUser[k]...)
	}
	return "DELETE FROM " + t + " WHERE " + strings.Join(terms, " OR "), args
}

// roleKeys looks the managed roles up by name in the app's roles table. Every role a rule names must
// exist there (`scimbridge check` says which do not).
func (rs *roleSync) roleKeys(ctx context.Context, tx *bookkeeping.Tx) (map[string]any, error) {
	l := rs.r.Lookup
	managed := rs.r.Managed()
	var rows []struct {
		Key  any    `db:"k"`
		Name string `db:"n"`
	}
	if err := tx.SelectContext(ctx, &rows, "SELECT "+quoteIdent(l.Key)+" AS k, "+quoteIdent(l.Name)+" AS n FROM "+quoteIdent(l.Table)+
		" WHERE "+quoteIdent(l.Name)+" IN ("+placeholders(len(managed))+")", anySlice(managed)...); err != nil {
		return nil, err
	}
	ids := map[string]any{}
	for _, r := range rows {
		ids[r.Name] = normalizeKey(r.Key)
	}
	for _, m := range managed {
		if _, ok := ids[m]; !ok {
			return nil, fmt.Errorf("role %q of the role mapping does not exist in %s.%s", m, l.Table, l.Name)
		}
	}
	return ids, nil
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
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
