package mysql

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

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
	f := &filterBuilder{rt: s.m.Type, m: s.m, memberTable: s.memberTable(), groupTable: s.groupTable()}
	where, err := f.expr(e)
	return where, f.args, err
}

type filterBuilder struct {
	rt          *scim.ResourceType
	m           *mapping.Users // nil when filtering groups
	groupMode   bool           // filtering groups (alias g) rather than users (aliases b and u)
	memberTable string         // the quoted membership table
	groupTable  string         // the quoted groups table
	args        []any
	jt          int // alias counter, for JSON_TABLEs and side tables
}

// groupFilterSQL translates a filter on groups (alias g) into SQL. Groups are looked up by displayName
// (case-insensitively, through an index), externalId and id, and by membership, as Entra checks it:
// `members[value eq "u"]` or `members.value eq "u"`.
func (s *Store) groupFilterSQL(e scim.Expr) (string, []any, error) {
	if e == nil {
		return "TRUE", nil, nil
	}
	f := &filterBuilder{rt: scim.GroupType(), groupMode: true, memberTable: s.memberTable(), groupTable: s.groupTable()}
	where, err := f.expr(e)
	return where, f.args, err
}

func (f *filterBuilder) groupCompare(e *scim.CompareExpr) (string, error) {
	ref, ok := f.rt.Resolve(e.Attr)
	if !ok {
		return "", scim.BadRequest(scim.TypeInvalidFilter, "unknown attribute %q", e.Attr.String())
	}
	switch ref.Path() {
	case "id":
		return f.cmp(col("g.id"), ref.Attr, e)
	case "externalId":
		return f.cmp(col("g.external_id"), ref.Attr, e)
	case "displayName":
		if s, ok := e.Value.(string); ok {
			e = &scim.CompareExpr{Attr: e.Attr, Op: e.Op, Value: strings.ToLower(s)}
		}
		return f.cmp(col("g.display_name_lc"), ref.Attr, e)
	case "meta.created":
		return f.cmp(col("g.created"), ref.Sub, e)
	case "meta.lastModified":
		return f.cmp(col("g.last_modified"), ref.Sub, e)
	case "members", "members.value":
		return f.memberFilter(&scim.CompareExpr{Attr: scim.AttrPath{Name: "value"}, Op: e.Op, Value: e.Value})
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "groups cannot be filtered on %s", ref.Path())
}

// memberFilter matches groups with a member satisfying a value filter on members.value.
func (f *filterBuilder) memberFilter(e scim.Expr) (string, error) {
	c, ok := e.(*scim.CompareExpr)
	if !ok || !strings.EqualFold(c.Attr.Name, "value") || (c.Op != scim.OpEq && c.Op != scim.OpPr) {
		return "", scim.BadRequest(scim.TypeInvalidFilter, `members can be filtered with members[value eq "id"] or members pr`)
	}
	if c.Op == scim.OpPr {
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.group_id = g.id)", nil
	}
	f.args = append(f.args, literalString(c.Value))
	return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.group_id = g.id AND gm.user_id = ?)", nil
}

func (f *filterBuilder) expr(e scim.Expr) (string, error) {
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := f.expr(e.Left)
		if err != nil {
			return "", err
		}
		r, err := f.expr(e.Right)
		if err != nil {
			return "", err
		}
		op := " OR "
		if e.And {
			op = " AND "
		}
		return "(" + l + op + r + ")", nil
	case *scim.NotExpr:
		x, err := f.expr(e.X)
		if err != nil {
			return "", err
		}
		// SQL's NULL would make "not (title eq x)" skip users without a title; SCIM counts them.
		return "NOT COALESCE((" + x + "), FALSE)", nil
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
	return f.cmp(jsonText("JSON_VALUE(b.doc, "+jsonPath(ref)+")", def), def, e)
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
	inner := &filterBuilder{rt: f.rt, m: f.m, jt: f.jt, memberTable: f.memberTable, groupTable: f.groupTable}
	where, err := inner.element(ref.Attr, alias, filter)
	if err != nil {
		return "", err
	}
	f.jt = inner.jt
	f.args = append(f.args, inner.args...)
	listPath := jsonPath(scim.Ref{URN: ref.URN, Attr: ref.Attr})
	listPath = listPath[:len(listPath)-1] + "[*]'"
	return "EXISTS (SELECT 1 FROM JSON_TABLE(b.doc, " + listPath + " COLUMNS (" + strings.Join(cols, ", ") + ")) " +
		alias + " WHERE " + where + ")", nil
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
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := valueFilter(e.Left, compare)
		if err != nil {
			return "", err
		}
		r, err := valueFilter(e.Right, compare)
		if err != nil {
			return "", err
		}
		op := " OR "
		if e.And {
			op = " AND "
		}
		return "(" + l + op + r + ")", nil
	case *scim.NotExpr:
		x, err := valueFilter(e.X, compare)
		if err != nil {
			return "", err
		}
		return "NOT COALESCE((" + x + "), FALSE)", nil
	case *scim.CompareExpr:
		return compare(e)
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "value filters cannot be nested")
}

// operand is the SQL side of a comparison. jsonText marks values read out of JSON, where a boolean is the
// text "true" or "false" rather than 1 or 0.
type operand struct {
	expr     string
	jsonText bool
}

func col(expr string) operand { return operand{expr: expr} }

// jsonText compares text read out of a JSON document with the attribute's case sensitivity: JSON columns
// are utf8mb4_bin, while SCIM compares attributes that are not caseExact without regard to case. The value
// should come from JSON_VALUE, which is NULL for a member that is null, an object or an array, as a read
// sees it.
func jsonText(expr string, def *scim.Attribute) operand {
	collation := "utf8mb4_unicode_ci"
	if def.CaseExact {
		collation = "utf8mb4_bin"
	}
	return operand{expr: "CONVERT(" + expr + " USING utf8mb4) COLLATE " + collation, jsonText: true}
}

// cmp renders "operand op value" for an attribute of the given definition.
func (f *filterBuilder) cmp(o operand, def *scim.Attribute, e *scim.CompareExpr) (string, error) {
	expr := o.expr
	if e.Op == scim.OpPr {
		if def.Type == scim.String || def.Type == scim.Reference {
			return "(" + expr + " IS NOT NULL AND " + expr + " <> '')", nil
		}
		return expr + " IS NOT NULL", nil
	}
	if e.Value == nil {
		switch e.Op {
		case scim.OpEq:
			return expr + " IS NULL", nil
		case scim.OpNe:
			return expr + " IS NOT NULL", nil
		}
		return "", scim.BadRequest(scim.TypeInvalidFilter, "null can only be compared with eq or ne")
	}
	v, err := filterValue(def, e.Value)
	if err != nil {
		return "", err
	}
	switch e.Op {
	case scim.OpEq, scim.OpNe, scim.OpGt, scim.OpGe, scim.OpLt, scim.OpLe:
		if _, isBool := v.(bool); isBool && e.Op != scim.OpEq && e.Op != scim.OpNe {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "booleans compare with eq or ne only")
		}
		if b, isBool := v.(bool); isBool && o.jsonText {
			v = strconv.FormatBool(b)
		}
		if s, isString := v.(string); isString && def.Identity && (e.Op == scim.OpEq || e.Op == scim.OpNe) {
			cond := f.sameIdentity(expr, s)
			if e.Op == scim.OpNe {
				return "NOT COALESCE((" + cond + "), FALSE)", nil
			}
			return cond, nil
		}
		f.args = append(f.args, v)
		if e.Op == scim.OpNe {
			return "(" + expr + " <> ? OR " + expr + " IS NULL)", nil
		}
		return expr + " " + sqlOps[e.Op] + " ?", nil
	case scim.OpCo, scim.OpSw, scim.OpEw:
		s, ok := v.(string)
		if !ok {
			return "", scim.BadRequest(scim.TypeInvalidFilter, "%s needs a string value", e.Op)
		}
		pattern := escapeLike(s)
		switch e.Op {
		case scim.OpCo:
			pattern = "%" + pattern + "%"
		case scim.OpSw:
			pattern += "%"
		case scim.OpEw:
			pattern = "%" + pattern
		}
		f.args = append(f.args, pattern)
		return expr + " LIKE ? ESCAPE '!'", nil
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "unknown operator %q", e.Op)
}

// sameIdentity matches expr to an identity (userName, an email) as scim.SameIdentity does; see
// identityMatch.
func (f *filterBuilder) sameIdentity(expr, value string) string {
	f.args = append(f.args, value, value, value)
	return identityMatch(expr)
}

// identityMatch is the condition "expr is the identity ?" (three placeholders, all the identity), whatever
// the collation of the column behind expr. "expr = ?" keeps the column's own index doing the lookup; its
// collation (utf8mb4_unicode_ci and the like) finds a superset: alicé, ａlice and gross for alice and groß.
// The binary comparisons of the lower- and of the upper-cased forms then keep exactly the rows that differ
// from the value in letter case only. Both are needed: LOWER alone makes İ an i, UPPER alone makes ı an I.
// Casting to BINARY stops PAD SPACE from ignoring trailing spaces.
func identityMatch(expr string) string {
	cased := func(x, fn string) string {
		return "CAST(" + fn + "(CONVERT(" + x + " USING utf8mb4) COLLATE utf8mb4_bin) AS BINARY)"
	}
	return "(" + expr + " = ? AND " + cased(expr, "LOWER") + " = " + cased("?", "LOWER") + " AND " +
		cased(expr, "UPPER") + " = " + cased("?", "UPPER") + ")"
}

var sqlOps = map[scim.Op]string{scim.OpEq: "=", scim.OpGt: ">", scim.OpGe: ">=", scim.OpLt: "<", scim.OpLe: "<="}

// filterValue converts a filter literal to the attribute's type; real IdPs send unquoted dates and "True".
func filterValue(def *scim.Attribute, v any) (any, error) {
	switch def.Type {
	case scim.DateTime:
		t, err := time.Parse(time.RFC3339Nano, literalString(v))
		if err != nil {
			return nil, scim.BadRequest(scim.TypeInvalidFilter, "%q is not an RFC 3339 date-time", literalString(v))
		}
		return t.UTC(), nil
	case scim.Boolean:
		nv, err := scim.NormalizeValue(def, v)
		if err != nil {
			return nil, scim.BadRequest(scim.TypeInvalidFilter, "%s compares with true or false", def.Name)
		}
		return nv, nil
	}
	if n, ok := v.(json.Number); ok {
		return n.String(), nil
	}
	if b, ok := v.(bool); ok && def.Type == scim.String {
		return strconv.FormatBool(b), nil
	}
	return v, nil
}

func literalString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// jsonPath is the quoted SQL literal of the JSON path of a reference in the bookkeeping document.
func jsonPath(ref scim.Ref) string {
	p := "$"
	if ref.URN != "" {
		p += "." + jsonKey(ref.URN)
	}
	p += "." + jsonKey(ref.Attr.Name)
	if ref.Sub != nil {
		p += "." + jsonKey(ref.Sub.Name)
	}
	return "'" + p + "'"
}

// jsonKey quotes a member name for a JSON path. Names come from schema definitions, not from requests;
// quotes and backslashes are escaped all the same.
func jsonKey(name string) string {
	return `"` + strings.NewReplacer(`\`, `\\\\`, `"`, `\\"`, `'`, `''`).Replace(name) + `"`
}

// userGroupFilter matches users by their groups, kept in the membership table, not in the document:
// groups.value eq "<group id>" (or groups eq) and groups.display eq "<displayName>", and pr.
func (f *filterBuilder) userGroupFilter(ref scim.Ref, e *scim.CompareExpr) (string, error) {
	sub := "value"
	if ref.Sub != nil {
		sub = ref.Sub.Name
	}
	if e.Op == scim.OpPr {
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.user_id = b.id)", nil
	}
	v, ok := e.Value.(string)
	if e.Op != scim.OpEq || !ok {
		return "", scim.BadRequest(scim.TypeInvalidFilter, `users can be filtered by group with groups.value eq "<id>" or groups.display eq "<name>"`)
	}
	switch sub {
	case "value":
		f.args = append(f.args, v)
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm WHERE gm.user_id = b.id AND gm.group_id = ?)", nil
	case "display":
		f.args = append(f.args, strings.ToLower(v))
		return "EXISTS (SELECT 1 FROM " + f.memberTable + " gm JOIN " + f.groupTable +
			" g ON g.id = gm.group_id WHERE gm.user_id = b.id AND g.display_name_lc = ?)", nil
	}
	return "", scim.BadRequest(scim.TypeInvalidFilter, "groups.%s cannot be filtered", sub)
}
