package schemacheck

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// appTable is what check knows of one of the app's tables: its columns, in table order and by
// lower-cased name. No columns means no table.
type appTable struct {
	name   string
	cols   []columnInfo
	byName map[string]columnInfo
}

func loadTable(ctx context.Context, db *sqlx.DB, name string) (*appTable, error) {
	t := &appTable{name: name, byName: map[string]columnInfo{}}
	err := db.SelectContext(ctx, &t.cols, `SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
		CHARACTER_MAXIMUM_LENGTH, COALESCE(COLLATION_NAME, '') AS COLLATION_NAME
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, name)
	for _, c := range t.cols {
		t.byName[strings.ToLower(c.Name)] = c
	}
	return t, err
}

func (t *appTable) column(name string) (columnInfo, bool) {
	c, ok := t.byName[strings.ToLower(name)]
	return c, ok
}

// sideCheck checks the placements outside the users table's own columns ([[users.tables]],
// [[users.lists]], [[users.keyvalue]], [users.json]) into rep.
type sideCheck struct {
	ctx   context.Context
	db    *sqlx.DB
	m     *mapping.Users
	rep   *Report
	users *appTable
	err   error // the first database error; the checks after it see no table and every index
}

// checkSide adds to rep what is wrong with the side tables, their keys and indexes, and the JSON
// document columns, and warns about filterable attributes without an index behind them.
func checkSide(ctx context.Context, db *sqlx.DB, m *mapping.Users, rep *Report) error {
	users, err := loadTable(ctx, db, m.Table)
	if err != nil {
		return err
	}
	s := &sideCheck{ctx: ctx, db: db, m: m, rep: rep, users: users}
	for i, t := range m.Tables {
		s.table(fmt.Sprintf("users.tables[%d]", i), t)
	}
	for i, l := range m.Lists {
		s.list(fmt.Sprintf("users.lists[%d]", i), l)
	}
	for i, kv := range m.KeyValue {
		s.keyValue(fmt.Sprintf("users.keyvalue[%d]", i), kv)
	}
	if len(users.cols) > 0 { // else Check already said the users table is missing
		for _, d := range m.JSON {
			s.json(d)
		}
	}
	return s.err
}

func (s *sideCheck) table(sec string, tc *mapping.Table) {
	t := s.open(sec, tc.Name)
	if t == nil {
		return
	}
	fkOK := s.foreignKey(sec, t, tc.ForeignKey)
	s.mapped(sec+".columns", t, tc.Columns)
	s.unwritten(sec, t, tc.Columns, "map it in "+sec+".columns (on_insert = \"...\" for a constant) or give it a default", tc.ForeignKey)
	for _, c := range tc.Columns {
		// An absent attribute is the column's default (on insert and when removed): only a NOT NULL column
		// without one refuses it.
		if info, ok := t.column(c.Name); ok && c.Source() != "" && info.Nullable == "NO" && info.Default == nil {
			s.rep.warn("%s: %s.%s holds %s but is NOT NULL without a default: a user without %s cannot get a row there, and removing %s from a user will be refused; allow NULL in the column or give it a default",
				sec, t.name, c.Name, c.Source(), c.Source(), c.Source())
		}
	}
	if fkOK && s.err == nil {
		uniques, err := uniqueColumns(s.ctx, s.db, t.name)
		s.err = err
		if err == nil && !uniques[strings.ToLower(tc.ForeignKey)] {
			s.rep.problem("%s.foreign_key: %s.%s is neither the primary key nor a single-column unique key of %s, so a user could have two rows there; add UNIQUE KEY (%s)",
				sec, t.name, tc.ForeignKey, t.name, tc.ForeignKey)
		}
	}
	var attrs, names []string
	for _, c := range tc.Columns {
		if _, ok := t.column(c.Name); ok && len(s.filterable(c)) > 0 && !s.leads(t, c.Name) {
			attrs, names = append(attrs, c.Source()), append(names, c.Name)
		}
	}
	if len(attrs) > 0 {
		s.rep.warn("%s: filters on %s scan the whole table %s: no index starts with %s", sec, strings.Join(attrs, ", "), t.name, strings.Join(names, ", "))
	}
}

func (s *sideCheck) list(sec string, l *mapping.List) {
	t := s.open(sec, l.Table)
	if t == nil {
		return
	}
	fkOK := s.foreignKey(sec, t, l.ForeignKey)
	written := append([]string{l.ForeignKey}, slices.Sorted(maps.Keys(l.Scope))...)
	for _, col := range written[1:] {
		if _, ok := t.column(col); !ok {
			s.rep.problem("%s.scope: column %s.%s does not exist", sec, t.name, col)
		}
	}
	s.mapped(sec+".columns", t, l.Columns)
	s.unwritten(sec, t, l.Columns, "map it in "+sec+".columns or "+sec+".scope, or give it a default", written...)
	attr := l.Attr.Path()
	for _, c := range l.Columns {
		sub := strings.ToLower(c.Source())
		// An absent sub-attribute is written as the column's default, which a NOT NULL column must have.
		if info, ok := t.column(c.Name); ok && sub != "" && sub != "value" && sub != "primary" && info.Nullable == "NO" && info.Default == nil {
			s.rep.warn("%s: %s.%s holds %s.%s but is NOT NULL without a default: an element the IdP sends without %s is refused; allow NULL in the column or give it a default",
				sec, t.name, c.Name, attr, c.Source(), c.Source())
		}
	}
	if fkOK && !s.leads(t, l.ForeignKey) {
		s.rep.warn("%s: no index of %s starts with %s: reading any user's %s scans the whole table; add an index on %s",
			sec, t.name, l.ForeignKey, attr, l.ForeignKey)
	}
	if id := l.IdentityColumn(); id != "" {
		if _, ok := t.column(id); ok && !s.leads(t, id) {
			s.rep.warn("%s: no index of %s starts with %s: filters such as `%s.value eq \"...\"` (an IdP looking a user up by %s) scan the whole table; add an index on %s",
				sec, t.name, id, attr, attr, id)
		}
	}
}

func (s *sideCheck) keyValue(sec string, kv *mapping.KeyValue) {
	t := s.open(sec, kv.Table)
	if t == nil {
		return
	}
	fkOK := s.foreignKey(sec, t, kv.ForeignKey)
	for _, c := range [][2]string{{"key_column", kv.KeyColumn}, {"value_column", kv.ValueColumn}} {
		info, ok := t.column(c[1])
		switch {
		case !ok:
			s.rep.problem("%s.%s: column %s.%s does not exist", sec, c[0], t.name, c[1])
		case !isText(info.DataType):
			s.rep.problem("%s.%s: %s.%s is %s, but scimbridge keeps text in it; it must be a text column (VARCHAR or TEXT)", sec, c[0], t.name, c[1], info.DataType)
		case c[0] == "key_column" && info.MaxLen != nil:
			for _, k := range kv.Keys {
				if int64(len(k.Name)) > *info.MaxLen {
					s.rep.problem("%s.keys.%s: %s.%s holds %d characters, too few for the key %q", sec, k.Name, t.name, kv.KeyColumn, *info.MaxLen, k.Name)
				}
			}
		}
	}
	s.unwritten(sec, t, nil, "give it a default in the app", kv.ForeignKey, kv.KeyColumn, kv.ValueColumn)
	if fkOK && !s.leads(t, kv.ForeignKey) {
		s.rep.warn("%s: no index of %s starts with %s: reading any user scans the whole table; add an index on (%s, %s)",
			sec, t.name, kv.ForeignKey, kv.ForeignKey, kv.KeyColumn)
	}
	if _, ok := t.column(kv.KeyColumn); ok {
		if attrs := s.filterable(kv.Keys...); len(attrs) > 0 && !s.leads(t, kv.KeyColumn) {
			s.rep.warn("%s: filters on %s scan the whole table %s: no index starts with %s; add an index on %s",
				sec, strings.Join(attrs, ", "), t.name, kv.KeyColumn, kv.KeyColumn)
		}
	}
}

func (s *sideCheck) json(d *mapping.JSONDoc) {
	sec := "users.json." + d.Column
	info, ok := s.users.column(d.Column)
	if !ok {
		s.rep.problem("%s: column %s.%s does not exist", sec, s.users.name, d.Column)
		return
	}
	if dt := strings.ToLower(info.DataType); dt != "json" && dt != "longtext" && dt != "mediumtext" && dt != "text" {
		s.rep.problem("%s: %s.%s is %s, but it must hold a JSON document: make it JSON (or LONGTEXT)", sec, s.users.name, d.Column, info.DataType)
	}
	if attrs := s.filterable(d.Paths...); len(attrs) > 0 {
		s.rep.warn("%s: filters on %s scan the whole table %s: no index reaches inside the JSON document %s.%s",
			sec, strings.Join(attrs, ", "), s.users.name, s.users.name, d.Column)
	}
}

// open loads a side table, reporting it when it does not exist (nil then, as after a database error).
func (s *sideCheck) open(sec, name string) *appTable {
	if s.err != nil {
		return nil
	}
	t, err := loadTable(s.ctx, s.db, name)
	if s.err = err; err == nil && len(t.cols) == 0 {
		s.rep.problem("%s: table %q does not exist in this database", sec, name)
	}
	if err != nil || len(t.cols) == 0 {
		return nil
	}
	return t
}

// foreignKey reports a missing foreign key column, or one whose type cannot hold the users key.
func (s *sideCheck) foreignKey(sec string, t *appTable, fk string) bool {
	info, ok := t.column(fk)
	if !ok {
		s.rep.problem("%s.foreign_key: column %s.%s does not exist", sec, t.name, fk)
		return false
	}
	key, ok := s.users.column(s.m.Key)
	if !ok {
		return true // Check reports the key
	}
	a, b := strings.ToLower(info.DataType), strings.ToLower(key.DataType)
	if a != b && !(isNumber(a) && isNumber(b)) && !(isText(a) && isText(b)) {
		s.rep.problem("%s.foreign_key: %s.%s is %s but the users key %s.%s is %s: both must be numbers or both text",
			sec, t.name, fk, info.DataType, s.users.name, s.m.Key, key.DataType)
	} else if isText(a) && info.MaxLen != nil && key.MaxLen != nil && *info.MaxLen < *key.MaxLen {
		s.rep.warn("%s.foreign_key: %s.%s holds %d characters but the users key %s.%s holds %d: longer keys will not fit",
			sec, t.name, fk, *info.MaxLen, s.users.name, s.m.Key, *key.MaxLen)
	}
	return true
}

// mapped reports mapped columns that do not exist or whose type cannot hold what the mapping writes.
func (s *sideCheck) mapped(sec string, t *appTable, cols []*mapping.Column) {
	for _, c := range cols {
		info, ok := t.column(c.Name)
		if !ok {
			s.rep.problem("%s.%s: column %s.%s does not exist", sec, c.Name, t.name, c.Name)
			continue
		}
		if why := incompatible(c.Need(), info.DataType); why != "" {
			s.rep.problem("%s.%s: %s.%s is %s, but %s", sec, c.Name, t.name, c.Name, info.DataType, why)
		}
	}
}

// unwritten reports NOT NULL columns without a default that scimbridge never writes into new rows.
func (s *sideCheck) unwritten(sec string, t *appTable, cols []*mapping.Column, fix string, also ...string) {
	written := map[string]bool{}
	for _, c := range cols {
		also = append(also, c.Name)
	}
	for _, c := range also {
		written[strings.ToLower(c)] = true
	}
	var missing []string
	for _, c := range t.cols {
		extra := strings.ToLower(c.Extra)
		if c.Nullable == "NO" && c.Default == nil && !strings.Contains(extra, "auto_increment") &&
			!strings.Contains(extra, "generated") && !written[strings.ToLower(c.Name)] {
			missing = append(missing, c.Name)
		}
	}
	sort.Strings(missing)
	for _, c := range missing {
		s.rep.problem("%s: %s.%s is NOT NULL without a default and scimbridge does not write it, so every row it inserts will be refused: %s",
			sec, t.name, c, fix)
	}
}

// leads reports whether an index of t starts with column (true after a database error).
func (s *sideCheck) leads(t *appTable, column string) bool {
	if s.err != nil {
		return true
	}
	ok, err := leadsAnIndex(s.ctx, s.db, t.name, column)
	s.err = err
	return ok || err != nil
}

// filterable returns the attributes that filters read from these columns (a column an attribute is
// also kept in elsewhere may not be the one filters use).
func (s *sideCheck) filterable(cols ...*mapping.Column) []string {
	var out []string
	for _, c := range cols {
		p, err := scim.ParseAttrPath(c.Source())
		if c.Source() == "" || err != nil {
			continue
		}
		ref, ok := s.m.Type.Resolve(p)
		if !ok {
			continue
		}
		if place, ok := s.m.Locate(ref); ok && place.Column == c {
			out = append(out, c.Source())
		}
	}
	return out
}
