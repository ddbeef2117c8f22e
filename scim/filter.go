package scim

import "strings"

// AttrPath names an attribute as the client wrote it: an optional schema URN, the attribute, and an optional
// sub-attribute. Names keep the client's spelling; Schema.Resolve maps them to canonical names.
type AttrPath struct {
	URN  string // "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", or "" when unqualified
	Name string // "name", "emails", "userName"
	Sub  string // "givenName" in name.givenName; "" when absent
}

func (p AttrPath) String() string {
	s := p.Name
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// Op is a comparison operator of RFC 7644 section 3.4.2.2, lower-cased.
type Op string

const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
	OpPr Op = "pr" // present: has no value
)

// Expr is a node of a parsed filter: *CompareExpr, *LogicalExpr, *NotExpr or *ValuePathExpr.
type Expr interface {
	String() string
	expr()
}

// CompareExpr is "attrPath op value" (or "attrPath pr").
// Value is a string (quoted, or a bare word that real IdPs send unquoted), bool, nil (null),
// or json.Number for a numeric literal. It is nil for OpPr.
type CompareExpr struct {
	Attr  AttrPath
	Op    Op
	Value any
}

// LogicalExpr is "left and right" or "left or right".
type LogicalExpr struct {
	And         bool // false means or
	Left, Right Expr
}

// NotExpr is "not (x)".
type NotExpr struct{ X Expr }

// ValuePathExpr is "attr[filter]": Filter's attribute names are sub-attributes of Attr (Attr.Sub is empty).
// The non-standard "emails[type eq "work"].value eq "x"" parses to
// ValuePathExpr{emails, (type eq "work") and (value eq "x")}.
type ValuePathExpr struct {
	Attr   AttrPath
	Filter Expr
}

func (*CompareExpr) expr()   {}
func (*LogicalExpr) expr()   {}
func (*NotExpr) expr()       {}
func (*ValuePathExpr) expr() {}

func (e *CompareExpr) String() string {
	if e.Op == OpPr {
		return e.Attr.String() + " pr"
	}
	return e.Attr.String() + " " + string(e.Op) + " " + literal(e.Value)
}

func (e *LogicalExpr) String() string {
	op := " or "
	if e.And {
		op = " and "
	}
	return "(" + e.Left.String() + op + e.Right.String() + ")"
}

func (e *NotExpr) String() string { return "not (" + e.X.String() + ")" }

func (e *ValuePathExpr) String() string { return e.Attr.String() + "[" + e.Filter.String() + "]" }

// Path is a PATCH operation's path (RFC 7644 section 3.5.2): attrPath, or valuePath with an optional
// sub-attribute after the bracket, as in emails[type eq "work"].value or members[value eq "2819c223"].
type Path struct {
	Attr    AttrPath // with Filter set, Attr.Sub is empty and SubAttr names the sub-attribute after "]"
	Filter  Expr     // nil when the path has no value filter
	SubAttr string
}

func (p Path) String() string {
	if p.Filter == nil {
		return p.Attr.String()
	}
	s := p.Attr.String() + "[" + p.Filter.String() + "]"
	if p.SubAttr != "" {
		s += "." + p.SubAttr
	}
	return s
}

func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case string:
		return `"` + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`) + `"`
	default:
		if s, ok := v.(interface{ String() string }); ok {
			return s.String()
		}
		return "?"
	}
}

// ListQuery is what a GET on a resource collection asks for. StartIndex is 1-based (RFC 7644 3.4.2.4).
// ByCursor asks for cursor pagination (RFC 9865) instead: the page after Cursor, the first page when
// Cursor is empty; StartIndex is then unused.
type ListQuery struct {
	Filter     Expr // nil for all
	StartIndex int
	Count      int
	ByCursor   bool
	Cursor     string
	// SortBy is the canonical path of the attribute to sort by (RFC 7644 3.4.2.3), "" for the default
	// (created, id) order; the store refuses an attribute it cannot sort by an index.
	SortBy         string
	SortDescending bool
}

// Page is one page of a list: Total counts every match, Resources holds the page. NextCursor, for a
// cursor query, names the page after this one; empty on the last page.
type Page struct {
	Total      int
	Resources  []Resource
	NextCursor string
}
