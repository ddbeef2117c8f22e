package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/scimbridge/scimbridge/scim"
)

// Column is one mapped column of the users table.
type Column struct {
	Name       string
	src        *source // nil for columns only written on insert or write
	transform  string  // as configured: "lower", or a chain "email_local, lower, slug" (transform.go)
	chain      []string
	allowedSet string // the slug's characters
	maxLength  int    // 0: no truncation
	codes      []code // value map, in a stable order
	whenTrue   *value // boolean cases
	whenFalse  *value
	template   []templatePart // default when the attribute is absent
	absent     *value         // the constant written when the attribute is absent (default = ""), read back as absent
	onInsert   *value
	onWrite    *value
	readBack   bool
}

// code is one entry of a value map: the SCIM value and the column values meaning it, the first one written.
type code struct {
	scim    any
	columns []any
}

func compileColumn(rt *scim.ResourceType, name string, spec ColumnSpec) (*Column, error) {
	c := &Column{Name: name, transform: spec.Transform}
	var err error
	if spec.has("default") && !templateRef.MatchString(spec.Default) {
		// A default naming no attribute is a constant: '' for a NOT NULL column the app reads as a
		// string, written on insert and whenever the attribute is removed.
		c.absent = &value{lit: spec.Default}
	} else if c.template, err = compileTemplate(rt, spec.Default); err != nil {
		return nil, err
	}
	if spec.From != "" {
		if c.src, err = compileSource(rt, spec.From); err != nil {
			return nil, err
		}
	}
	if spec.has("on_insert") || spec.has("on_write") {
		if spec.From != "" || len(spec.set) > 1 {
			return nil, fmt.Errorf("on_insert and on_write stand alone; they cannot be combined with other keys")
		}
		v := spec.OnInsert
		if spec.has("on_write") {
			v = spec.OnWrite
		}
		pv, err := parseValue(v)
		if err != nil {
			return nil, err
		}
		if spec.has("on_write") {
			c.onWrite = &pv
		} else {
			c.onInsert = &pv
		}
		return c, nil
	}
	if c.src == nil {
		return nil, fmt.Errorf("needs a SCIM attribute (from = \"...\"), or on_insert / on_write")
	}
	if err := compileTransforms(c, spec); err != nil {
		return nil, err
	}
	if spec.Map != nil {
		if c.codes, err = compileCodes(c.src.attrDef(), spec.Map); err != nil {
			return nil, err
		}
	}
	if spec.has("when_true") || spec.has("when_false") {
		if c.src.attrDef().Type != scim.Boolean {
			return nil, fmt.Errorf("when_true/when_false need a boolean attribute, %s is %s", c.src.path, c.src.attrDef().Type)
		}
		if !spec.has("when_true") || !spec.has("when_false") || spec.Map != nil {
			return nil, fmt.Errorf("give both when_true and when_false, and no map")
		}
		wt, err1 := parseValue(spec.WhenTrue)
		wf, err2 := parseValue(spec.WhenFalse)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if wt.equal(wf) || (wt.special != "" && wf.special != "") {
			return nil, fmt.Errorf("when_true and when_false must be told apart when read back: one must be a constant or null")
		}
		c.whenTrue, c.whenFalse = &wt, &wf
	}
	return c, nil
}

func compileCodes(a *scim.Attribute, m map[string]any) ([]code, error) {
	var out []code
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var key any = k // TOML keys are strings; a number attribute's keys are its numbers
		if a.Type == scim.Integer || a.Type == scim.Decimal {
			key = json.Number(k)
		}
		sv, err := scim.NormalizeValue(a, key)
		if err != nil || sv == nil {
			return nil, fmt.Errorf("map key %q is not a valid %s value", k, a.Type)
		}
		var cols []any
		switch v := m[k].(type) {
		case []any:
			cols = v
		default:
			cols = []any{v}
		}
		if len(cols) == 0 {
			return nil, fmt.Errorf("map key %q has no column value", k)
		}
		out = append(out, code{scim: sv, columns: cols})
	}
	return out, nil
}

// rank orders candidate columns for reading an attribute back: lower is better.
func (c *Column) rank() int {
	switch {
	case c.transform != "" || c.maxLength > 0:
		return 2
	case c.codes != nil || c.whenTrue != nil:
		return 1
	}
	return 0
}

// fromResource computes the column's value for a resource.
func (c *Column) fromResource(r scim.Resource) (value, error) {
	v := c.src.get(r)
	if v == nil && c.template != nil {
		v = renderTemplate(c.template, r)
	}
	if v == nil && c.absent != nil {
		return *c.absent, nil
	}
	switch {
	case c.codes != nil:
		if v == nil {
			return value{}, nil
		}
		for _, cd := range c.codes {
			if sameScalar(cd.scim, v) {
				return parseValue(cd.columns[0])
			}
		}
		return value{}, scim.BadRequest(scim.TypeInvalidValue, "%s %v has no value for column %s in this mapping", c.src.path, v, c.Name)
	case c.whenTrue != nil:
		if b, _ := v.(bool); b {
			return *c.whenTrue, nil
		}
		return *c.whenFalse, nil
	}
	switch v := v.(type) {
	case nil:
		return value{}, nil
	case string:
		return value{lit: c.transformed(v)}, nil
	case json.Number:
		return value{lit: v.String()}, nil
	}
	return value{lit: v}, nil
}

// Need says what kind of SQL column the mapping writes into this column, for `scimbridge check`:
// "text", "number", "boolean", "time", "unix" (seconds), "unix_ms", or "any".
func (c *Column) Need() string {
	v := c.onWrite
	if v == nil {
		v = c.onInsert
	}
	if v == nil && c.whenFalse != nil {
		v = c.whenFalse
		if c.whenFalse.special == "" {
			v = c.whenTrue
		}
	}
	if v != nil {
		switch v.special {
		case "now":
			return "time"
		case "now_unix":
			return "unix"
		case "now_unix_ms":
			return "unix_ms"
		case "uuid":
			return "text"
		}
		switch v.lit.(type) {
		case int64, float64:
			return "number"
		case string:
			return "text"
		}
		return "any"
	}
	if c.codes != nil {
		switch c.codes[0].columns[0].(type) {
		case int64, float64:
			return "number"
		}
		return "text"
	}
	switch c.src.attrDef().Type {
	case scim.Boolean:
		return "boolean"
	case scim.Integer, scim.Decimal:
		return "number"
	case scim.DateTime:
		return "time"
	}
	return "text"
}

// Optional reports whether the column can be left without a value: it holds an attribute a user may
// lack (not userName, not active, which creates default), and has no constant default.
func (c *Column) Optional() bool {
	return c.src != nil && c.absent == nil && c.whenTrue == nil && !oneOf(c.src.path, "userName", "active")
}

// Source is the SCIM attribute path the column holds, or "" for on_insert/on_write columns.
func (c *Column) Source() string {
	if c.src == nil {
		return ""
	}
	return c.src.path
}

// Picked reports whether the column holds one element picked from a list (emails[primary].value) rather
// than the whole attribute.
func (c *Column) Picked() bool { return c.src != nil && c.src.filter != nil }

// Plain reports whether the column holds the attribute's value as is, so that order operators
// (co, sw, gt, ...) compare on it directly.
func (c *Column) Plain() bool {
	return c.codes == nil && c.whenTrue == nil && c.transform == "" && c.maxLength == 0
}

// Constants are the literal values the mapping may write into the column (on_insert, on_write,
// when_true/when_false, the value map's column values), for `scimbridge check` to hold against the
// column's type and length. NULL and keywords ("now", "uuid") are left out.
func (c *Column) Constants() []any {
	var out []any
	for _, v := range []*value{c.onInsert, c.onWrite, c.whenTrue, c.whenFalse, c.absent} {
		if v != nil && v.special == "" && v.lit != nil {
			out = append(out, v.lit)
		}
	}
	for _, cd := range c.codes {
		for _, col := range cd.columns {
			if v, err := parseValue(col); err == nil && v.special == "" && v.lit != nil {
				out = append(out, v.lit)
			}
		}
	}
	return out
}
