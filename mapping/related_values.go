package mapping

import (
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// Side is what one user has outside the users table's ordinary columns, as read from the database, one
// entry per placement in the mapping's order. Values are as the driver scanned them.
type Side struct {
	Docs   []any              // per JSON document column: its raw value
	Tables []map[string]any   // per one-to-one table: the row's mapped columns; nil when there is no row
	Lists  [][]map[string]any // per list: the managed rows, mapped columns only
	KV     []map[string]any   // per key-value table: managed key -> value, for the keys that have a row
	// Ours is, per list, the rows scimbridge wrote (by RowKey of their value): a replacement keeps the
	// others, which the app added (List.KeepAppRows). A nil entry means not recorded (a user from before
	// the record existed): every managed row counts as scimbridge's, as it did then.
	Ours []map[string]bool
}

// NewSide returns the Side of a user who has nothing outside the users table's columns.
func (m *Users) NewSide() *Side {
	s := &Side{Docs: make([]any, len(m.JSON)), Tables: make([]map[string]any, len(m.Tables)),
		Lists: make([][]map[string]any, len(m.Lists)), KV: make([]map[string]any, len(m.KeyValue)),
		Ours: make([]map[string]bool, len(m.Lists))}
	for i := range s.Ours {
		s.Ours[i] = map[string]bool{} // a user not provisioned yet: every row it has is the app's
	}
	return s
}

// HasSide reports whether the mapping keeps anything outside the users table's ordinary columns.
func (m *Users) HasSide() bool {
	return len(m.Tables)+len(m.Lists)+len(m.KeyValue)+len(m.JSON) > 0
}

// Overlay reads a user back into a resource: it starts from doc (what scimbridge keeps of the resource) and
// sets every attribute the app's tables hold to their value, so the app stays the source of truth. row has
// the users table's columns (ScimColumns); side may be nil when HasSide is false.
func (m *Users) Overlay(doc scim.Resource, row map[string]any, side *Side) scim.Resource {
	if side != nil {
		for i, l := range m.Lists {
			l.overlay(doc, side.Lists[i])
		}
	}
	for _, c := range m.Columns {
		if c.readBack {
			c.overlay(doc, row[c.Name])
		}
	}
	if side == nil {
		return doc
	}
	for i, t := range m.Tables {
		for _, c := range t.Columns {
			if c.readBack {
				c.overlay(doc, side.Tables[i][c.Name]) // no row: every attribute is absent
			}
		}
	}
	for i, d := range m.JSON {
		obj, _ := parseDoc(side.Docs[i]) // a document the app broke reads as empty; writes refuse it
		for _, c := range d.Paths {
			if c.readBack {
				v := getMember(obj, d.members[c])
				if _, nested := v.(map[string]any); nested {
					v = nil
				} else if _, list := v.([]any); list {
					v = nil
				}
				c.overlay(doc, v)
			}
		}
	}
	for i, kv := range m.KeyValue {
		for _, c := range kv.Keys {
			if c.readBack {
				c.overlay(doc, side.KV[i][c.Name])
			}
		}
	}
	return doc
}

// Strip removes from a resource what the app's tables hold in full, leaving the part scimbridge keeps
// itself. Lists that only have one element in a column (emails[primary].value) are kept whole.
func (m *Users) Strip(r scim.Resource) scim.Resource {
	for _, cols := range m.allColumns() {
		for _, c := range cols {
			if c.readBack && c.src.filter == nil {
				c.src.remove(r)
			}
		}
	}
	for _, l := range m.Lists {
		list, _ := l.get(r)
		l.set(r, l.extras(list))
	}
	return r
}

// OpKind is what an Op does.
type OpKind int

const (
	Insert OpKind = iota
	Update
	Delete
)

// ColumnDefault in an Op's Set writes the column's default (SQL DEFAULT).
var ColumnDefault = columnDefault{}

type columnDefault struct{}

func (columnDefault) MarshalJSON() ([]byte, error) { return []byte(`"DEFAULT"`), nil }

// Op is one statement a write needs outside the users row's ordinary columns. The adapter renders it.
type Op struct {
	Kind  OpKind
	Table string
	Set   map[string]any // the columns an insert or update writes
	Where map[string]any // the rows an update or delete touches: column = value, nil meaning IS NULL
	One   bool           // touch one row only: a list row among identical ones
}

// SideOps computes the statements that bring a user's side placements from what they hold (old, read
// from side) to new. key is the users table's key of the user. old nil means the user's attributes are
// written for the first time, into a new app row or one being adopted: then every attribute new has is
// written, and those it lacks are left as the app has them.
func (m *Users) SideOps(key any, old scim.Resource, side *Side, new scim.Resource, env Env) ([]Op, error) {
	var ops []Op
	for i, t := range m.Tables {
		op, err := t.op(key, old, side.Tables[i], new, env)
		if err != nil {
			return nil, err
		}
		if op != nil {
			ops = append(ops, *op)
		}
	}
	for i, l := range m.Lists {
		lops, err := l.ops(key, old, side.Lists[i], side.Ours[i], new, env)
		if err != nil {
			return nil, err
		}
		ops = append(ops, lops...)
	}
	for i, kv := range m.KeyValue {
		kops, err := kv.ops(key, old, side.KV[i], new, env)
		if err != nil {
			return nil, err
		}
		ops = append(ops, kops...)
	}
	for i, d := range m.JSON {
		op, err := d.op(m, key, old, side.Docs[i], new, env)
		if err != nil {
			return nil, err
		}
		if op != nil {
			ops = append(ops, *op)
		}
	}
	return ops, nil
}

// DeleteOps are the statements that remove what the mapping manages of a user outside the users row, run
// before the row itself is deleted (on_delete = "delete"); unmanaged list rows and keys stay.
func (m *Users) DeleteOps(key any) []Op {
	var ops []Op
	for _, t := range m.Tables {
		ops = append(ops, Op{Kind: Delete, Table: t.Name, Where: map[string]any{t.ForeignKey: key}})
	}
	for _, l := range m.Lists {
		ops = append(ops, Op{Kind: Delete, Table: l.Table, Where: l.where(key)})
	}
	for _, kv := range m.KeyValue {
		for _, k := range kv.Keys {
			ops = append(ops, Op{Kind: Delete, Table: kv.Table, Where: map[string]any{kv.ForeignKey: key, kv.KeyColumn: k.Name}})
		}
	}
	return ops
}

// change returns the value c must be written with, and whether it must be written at all: when the
// attribute changed between old and new, or, with old nil (a first write), when new has it.
func (c *Column) change(old, new scim.Resource) (value, bool, error) {
	nv, err := c.fromResource(new)
	if err != nil {
		return value{}, false, err
	}
	if old == nil {
		return nv, c.src.get(new) != nil || renderTemplate(c.template, new) != nil, nil
	}
	ov, err := c.fromResource(old)
	return nv, err != nil || !ov.equal(nv), nil
}

func (t *Table) op(key any, old scim.Resource, row map[string]any, new scim.Resource, env Env) (*Op, error) {
	now := env.Now()
	set := map[string]any{}
	anyValue := false
	for _, c := range t.Columns {
		if c.src == nil {
			continue
		}
		v, write, err := c.change(old, new)
		if err != nil {
			return nil, err
		}
		if write {
			set[c.Name] = v.materialize(now, env.NewUUID)
			anyValue = anyValue || set[c.Name] != nil
		}
	}
	if len(set) == 0 || (row == nil && !anyValue) {
		return nil, nil // nothing changed, or nothing to put in a row that does not exist yet
	}
	for _, c := range t.Columns {
		switch {
		case c.onWrite != nil:
			set[c.Name] = c.onWrite.materialize(now, env.NewUUID)
		case c.onInsert != nil && row == nil:
			set[c.Name] = c.onInsert.materialize(now, env.NewUUID)
		}
	}
	if row == nil {
		for col, v := range set {
			if v == nil {
				delete(set, col) // an absent attribute leaves the column to its default
			}
		}
		set[t.ForeignKey] = key
		return &Op{Kind: Insert, Table: t.Name, Set: set}, nil
	}
	for col, v := range set {
		if v == nil {
			set[col] = ColumnDefault // removed: as on insert, the column's default (NULL when it has none)
		}
	}
	return &Op{Kind: Update, Table: t.Name, Set: set, Where: map[string]any{t.ForeignKey: key}}, nil
}

func (kv *KeyValue) ops(key any, old scim.Resource, have map[string]any, new scim.Resource, env Env) ([]Op, error) {
	var ops []Op
	for _, c := range kv.Keys {
		if c.src == nil {
			// An on_insert key is written once, when the user's attributes are first written (a new app
			// row, or an adopted one lacking the key), and then left to the app.
			if _, exists := have[c.Name]; old == nil && !exists && c.onInsert != nil {
				ops = append(ops, Op{Kind: Insert, Table: kv.Table, Set: map[string]any{kv.ForeignKey: key, kv.KeyColumn: c.Name,
					kv.ValueColumn: kvText(c.onInsert.materialize(env.Now(), env.NewUUID))}})
			}
			continue
		}
		v, write, err := c.change(old, new)
		if err != nil {
			return nil, err
		}
		if !write {
			continue
		}
		text := kvText(v.materialize(env.Now(), env.NewUUID))
		where := map[string]any{kv.ForeignKey: key, kv.KeyColumn: c.Name}
		_, exists := have[c.Name]
		switch {
		case text == nil && exists:
			ops = append(ops, Op{Kind: Delete, Table: kv.Table, Where: where})
		case text == nil:
		case exists:
			ops = append(ops, Op{Kind: Update, Table: kv.Table, Set: map[string]any{kv.ValueColumn: text}, Where: where})
		default:
			ops = append(ops, Op{Kind: Insert, Table: kv.Table, Set: map[string]any{kv.ForeignKey: key, kv.KeyColumn: c.Name, kv.ValueColumn: text}})
		}
	}
	return ops, nil
}

// kvText is how a value is kept in a key-value table's text column.
func kvText(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return scalarText(v)
}
