package mysql

import (
	"strconv"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// placed compares on an attribute the mapping keeps in the app's tables. Side tables are matched with a
// semi-join on the users key (u.key IN (SELECT fk FROM side WHERE ...)), which MariaDB and MySQL run from
// the side table's index on the compared column when there is one.
func (f *filterBuilder) placed(p mapping.Place, ref scim.Ref, e *scim.CompareExpr) (string, error) {
	def := ref.Attr
	if ref.Sub != nil {
		def = ref.Sub
	}
	switch {
	case p.List != nil:
		// "emails.value eq x", or "emails eq x" which RFC 7644 reads as emails.value.
		sub := "value"
		if ref.Sub != nil {
			sub = ref.Sub.Name
		}
		return f.listFilter(p.List, &scim.CompareExpr{Attr: scim.AttrPath{Name: sub}, Op: e.Op, Value: e.Value})
	case p.JSON != nil:
		path := "'$"
		for _, m := range p.JSON.Members(p.Column) {
			path += "." + jsonKey(m)
		}
		return f.column(jsonText(dialect.JSONValue("u."+quoteIdent(p.JSON.Column), path+"'"), def), p.Column, def, ref.Path(), e)
	case p.Table == nil && p.KV == nil:
		return f.column(operand{expr: "u." + quoteIdent(p.Column.Name)}, p.Column, def, ref.Path(), e)
	}

	// A user without the row has no value: "ne" and "not" count such users, so ne is "not eq".
	positive := e
	if e.Op == scim.OpNe {
		positive = &scim.CompareExpr{Attr: e.Attr, Op: scim.OpEq, Value: e.Value}
	}
	alias := f.nextAlias("s")
	var table, fk, cond string
	var err error
	if p.Table != nil {
		table, fk = p.Table.Name, p.Table.ForeignKey
		cond, err = f.column(operand{expr: alias + "." + quoteIdent(p.Column.Name)}, p.Column, def, ref.Path(), positive)
	} else {
		table, fk = p.KV.Table, p.KV.ForeignKey
		f.args = append(f.args, p.Column.Name)
		keyCond := alias + "." + quoteIdent(p.KV.KeyColumn) + " = ?"
		cond, err = f.column(operand{expr: alias + "." + quoteIdent(p.KV.ValueColumn), jsonText: true}, p.Column, def, ref.Path(), positive)
		cond = keyCond + " AND " + cond
	}
	if err != nil {
		return "", err
	}
	in := f.inSide(table, fk, alias, cond)
	if e.Op == scim.OpNe {
		return "NOT COALESCE((" + in + "), FALSE)", nil
	}
	return in, nil
}

func (f *filterBuilder) nextAlias(prefix string) string {
	f.jt++
	return prefix + strconv.Itoa(f.jt)
}

// inSide is "the user has a row in table, aliased alias, satisfying cond".
func (f *filterBuilder) inSide(table, fk, alias, cond string) string {
	return "u." + quoteIdent(f.m.Key) + " IN (SELECT " + alias + "." + quoteIdent(fk) + " FROM " + quoteIdent(table) + " " +
		alias + " WHERE " + cond + ")"
}

// listFilter matches users having a managed row of the list that satisfies a value filter on its elements.
func (f *filterBuilder) listFilter(l *mapping.List, filter scim.Expr) (string, error) {
	alias := f.nextAlias("l")
	// The scope's arguments come first: they precede the element condition in the SQL.
	scope, scopeArgs := scopeCondition(l.Scope, alias+".")
	f.args = append(f.args, scopeArgs...)
	cond, err := f.listElement(l, alias, filter)
	if err != nil {
		return "", err
	}
	return f.inSide(l.Table, l.ForeignKey, alias, "TRUE"+scope+" AND "+cond), nil
}

// listExtra compares a sub-attribute the list's table has no column for (an email's type), which the
// bookkeeping document keeps per element with its value (mapping's extras): the row matches when the
// document has an element of its value (in any letter case) whose sub-attribute compares. Without a value
// column no row has it.
func (f *filterBuilder) listExtra(l *mapping.List, alias string, sub *scim.Attribute, e *scim.CompareExpr) (string, error) {
	id := l.IdentityColumn()
	if id == "" {
		return "FALSE", nil
	}
	f.jt++
	x := "jt" + strconv.Itoa(f.jt)
	cond, err := f.cmp(jsonText(x+".sub", sub), sub, e)
	if err != nil {
		return "", err
	}
	listPath := jsonPath(scim.Ref{URN: l.Attr.URN, Attr: l.Attr.Attr})
	listPath = listPath[:len(listPath)-1] + "[*]'"
	return "EXISTS (SELECT 1 FROM JSON_TABLE(b.doc, " + listPath + " COLUMNS (val VARCHAR(1024) PATH '$.value', sub VARCHAR(1024) PATH '$." +
		jsonKey(sub.Name) + "')) " + x + " WHERE LOWER(" + x + ".val) = LOWER(" + alias + "." + quoteIdent(id) + ") AND " + cond + ")", nil
}

// listElement renders a value filter over the columns of one list row. A sub-attribute the list does not
// keep has no value in any row.
func (f *filterBuilder) listElement(l *mapping.List, alias string, e scim.Expr) (string, error) {
	return valueFilter(e, func(e *scim.CompareExpr) (string, error) {
		sub := l.Attr.Attr.Sub(e.Attr.Name)
		if sub == nil || e.Attr.URN != "" || e.Attr.Sub != "" {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "%q is not a sub-attribute of %s", e.Attr.String(), l.Attr.Path())
		}
		c := l.Element(sub.Name)
		if c == nil {
			return f.listExtra(l, alias, sub, e)
		}
		return f.column(operand{expr: alias + "." + quoteIdent(c.Name)}, c, sub, l.Attr.Path()+"."+sub.Name, e)
	})
}
