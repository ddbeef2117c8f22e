package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// get returns the list's elements in a resource, and whether the resource has the attribute at all.
func (l *List) get(r scim.Resource) ([]any, bool) {
	c := r
	if l.Attr.URN != "" {
		c, _ = r[l.Attr.URN].(map[string]any)
	}
	v, ok := c[l.Attr.Attr.Name]
	list, _ := v.([]any)
	return list, ok
}

func (l *List) set(r scim.Resource, list []any) {
	s := &source{ref: l.Attr}
	if len(list) == 0 {
		s.set(r, nil)
		return
	}
	s.set(r, list)
}

// overlay sets the attribute from the list's rows.
func (l *List) overlay(r scim.Resource, rows []map[string]any) {
	kept, _ := l.get(r) // what the bookkeeping kept: sub-attributes without a column (see extras)
	var list []any
	for _, row := range rows {
		if e := l.element(row); len(e) > 0 {
			list = append(list, e)
		}
	}
	l.withExtras(list, kept)
	sortElements(list)
	l.set(r, list)
}

// element reads one row as a list element. A false primary is left out, as IdPs send it.
func (l *List) element(row map[string]any) map[string]any {
	e := map[string]any{}
	for _, c := range l.Columns {
		if c.readBack {
			c.overlay(e, row[c.Name])
		}
	}
	if p, ok := e["primary"].(bool); ok && !p {
		delete(e, "primary")
	}
	return e
}

// values computes what each of the list's attribute columns holds for an element. An element without
// "primary" is not primary, so a flag column gets its false value rather than NULL.
func (l *List) values(e map[string]any) (map[string]value, error) {
	if l.Attr.Attr.Sub("primary") != nil {
		if _, ok := e["primary"]; !ok {
			e = copyMap(e)
			e["primary"] = false
		}
	}
	out := map[string]value{}
	empty := true
	for _, c := range l.Columns {
		if c.src == nil {
			continue
		}
		v, err := c.fromResource(e)
		if err != nil {
			return nil, err
		}
		out[c.Name] = v
		if c.src.path != "primary" && (v.lit != nil || v.special != "") {
			empty = false
		}
	}
	if empty {
		return nil, nil // an element with nothing but a flag is no value to keep
	}
	if l.identity != nil {
		if v := out[l.identity.Name]; v.special == "" && (v.lit == nil || v.lit == "") {
			return nil, nil // an email without an address is no email
		}
	}
	return out, nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// wanted is the rows' column values an attribute value asks for.
func (l *List) wanted(r scim.Resource) ([]map[string]value, error) {
	list, _ := l.get(r)
	var out []map[string]value
	for _, e := range list {
		obj, _ := e.(map[string]any)
		v, err := l.values(obj)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// where is the condition selecting the user's managed rows.
func (l *List) where(key any) map[string]any {
	w := map[string]any{l.ForeignKey: key}
	for col, v := range l.Scope {
		w[col] = v
	}
	return w
}

// ops brings the user's managed rows (have) to the elements new has. A row equal to a wanted element stays
// untouched; a row whose value matches a wanted element's is updated in place (so the app's own columns on
// it, such as a verification date, survive a change of type or primary); other rows are deleted and other
// elements inserted. Rows of other scopes are never touched.
func (l *List) ops(key any, old scim.Resource, have []map[string]any, ours map[string]bool, new scim.Resource, env Env) ([]Op, error) {
	if _, present := l.get(new); old == nil && !present {
		return nil, nil
	}
	want, err := l.wanted(new)
	if err != nil {
		return nil, err
	}
	if old != nil {
		before, err := l.wanted(old)
		if err == nil && sameRows(before, want) {
			return nil, nil
		}
	}
	haveVals := make([]map[string]value, len(have))
	for i, row := range have {
		if haveVals[i], err = l.values(l.element(row)); err != nil || haveVals[i] == nil {
			haveVals[i] = map[string]value{}
		}
	}
	pairOf := make([]int, len(want)) // want index -> have index, or -1
	used := make([]bool, len(have))
	for w := range want {
		pairOf[w] = -1
		for h := range have {
			if !used[h] && sameValues(haveVals[h], want[w]) {
				pairOf[w], used[h] = h, true
				break
			}
		}
	}
	if l.identity != nil {
		for w := range want {
			if pairOf[w] >= 0 {
				continue
			}
			for h := range have {
				if !used[h] && sameIdentity(haveVals[h][l.identity.Name], want[w][l.identity.Name]) {
					pairOf[w], used[h] = h, true
					break
				}
			}
		}
	}

	now := env.Now()
	var deletes, updates, inserts []Op
	demote := l.demotion(want)
	for h, row := range have {
		switch {
		case used[h]:
		case !l.appRow(haveVals[h], ours):
			deletes = append(deletes, Op{Kind: Delete, Table: l.Table, Where: l.rowWhere(key, row), One: true})
		case demote != nil && !haveVals[h][demote.col].equal(demote.not):
			// A row the app added stays, but at most one element is primary: the IdP's.
			updates = append(updates, Op{Kind: Update, Table: l.Table, Set: map[string]any{demote.col: demote.not.lit},
				Where: l.rowWhere(key, row), One: true})
		}
	}
	for w, vals := range want {
		set := map[string]any{}
		h := pairOf[w]
		for _, c := range l.Columns {
			switch {
			case c.src != nil && (h < 0 || !haveVals[h][c.Name].equal(vals[c.Name])):
				set[c.Name] = vals[c.Name].materialize(now, env.NewUUID)
			case c.onWrite != nil:
				set[c.Name] = c.onWrite.materialize(now, env.NewUUID)
			case c.onInsert != nil && h < 0:
				set[c.Name] = c.onInsert.materialize(now, env.NewUUID)
			}
		}
		switch {
		case h < 0:
			for col, v := range set {
				if v == nil {
					delete(set, col) // an absent sub-attribute leaves the column to its default
				}
			}
			for col, v := range l.where(key) {
				set[col] = v
			}
			inserts = append(inserts, Op{Kind: Insert, Table: l.Table, Set: set})
		case sameValues(haveVals[h], vals):
			// unchanged
		default:
			for col, v := range set {
				if v == nil {
					set[col] = ColumnDefault // as on insert: an absent sub-attribute is the column's default
				}
			}
			updates = append(updates, Op{Kind: Update, Table: l.Table, Set: set, Where: l.rowWhere(key, have[h]), One: true})
		}
	}
	// Deletes first, so that a unique (user, address) key lets an address move between rows.
	return append(append(deletes, updates...), inserts...), nil
}

// demotion is what a row the app added gets when an element of the IdP's is primary.
type demotion struct {
	col string // the primary column
	not value  // its "not primary" value
}

// demotion is the primary column and its "not primary" value when one of the wanted elements is primary,
// so that the app's own rows lose their primary flag to it (Redmine mails the one is_default address);
// nil otherwise.
func (l *List) demotion(want []map[string]value) *demotion {
	c := l.Element("primary")
	if c == nil || l.identity == nil {
		return nil
	}
	not, err := l.values(map[string]any{"value": "x"})
	if err != nil || not == nil {
		return nil
	}
	for _, w := range want {
		if !w[c.Name].equal(not[c.Name]) {
			return &demotion{c.Name, not[c.Name]}
		}
	}
	return nil
}

// appRow reports whether a row the new list does not have is one the app added, which a replacement keeps.
func (l *List) appRow(vals map[string]value, ours map[string]bool) bool {
	if !l.KeepAppRows || l.identity == nil || ours == nil {
		return false
	}
	s, ok := vals[l.identity.Name].lit.(string)
	return ok && !ours[RowKey(s)]
}

// Written returns, per list, the record of the rows scimbridge holds after a write from old (nil: a first
// write) to new, given the record before it (ours, Side.Ours): the rows of new's elements that were
// scimbridge's or that the write added. An element new shares with old that was the app's stays the app's:
// a PATCH starts from the user as read, app rows included, and does not make them scimbridge's. nil for a
// list whose rows cannot be told apart (no value column) or that keeps no app rows.
func (m *Users) Written(old, new scim.Resource, ours []map[string]bool) ([]map[string]bool, error) {
	out := make([]map[string]bool, len(m.Lists))
	for i, l := range m.Lists {
		if !l.KeepAppRows || l.identity == nil {
			continue
		}
		before := map[string]bool{}
		if old != nil && ours[i] != nil { // untracked (nil): every row was scimbridge's
			prev, err := l.wanted(old)
			if err != nil {
				return nil, err
			}
			for _, w := range prev {
				if s, ok := w[l.identity.Name].lit.(string); ok {
					before[RowKey(s)] = true
				}
			}
		}
		want, err := l.wanted(new)
		if err != nil {
			return nil, err
		}
		out[i] = map[string]bool{}
		for _, w := range want {
			if s, ok := w[l.identity.Name].lit.(string); ok {
				if k := RowKey(s); !before[k] || ours[i][k] {
					out[i][k] = true
				}
			}
		}
	}
	return out, nil
}

// RowKey is how the record of written rows names a row: the SHA-256 of its value's identity fold
// (scim.FoldIdentity), so that a value in another letter case is the same row and any length fits.
func RowKey(value string) string {
	sum := sha256.Sum256([]byte(scim.FoldIdentity(value)))
	return hex.EncodeToString(sum[:])
}

// rowWhere selects one managed row by its mapped columns as read.
func (l *List) rowWhere(key any, row map[string]any) map[string]any {
	w := l.where(key)
	for _, c := range l.Columns {
		if c.src != nil {
			v := row[c.Name]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			w[c.Name] = v
		}
	}
	return w
}

func sameValues(a, b map[string]value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !v.equal(w) {
			return false
		}
	}
	return true
}

func sameIdentity(a, b value) bool {
	as, aok := a.lit.(string)
	bs, bok := b.lit.(string)
	return aok && bok && strings.EqualFold(as, bs)
}

// sameRows compares two lists of wanted rows as multisets.
func sameRows(a, b []map[string]value) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && sameValues(x, y) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sortElements orders list elements for reading: the primary one first, then as the rows came.
func sortElements(list []any) {
	sort.SliceStable(list, func(i, j int) bool {
		pi, _ := list[i].(map[string]any)["primary"].(bool)
		pj, _ := list[j].(map[string]any)["primary"].(bool)
		return pi && !pj
	})
}
