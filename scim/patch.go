package scim

import (
	"maps"
	"slices"
	"strings"
)

// PatchOperation is one operation of a PatchOp request (RFC 7644 section 3.5.2).
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// PatchRequest is the body of a PATCH request. encoding/json matches "Operations" case-insensitively.
type PatchRequest struct {
	Schemas    []string         `json:"schemas"`
	Operations []PatchOperation `json:"Operations"`
}

// ApplyPatch applies the operations to a copy of r and returns it; r is left untouched, so a failing
// operation changes nothing. It accepts the shapes real IdPs send: op names in any case (Entra "Replace"),
// no-path operations whose value keys are attribute paths ("name.givenName", full extension URNs), value
// paths with a sub-attribute (emails[type eq "work"].value), and remove with a value list (Entra's members).
func (rt *ResourceType) ApplyPatch(r Resource, ops []PatchOperation) (Resource, error) {
	if len(ops) == 0 {
		return nil, BadRequest(TypeInvalidValue, "the PATCH request has no Operations")
	}
	out := deepCopy(r).(map[string]any)
	for i, op := range ops {
		if err := rt.applyOp(out, op); err != nil {
			return nil, numbered(i, err)
		}
	}
	return out, nil
}

func (rt *ResourceType) applyOp(r Resource, op PatchOperation) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	if kind != "add" && kind != "replace" && kind != "remove" {
		return BadRequest(TypeInvalidSyntax, "op %q is not add, replace or remove", op.Op)
	}
	if ext := rt.Extension(strings.TrimSpace(op.Path)); ext != nil {
		return rt.applyExtension(r, kind, ext, op.Value)
	}
	if strings.TrimSpace(op.Path) != "" {
		p, err := ParsePath(strings.TrimSpace(op.Path))
		if err != nil {
			return err
		}
		return rt.applyPath(r, kind, p, op.Value)
	}
	if kind == "remove" {
		return BadRequest(TypeNoTarget, "remove needs a path")
	}
	obj, ok := op.Value.(map[string]any)
	if !ok {
		return BadRequest(TypeInvalidValue, "%s without a path needs an object value", kind)
	}
	// Keys apply in sorted order so that overlapping keys ("name", "name.givenName") give one result.
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		v := obj[key]
		if ext := rt.Extension(key); ext != nil {
			if err := rt.applyExtension(r, kind, ext, v); err != nil {
				return err
			}
			continue
		}
		if isIgnoredKey(key) {
			continue // Okta repeats id (and schemas) in no-path group updates
		}
		p, err := ParsePath(key)
		if err != nil {
			return err
		}
		if err := rt.applyPath(r, kind, p, v); err != nil {
			return err
		}
	}
	return nil
}

// applyExtension applies an operation aimed at a whole extension: its URN as the path, or as a key of a
// no-path value. Remove drops every attribute of the extension.
func (rt *ResourceType) applyExtension(r Resource, kind string, ext *Schema, value any) error {
	if kind == "remove" {
		delete(r, ext.ID)
		return nil
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return BadRequest(TypeInvalidValue, "%s must be an object", ext.ID)
	}
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if err := rt.applyPath(r, kind, Path{Attr: AttrPath{URN: ext.ID, Name: name}}, obj[name]); err != nil {
			return err
		}
	}
	return nil
}

func isIgnoredKey(key string) bool {
	return strings.EqualFold(key, "id") || strings.EqualFold(key, "schemas") || strings.EqualFold(key, "meta")
}

func (rt *ResourceType) applyPath(r Resource, kind string, p Path, value any) error {
	ref, ok := rt.Resolve(p.Attr)
	if !ok {
		return rt.patchUnknown(r, kind, p, value)
	}
	a := ref.Attr
	if ref.URN == "" && ref.Sub == nil && a.Name == "active" && a.Type == Boolean && (kind == "remove" || value == nil) {
		// Removing "active" would leave the account in no state at all: scimbridge keeps one, so it asks
		// for the explicit value instead of guessing (an absent "active" elsewhere keeps the state as is).
		return BadRequest(TypeInvalidValue, "\"active\" cannot be removed: it is a required boolean here; send "+
			"{\"op\":\"replace\",\"path\":\"active\",\"value\":false} to deactivate. Nothing of the request was applied")
	}
	if a.Mutability == "readOnly" || (ref.Sub != nil && ref.Sub.Mutability == "readOnly") {
		return BadRequest(TypeMutability, "attribute %q is read-only", ref.Path())
	}
	container := r
	if ref.URN != "" {
		ext, _ := r[ref.URN].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			r[ref.URN] = ext
		}
		container = ext
		defer func() {
			if len(ext) == 0 {
				delete(r, ref.URN)
			}
		}()
	}
	switch {
	case p.Filter != nil:
		if !a.MultiValued || a.Type != Complex {
			return BadRequest(TypeInvalidPath, "a value filter needs a multi-valued complex attribute, %q is not", a.Name)
		}
		return patchFiltered(container, kind, a, p, value)
	case ref.Sub != nil:
		return patchSub(container, kind, a, ref.Sub, value)
	default:
		return patchAttr(container, kind, a, value)
	}
}

// patchAttr applies an operation to a whole attribute.
func patchAttr(c map[string]any, kind string, a *Attribute, value any) error {
	if kind != "remove" && isEmptyRef(a, value) {
		delete(c, a.Name) // manager: {"value": ""} is how IdPs clear it
		return nil
	}
	if kind == "remove" {
		if a.MultiValued && value != nil {
			return removeValues(c, a, value)
		}
		delete(c, a.Name)
		return nil
	}
	if obj, ok := value.(map[string]any); ok && a.Type == Complex && !a.MultiValued {
		return mergeComplex(c, a, obj)
	}
	nv, err := NormalizeValue(a, value)
	if err != nil {
		return err
	}
	switch {
	case nv == nil:
		if kind == "replace" {
			delete(c, a.Name)
		}
	case a.MultiValued && kind == "add":
		list, _ := c[a.Name].([]any)
		var written []int
		for _, item := range nv.([]any) {
			var at int
			list, at = addUnique(a, list, item)
			written = append(written, at)
		}
		c[a.Name] = list
		keepOnePrimary(list, written)
	case a.MultiValued:
		c[a.Name] = nv
		keepOnePrimary(nv.([]any), nil)
	default:
		c[a.Name] = nv
	}
	return nil
}

// mergeComplex writes the sub-attributes given for a single-valued complex attribute (name, manager):
// those not given stay as they are (RFC 7644 3.5.2.1, 3.5.2.3), and those given as null are cleared
// (RFC 7643 2.5: null is unassigned).
func mergeComplex(c map[string]any, a *Attribute, obj map[string]any) error {
	nv, err := NormalizeValue(a, obj)
	if err != nil {
		return err
	}
	cur, _ := c[a.Name].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range obj {
		if sub := a.Sub(k); sub != nil && v == nil {
			delete(cur, sub.Name)
		}
	}
	if nv != nil {
		for k, v := range nv.(map[string]any) {
			cur[k] = v
		}
	}
	setOrDelete(c, a.Name, nonEmptyMap(cur))
	return nil
}

func nonEmptyMap(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// patchSub applies an operation to name.givenName, or to a sub-attribute of every element of a multi-valued one.
func patchSub(c map[string]any, kind string, a, sub *Attribute, value any) error {
	var nv any
	if kind != "remove" {
		var err error
		if nv, err = NormalizeValue(sub, value); err != nil {
			return err
		}
	}
	if !a.MultiValued && a.Type == Complex && sub.Name == "value" && nv == "" {
		delete(c, a.Name) // manager.value = "": no manager
		return nil
	}
	if a.MultiValued {
		list, _ := c[a.Name].([]any)
		if len(list) == 0 && nv != nil {
			list = []any{map[string]any{}}
		}
		for _, e := range list {
			setOrDelete(e.(map[string]any), sub.Name, nv)
		}
		c[a.Name] = compact(a, list)
		if len(c[a.Name].([]any)) == 0 {
			delete(c, a.Name)
		}
		return nil
	}
	obj, _ := c[a.Name].(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	setOrDelete(obj, sub.Name, nv)
	if len(obj) == 0 {
		delete(c, a.Name)
	} else {
		c[a.Name] = obj
	}
	return nil
}

func setOrDelete(m map[string]any, key string, v any) {
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}
