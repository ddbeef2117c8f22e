package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

func (d *JSONDoc) op(m *Users, key any, old scim.Resource, raw any, new scim.Resource, env Env) (*Op, error) {
	var obj map[string]any // parsed when a path must be written: a broken document blocks only those writes
	for _, c := range d.Paths {
		v, write, err := c.change(old, new)
		if err != nil {
			return nil, err
		}
		if !write {
			continue
		}
		if obj == nil {
			if obj, err = parseDoc(raw); err != nil {
				return nil, scim.Internal(fmt.Errorf("the app's %s.%s is not a JSON object, so scimbridge will not write into it: %w", m.Table, d.Column, err))
			}
		}
		if err := setMember(obj, d.members[c], jsonValue(c, v.materialize(env.Now(), env.NewUUID))); err != nil {
			return nil, scim.Internal(fmt.Errorf("%s.%s: %w", m.Table, d.Column, err))
		}
	}
	if obj == nil {
		return nil, nil
	}
	text, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if s, ok := docText(raw); ok && s == string(text) {
		return nil, nil
	}
	return &Op{Kind: Update, Table: m.Table, Set: map[string]any{d.Column: string(text)}, Where: map[string]any{m.Key: key}}, nil
}

// newDoc is the document of a new app row: the paths the resource has values for.
func (d *JSONDoc) newDoc(r scim.Resource, env Env) (string, error) {
	obj := map[string]any{}
	for _, c := range d.Paths {
		v, err := c.fromResource(r)
		if err != nil {
			return "", err
		}
		if lit := v.materialize(env.Now(), env.NewUUID); lit != nil {
			if err := setMember(obj, d.members[c], jsonValue(c, lit)); err != nil {
				return "", err
			}
		}
	}
	text, err := json.Marshal(obj)
	return string(text), err
}

// jsonValue is how a column value is kept in a JSON document: numbers as numbers, booleans as booleans.
func jsonValue(c *Column, v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case string:
		if c.codes == nil && c.whenTrue == nil {
			if t := c.src.attrDef().Type; t == scim.Integer || t == scim.Decimal {
				return json.Number(v)
			}
		}
	}
	return v
}

func docText(raw any) (string, bool) {
	switch v := raw.(type) {
	case []byte:
		return string(v), true
	case string:
		return v, true
	}
	return "", false
}

// parseDoc decodes a JSON document column; NULL and the empty string are an empty document.
func parseDoc(raw any) (map[string]any, error) {
	text, _ := docText(raw)
	obj := map[string]any{}
	if strings.TrimSpace(text) == "" {
		return obj, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return map[string]any{}, err
	}
	if obj == nil { // the document "null"
		obj = map[string]any{}
	}
	return obj, nil
}

func getMember(obj map[string]any, path []string) any {
	var v any = obj
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// setMember sets (or, for nil, removes) the member at path, creating the objects on the way. A member on
// the way that holds something other than an object belongs to the app and is not overwritten.
func setMember(obj map[string]any, path []string, v any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		switch {
		case ok:
		case obj[k] == nil && v == nil:
			return nil // nothing to remove
		case obj[k] == nil:
			next = map[string]any{}
			obj[k] = next
		default:
			return fmt.Errorf("$.%s holds a %T, not an object", strings.Join(path[:i+1], "."), obj[k])
		}
		obj = next
	}
	setOrDelete(obj, path[len(path)-1], v)
	return nil
}
