package mysql

import (
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// filterSQL translates a SCIM filter into a parameterized WHERE condition over the app table (alias u) and
// the bookkeeping table (alias b). Nothing is filtered in memory. Where an attribute lives decides the SQL:
//   - id, externalId, meta.created, meta.lastModified: bookkeeping columns;
//   - an attribute with a column, userName included: that column, the source of truth GET reads too (so
//     a login the app changed itself is found); its collation decides case sensitivity, which
//     `scimbridge check` reports for userName; value maps (active -> status codes) are translated;
//   - anything else: the bookkeeping JSON document, through JSON_TABLE for multi-valued attributes.
func (s *Store) filterSQL(e scim.Expr) (string, []any, error) {
	if e == nil {
		return "TRUE", nil, nil
	}
	f := s.userFilter()
	where, err := f.expr(e)
	return where, f.args, err
}

// userFilter is a filterBuilder for the users.
func (s *Store) userFilter() *filterBuilder {
	f := &filterBuilder{rt: s.m.Type, m: s.m, memberTable: s.memberTable(), groupTable: s.groupTable(), valuesTable: s.t.Values(),
		appRoles: s.roles != nil}
	if s.scanDocs {
		f.valuesTable = ""
	}
	return f
}

type filterBuilder struct {
	rt          *scim.ResourceType
	m           *mapping.Users // nil when filtering groups
	groupMode   bool           // filtering groups (alias g) rather than users (aliases b and u)
	memberTable string         // the quoted membership table
	groupTable  string         // the quoted groups table
	valuesTable string         // the quoted values table (filter_values.go); "" for groups
	appRoles    bool           // [roles] is configured: a user's roles are not in its document
	args        []any
	jt          int // alias counter, for JSON_TABLEs and side tables
	// looseIdentity makes an identity's eq the column's collation alone ("expr = ?"), each recorded in
	// loose, for a caller that keeps the rows whose value is the identity itself (identity_lookup.go).
	looseIdentity bool
	loose         []looseMatch
}

// logicSQL turns and/or/not into SQL, each operand by sub; ok is false for any other expression.
func logicSQL(e scim.Expr, sub func(scim.Expr) (string, error)) (sql string, ok bool, err error) {
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := sub(e.Left)
		if err != nil {
			return "", true, err
		}
		r, err := sub(e.Right)
		if err != nil {
			return "", true, err
		}
		op := " OR "
		if e.And {
			op = " AND "
		}
		return "(" + l + op + r + ")", true, nil
	case *scim.NotExpr:
		x, err := sub(e.X)
		if err != nil {
			return "", true, err
		}
		// SQL's NULL would make "not (title eq x)" skip users without a title; SCIM counts them.
		return "NOT COALESCE((" + x + "), FALSE)", true, nil
	}
	return "", false, nil
}

func (f *filterBuilder) expr(e scim.Expr) (string, error) {
	if sql, ok, err := logicSQL(e, f.expr); ok {
		return sql, err
	}
	switch e := e.(type) {
	case *scim.CompareExpr:
		if f.groupMode {
			return f.groupCompare(e)
		}
		return f.compare(e)
	case *scim.ValuePathExpr:
		if f.groupMode {
			if !strings.EqualFold(e.Attr.Name, "members") {
				return "", scim.BadRequest(scim.TypeInvalidFilter, "groups have no multi-valued attribute %q to filter", e.Attr.String())
			}
			return f.memberFilter(e.Filter)
		}
		ref, ok := f.rt.Resolve(e.Attr)
		if !ok || !ref.Attr.MultiValued || ref.Attr.Type != scim.Complex {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "%q is not a multi-valued complex attribute", e.Attr.String())
		}
		if err := f.refuseRoles(ref); err != nil {
			return "", err
		}
		if p, ok := f.m.Locate(ref); ok && p.List != nil {
			return f.listFilter(p.List, e.Filter)
		}
		return f.jsonList(ref, e.Filter)
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "unsupported filter")
}

func (f *filterBuilder) compare(e *scim.CompareExpr) (string, error) {
	ref, ok := f.rt.Resolve(e.Attr)
	if !ok {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "unknown attribute %q", e.Attr.String())
	}
	switch ref.Path() {
	case "id":
		return f.cmp(col("b.id"), ref.Attr, e)
	case "meta.created":
		return f.cmp(col("b.created"), ref.Sub, e)
	case "meta.lastModified":
		return f.cmp(col("b.last_modified"), ref.Sub, e)
	case "meta.resourceType":
		ok := e.Op == scim.OpPr || (e.Op == scim.OpEq && strings.EqualFold(literalString(e.Value), "User"))
		if ok {
			return "TRUE", nil
		}
		return "FALSE", nil
	}
	if ref.Attr.Name == "meta" {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "filtering on %s is not supported", ref.Path())
	}
	if err := f.refuseRoles(ref); err != nil {
		return "", err
	}
	if ref.URN == "" && ref.Attr.Name == "groups" {
		return f.userGroupFilter(ref, e)
	}
	if p, ok := f.m.Locate(ref); ok {
		cond, err := f.placed(p, ref, e)
		if err != nil || p.Column == nil || !p.Column.Picked() {
			return cond, err
		}
		// The column holds the one element a pick chose (the work phone); the list's other elements are
		// in scimbridge's document, and "phoneNumbers.value eq x" matches any of them.
		other, err := f.jsonList(scim.Ref{URN: ref.URN, Attr: ref.Attr}, &scim.CompareExpr{Attr: scim.AttrPath{Name: ref.Sub.Name}, Op: e.Op, Value: e.Value})
		return "(" + cond + " OR " + other + ")", err
	}
	if ref.Path() == "externalId" {
		return f.cmp(col("b.external_id"), ref.Attr, e)
	}
	if ref.Attr.MultiValued {
		// "emails.value eq x", or "emails eq x" which RFC 7644 reads as emails.value.
		sub := "value"
		if ref.Sub != nil {
			sub = ref.Sub.Name
		}
		inner := &scim.CompareExpr{Attr: scim.AttrPath{Name: sub}, Op: e.Op, Value: e.Value}
		return f.jsonList(scim.Ref{URN: ref.URN, Attr: ref.Attr}, inner)
	}
	if ref.Attr.Type == scim.Complex && ref.Sub == nil {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "%q is complex; filter on one of its sub-attributes", ref.Path())
	}
	def := ref.Attr
	if ref.Sub != nil {
		def = ref.Sub
	}
	lookup := f.valueLookup(valuePath(ref), def, e)
	cond, err := f.cmp(jsonText(dialect.JSONValue("b.doc", jsonPath(ref)), def), def, e)
	return lookup + cond + closeLookup(lookup), err
}

// refuseRoles answers a filter on the user's roles when [roles] is configured: the roles GET shows are
// then the groups' and the direct assignments', read from the app's and scimbridge's tables, not the
// document the filter would search, so it would match nothing, silently.
func (f *filterBuilder) refuseRoles(ref scim.Ref) error {
	if !f.appRoles || ref.URN != "" || ref.Attr.Name != "roles" {
		return nil
	}
	return scim.BadRequest(scim.TypeInvalidFilter, "users cannot be filtered by roles: with [roles] they come from groups and "+
		"direct assignments; list a group's members, or GET the user")
}

// column compares on a mapped column: o is its SQL expression.
func (f *filterBuilder) column(o operand, c *mapping.Column, def *scim.Attribute, path string, e *scim.CompareExpr) (string, error) {
	if c.Plain() {
		return f.cmp(o, def, e)
	}
	expr := o.expr
	switch e.Op {
	case scim.OpPr:
		return expr + " IS NOT NULL", nil
	case scim.OpEq, scim.OpNe:
	default:
		return "", scim.BadRequest(scim.TypeInvalidFilter, "%s supports only eq, ne and pr in this mapping", path)
	}
	v, err := scim.NormalizeValue(def, e.Value)
	if err != nil {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "%s: %s", path, scim.AsError(err).Detail)
	}
	vals, isNull, err := c.EqualValues(v)
	var cond string
	switch other, negated := mapping.IsNegation(err); {
	case negated && other == nil:
		cond = expr + " IS NOT NULL"
	case negated:
		f.args = append(f.args, other)
		cond = "(" + expr + " IS NOT NULL AND " + expr + " <> ?)"
	case err != nil:
		return "", err
	case isNull:
		cond = expr + " IS NULL"
	case len(vals) == 0:
		cond = "FALSE"
	case def.Identity && len(vals) == 1:
		s, isString := vals[0].(string)
		if !isString {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "%s compares with a string", path)
		}
		cond = f.sameIdentity(expr, s)
	default:
		f.args = append(f.args, vals...)
		cond = expr + " IN (" + placeholders(len(vals)) + ")"
	}
	if e.Op == scim.OpNe {
		return "NOT COALESCE((" + cond + "), FALSE)", nil
	}
	return cond, nil
}

// jsonList matches users having at least one element of a multi-valued attribute kept in the
// bookkeeping document that satisfies the value filter.
func (f *filterBuilder) jsonList(ref scim.Ref, filter scim.Expr) (string, error) {
	f.jt++
	alias := "jt" + strconv.Itoa(f.jt)
	var cols []string
	for _, sub := range ref.Attr.SubAttributes {
		cols = append(cols, quoteIdent(sub.Name)+" VARCHAR(1024) PATH '$."+jsonKey(sub.Name)+"'")
	}
	inner := &filterBuilder{rt: f.rt, m: f.m, jt: f.jt, memberTable: f.memberTable, groupTable: f.groupTable, valuesTable: f.valuesTable}
	where, err := inner.element(ref.Attr, alias, filter)
	if err != nil {
		return "", err
	}
	f.jt = inner.jt
	lookup := f.listLookup(ref, filter)
	f.args = append(f.args, inner.args...)
	listPath := jsonPath(scim.Ref{URN: ref.URN, Attr: ref.Attr})
	listPath = listPath[:len(listPath)-1] + "[*]'"
	return lookup + "EXISTS (SELECT 1 FROM JSON_TABLE(b.doc, " + listPath + " COLUMNS (" + strings.Join(cols, ", ") + ")) " +
		alias + " WHERE " + where + ")" + closeLookup(lookup), nil
}

// element renders a value filter over the JSON_TABLE columns of one list element.
func (f *filterBuilder) element(a *scim.Attribute, alias string, e scim.Expr) (string, error) {
	return valueFilter(e, func(e *scim.CompareExpr) (string, error) {
		sub := a.Sub(e.Attr.Name)
		if sub == nil || e.Attr.URN != "" || e.Attr.Sub != "" {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "%q is not a sub-attribute of %s", e.Attr.String(), a.Name)
		}
		// The collation goes on the comparison rather than into JSON_TABLE's COLUMNS, which the demo's
		// embedded engine cannot parse; on MariaDB and MySQL the two are the same.
		return f.cmp(jsonText(alias+"."+quoteIdent(sub.Name), sub), sub, e)
	})
}

// valueFilter renders the and/or/not structure of a value filter (the part in emails[...]), leaving each
// comparison with a sub-attribute to compare.
func valueFilter(e scim.Expr, compare func(*scim.CompareExpr) (string, error)) (string, error) {
	sub := func(x scim.Expr) (string, error) { return valueFilter(x, compare) }
	if sql, ok, err := logicSQL(e, sub); ok {
		return sql, err
	}
	if e, ok := e.(*scim.CompareExpr); ok {
		return compare(e)
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "value filters cannot be nested")
}
