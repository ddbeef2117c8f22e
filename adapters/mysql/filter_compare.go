package mysql

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

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
	if f.looseIdentity {
		// The caller keeps the identities among the column's matches itself (identity_lookup.go).
		f.loose = append(f.loose, looseMatch{expr: expr, value: value})
		f.args = append(f.args, value)
		return expr + " = ?"
	}
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
