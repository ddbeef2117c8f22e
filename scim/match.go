package scim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// matchElement evaluates a value filter (the part inside "emails[...]") against one element of the
// multi-valued complex attribute a. This is for PATCH targets inside one resource; filtering a list of
// resources is translated to SQL by the store, never evaluated here.
func matchElement(a *Attribute, elem map[string]any, e Expr) (bool, error) {
	switch e := e.(type) {
	case *LogicalExpr:
		l, err := matchElement(a, elem, e.Left)
		if err != nil {
			return false, err
		}
		if l != e.And { // short-circuit: false and ..., true or ...
			return l, nil
		}
		return matchElement(a, elem, e.Right)
	case *NotExpr:
		m, err := matchElement(a, elem, e.X)
		return !m, err
	case *CompareExpr:
		sub := a.Sub(e.Attr.Name)
		if sub == nil || e.Attr.Sub != "" || e.Attr.URN != "" {
			return false, BadRequest(TypeInvalidPath, "%q is not a sub-attribute of %q", e.Attr.String(), a.Name)
		}
		return compareValue(sub, elem[sub.Name], e.Op, e.Value), nil
	default:
		return false, BadRequest(TypeInvalidPath, "nested value filters are not allowed in %q", a.Name)
	}
}

// compareValue applies a filter operator to one attribute value, with the attribute's case sensitivity.
func compareValue(a *Attribute, have any, op Op, want any) bool {
	if op == OpPr {
		return have != nil && have != ""
	}
	if have == nil {
		return op == OpNe && want != nil
	}
	if hb, ok := have.(bool); ok {
		wb, ok := asBool(want)
		switch op {
		case OpEq:
			return ok && hb == wb
		case OpNe:
			return !ok || hb != wb
		}
		return false
	}
	hs, ws := fmt.Sprint(have), literalText(want)
	if !a.CaseExact {
		hs, ws = strings.ToLower(hs), strings.ToLower(ws)
	}
	switch op {
	case OpEq:
		return hs == ws
	case OpNe:
		return hs != ws
	case OpCo:
		return strings.Contains(hs, ws)
	case OpSw:
		return strings.HasPrefix(hs, ws)
	case OpEw:
		return strings.HasSuffix(hs, ws)
	case OpGt:
		return hs > ws
	case OpGe:
		return hs >= ws
	case OpLt:
		return hs < ws
	case OpLe:
		return hs <= ws
	}
	return false
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
			return strings.EqualFold(v, "true"), true
		}
	}
	return false, false
}

func literalText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Select returns the index of the first element of list that the value filter f matches, or -1.
func Select(a *Attribute, list []any, f Expr) int {
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			if hit, err := matchElement(a, m, f); err == nil && hit {
				return i
			}
		}
	}
	return -1
}

// EqTemplate is exported eqTemplate, for mappings that create the element a column's value belongs in.
func EqTemplate(a *Attribute, f Expr) (map[string]any, bool) { return eqTemplate(a, f) }

// eqTemplate returns the sub-attribute values a filter pins with "eq" only (type eq "work" and
// primary eq true), so that a PATCH aimed at a missing element can create it, as Entra expects when it
// replaces emails[type eq "work"].value on a user who has no work email yet.
func eqTemplate(a *Attribute, e Expr) (map[string]any, bool) {
	switch e := e.(type) {
	case *CompareExpr:
		sub := a.Sub(e.Attr.Name)
		if e.Op != OpEq || sub == nil || e.Attr.Sub != "" {
			return nil, false
		}
		v, err := normalizeSingle(sub, e.Value)
		if err != nil || v == nil {
			return nil, false
		}
		return map[string]any{sub.Name: v}, true
	case *LogicalExpr:
		if !e.And {
			return nil, false
		}
		l, ok := eqTemplate(a, e.Left)
		if !ok {
			return nil, false
		}
		r, ok := eqTemplate(a, e.Right)
		if !ok {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}
