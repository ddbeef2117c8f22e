package mapping

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// Table is a one-to-one side table ([[users.tables]]): at most one row per user, joined on ForeignKey.
type Table struct {
	Name       string
	ForeignKey string
	Columns    []*Column
}

// List is a multi-valued attribute kept as one row per value ([[users.lists]]). Its columns' sources are
// sub-attributes of one element ("value", "type", "primary"); only those are kept.
type List struct {
	Attr       scim.Ref // the attribute; Sub is nil
	Table      string
	ForeignKey string
	Scope      map[string]any // column -> value marking the rows this list manages; written on insert
	Columns    []*Column
	// KeepAppRows: a replacement deletes only the rows scimbridge wrote (Side.Ours), not those the app
	// added. It needs the value column to tell rows apart: without one every managed row is scimbridge's.
	KeepAppRows bool
	identity    *Column // the column holding "value", which pairs an element with its row; may be nil
}

// Name identifies the list in scimbridge's record of the rows it wrote: its attribute and table.
func (l *List) Name() string { return l.Attr.Path() + " " + l.Table }

// KeyValue is a key-value table ([[users.keyvalue]]): one row per managed key and user. Keys are Columns
// whose Name is the key.
type KeyValue struct {
	Table       string
	ForeignKey  string
	KeyColumn   string
	ValueColumn string
	Keys        []*Column
}

// JSONDoc is a JSON document column of the users table ([users.json.<column>]). Paths are Columns whose
// Name is the JSON path ("$.work.department").
type JSONDoc struct {
	Column  string
	Paths   []*Column
	members map[*Column][]string // the member names along each path
}

// Members returns the member names along the path of c ("$.work.department" is [work department]).
func (d *JSONDoc) Members(c *Column) []string { return d.members[c] }

// Element returns the list's column holding sub-attribute sub of an element, or nil.
func (l *List) Element(sub string) *Column {
	for _, c := range l.Columns {
		if c.readBack && strings.EqualFold(c.src.path, sub) {
			return c
		}
	}
	return nil
}

// IdentityColumn is the column of the element's "value" ("" when the list maps none): rows are read in its
// order, and `scimbridge check` looks for the index filters on it need.
func (l *List) IdentityColumn() string {
	if l.identity == nil {
		return ""
	}
	return l.identity.Name
}

// compileReach compiles the placements outside the users table's columns. seen holds the users-table
// columns already mapped, so that a JSON document column is not also an ordinary column.
func (m *Users) compileReach(cfg UsersConfig, seen map[string]string) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tables := map[string]bool{}
	for i, tc := range cfg.Tables {
		t, err := compileTable(m.Type, tc)
		if err != nil {
			fail("users.tables[%d]: %v", i, err)
			continue
		}
		if tables[strings.ToLower(t.Name)] {
			fail("users.tables[%d]: table %q is listed twice; put all its columns in one entry", i, t.Name)
			continue
		}
		tables[strings.ToLower(t.Name)] = true
		m.Tables = append(m.Tables, t)
	}
	lists := map[string]bool{}
	for i, lc := range cfg.Lists {
		l, err := compileList(m.Type, lc)
		if err != nil {
			fail("users.lists[%d]: %v", i, err)
			continue
		}
		if lists[strings.ToLower(l.Attr.Path())] {
			fail("users.lists[%d]: %s is already kept by another list", i, l.Attr.Path())
			continue
		}
		lists[strings.ToLower(l.Attr.Path())] = true
		m.Lists = append(m.Lists, l)
	}
	for i, kc := range cfg.KeyValue {
		kv, err := compileKeyValue(m.Type, kc)
		if err != nil {
			fail("users.keyvalue[%d]: %v", i, err)
			continue
		}
		m.KeyValue = append(m.KeyValue, kv)
	}
	for _, col := range slices.Sorted(maps.Keys(toAny(cfg.JSON))) {
		if prev, dup := seen[strings.ToLower(col)]; dup {
			fail("users.json.%s: column %q is mapped twice (also by %s)", col, col, prev)
			continue
		}
		d, err := compileJSONDoc(m.Type, col, cfg.JSON[col])
		if err != nil {
			fail("users.json.%s: %v", col, err)
			continue
		}
		m.JSON = append(m.JSON, d)
	}
	return errs
}

func toAny[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// compileColumns compiles a column -> spec table, sorted by column name, reporting every problem.
func compileColumns(rt *scim.ResourceType, specs map[string]ColumnSpec, reserved ...string) ([]*Column, error) {
	var errs []error
	seen := map[string]bool{}
	for _, r := range reserved {
		seen[strings.ToLower(r)] = true
	}
	var cols []*Column
	for _, name := range slices.Sorted(maps.Keys(toAny(specs))) {
		if seen[strings.ToLower(name)] {
			errs = append(errs, fmt.Errorf("column %q is mapped twice", name))
			continue
		}
		seen[strings.ToLower(name)] = true
		c, err := compileColumn(rt, name, specs[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
			continue
		}
		cols = append(cols, c)
	}
	return cols, errors.Join(errs...)
}

func compileTable(rt *scim.ResourceType, tc TableConfig) (*Table, error) {
	if tc.Table == "" || tc.ForeignKey == "" {
		return nil, fmt.Errorf("table and foreign_key are required")
	}
	cols, err := compileColumns(rt, tc.Columns, tc.ForeignKey)
	if err != nil {
		return nil, err
	}
	if !anySource(cols) {
		return nil, fmt.Errorf("columns maps no SCIM attribute")
	}
	return &Table{Name: tc.Table, ForeignKey: tc.ForeignKey, Columns: cols}, nil
}

func anySource(cols []*Column) bool {
	for _, c := range cols {
		if c.src != nil {
			return true
		}
	}
	return false
}

func compileList(rt *scim.ResourceType, lc ListConfig) (*List, error) {
	if lc.Attribute == "" || lc.Table == "" || lc.ForeignKey == "" {
		return nil, fmt.Errorf("attribute, table and foreign_key are required")
	}
	p, err := scim.ParseAttrPath(lc.Attribute)
	if err != nil || p.Sub != "" {
		return nil, fmt.Errorf("attribute %q must name a multi-valued attribute, as in \"emails\"", lc.Attribute)
	}
	ref, ok := rt.Resolve(p)
	switch {
	case !ok:
		return nil, fmt.Errorf("unknown SCIM attribute %q", lc.Attribute)
	case !ref.Attr.MultiValued || ref.Attr.Type != scim.Complex:
		return nil, fmt.Errorf("%s is not a multi-valued complex attribute", ref.Path())
	case ref.Attr.Mutability == "readOnly":
		return nil, fmt.Errorf("%s is read-only; groups are kept by [groups] and [roles]", ref.Path())
	}
	for col, v := range lc.Scope {
		switch v.(type) {
		case string, int64, float64, bool:
		default:
			return nil, fmt.Errorf("scope.%s must be a string, number or boolean", col)
		}
	}
	// An element is read and written as a little resource whose attributes are the list's sub-attributes.
	elem := scim.NewResourceType(ref.Attr.Name, "", "", scim.Schema{ID: ref.Attr.Name, Attributes: ref.Attr.SubAttributes})
	cols, err := compileColumns(elem, lc.Columns, append([]string{lc.ForeignKey}, slices.Sorted(maps.Keys(lc.Scope))...)...)
	if err != nil {
		return nil, err
	}
	l := &List{Attr: ref, Table: lc.Table, ForeignKey: lc.ForeignKey, Scope: lc.Scope, Columns: cols,
		KeepAppRows: lc.KeepAppRows == nil || *lc.KeepAppRows}
	for _, c := range cols {
		if c.src != nil && c.src.filter != nil {
			return nil, fmt.Errorf("%s: a list column holds a sub-attribute of each element (\"value\", \"type\"), not a pick", c.Name)
		}
	}
	if !anySource(cols) {
		return nil, fmt.Errorf("columns maps no sub-attribute of %s", ref.Path())
	}
	pickReadBack(cols)
	l.identity = l.Element("value")
	return l, nil
}

func compileKeyValue(rt *scim.ResourceType, kc KeyValueConfig) (*KeyValue, error) {
	if kc.Table == "" || kc.ForeignKey == "" || kc.KeyColumn == "" || kc.ValueColumn == "" {
		return nil, fmt.Errorf("table, foreign_key, key_column and value_column are required")
	}
	keys, err := compileColumns(rt, kc.Keys)
	if err != nil {
		return nil, fmt.Errorf("keys.%v", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keys maps no attribute")
	}
	for _, k := range keys {
		if k.onWrite != nil {
			return nil, fmt.Errorf("keys.%s: on_write is for columns; a key holds a SCIM attribute or an on_insert constant", k.Name)
		}
	}
	if !anySource(keys) {
		return nil, fmt.Errorf("keys maps no SCIM attribute, only on_insert constants")
	}
	return &KeyValue{Table: kc.Table, ForeignKey: kc.ForeignKey, KeyColumn: kc.KeyColumn, ValueColumn: kc.ValueColumn, Keys: keys}, nil
}

// jsonPathSyntax accepts member paths only: $.a, $.a.b, with members of letters, digits, _ and -.
var jsonPathSyntax = regexp.MustCompile(`^\$(\.[A-Za-z0-9_-]+)+$`)

func compileJSONDoc(rt *scim.ResourceType, column string, paths map[string]ColumnSpec) (*JSONDoc, error) {
	cols, err := compileColumns(rt, paths)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("maps no JSON path")
	}
	d := &JSONDoc{Column: column, Paths: cols, members: map[*Column][]string{}}
	var errs []error
	var all []string
	for _, c := range cols {
		if !jsonPathSyntax.MatchString(c.Name) {
			errs = append(errs, fmt.Errorf("%q is not a JSON member path such as \"$.department\" or \"$.work.title\"", c.Name))
			continue
		}
		if c.src == nil {
			errs = append(errs, fmt.Errorf("%q: a path holds a SCIM attribute; on_insert and on_write are for columns", c.Name))
			continue
		}
		d.members[c] = strings.Split(c.Name, ".")[1:]
		all = append(all, c.Name)
	}
	// "$.a" and "$.a.b" cannot both hold a value.
	sort.Strings(all)
	for i := 1; i < len(all); i++ {
		if strings.HasPrefix(all[i], all[i-1]+".") {
			errs = append(errs, fmt.Errorf("%q is inside %q, which holds a value itself", all[i], all[i-1]))
		}
	}
	return d, errors.Join(errs...)
}

// Place says where an attribute is kept, so that filters on it can be translated to SQL.
type Place struct {
	Column *Column   // the users-table column, side-table column, key or JSON path; nil for a list
	Table  *Table    // Column is in this one-to-one table
	KV     *KeyValue // Column is a key of this key-value table
	JSON   *JSONDoc  // Column is a path in this JSON document column
	List   *List     // the attribute is a list kept one row per value
}

// Locate returns where the attribute ref is kept; ok is false when it has no place in the app's tables
// (it lives in scimbridge's own document).
func (m *Users) Locate(ref scim.Ref) (Place, bool) {
	for _, l := range m.Lists {
		if l.Attr.URN == ref.URN && l.Attr.Attr == ref.Attr {
			return Place{List: l}, true
		}
	}
	path := ref.Path()
	if c := m.Column(path); c != nil {
		return Place{Column: c}, true
	}
	for _, t := range m.Tables {
		if c := readBackColumn(t.Columns, path); c != nil {
			return Place{Column: c, Table: t}, true
		}
	}
	for _, d := range m.JSON {
		if c := readBackColumn(d.Paths, path); c != nil {
			return Place{Column: c, JSON: d}, true
		}
	}
	for _, kv := range m.KeyValue {
		if c := readBackColumn(kv.Keys, path); c != nil {
			return Place{Column: c, KV: kv}, true
		}
	}
	return Place{}, false
}

func readBackColumn(cols []*Column, path string) *Column {
	for _, c := range cols {
		if c.readBack && c.src != nil && strings.EqualFold(c.src.path, path) {
			return c
		}
	}
	return nil
}

// allColumns lists the columns that hold user attributes, in the order that decides which one an
// attribute is read back from: the users table, one-to-one tables, JSON documents, key-value tables.
func (m *Users) allColumns() [][]*Column {
	out := [][]*Column{m.Columns}
	for _, t := range m.Tables {
		out = append(out, t.Columns)
	}
	for _, d := range m.JSON {
		out = append(out, d.Paths)
	}
	for _, kv := range m.KeyValue {
		out = append(out, kv.Keys)
	}
	return out
}
