package scim

import (
	"encoding/json"
	"strings"
	"time"
)

// Resource is a SCIM resource as a JSON object with canonical attribute names: core and common attributes at
// the top level, extension attributes in an object under the extension's URN, as on the wire.
type Resource = map[string]any

// ResourceType is a resource type (User, Group) with its core schema and extensions.
type ResourceType struct {
	Name        string
	Endpoint    string // "/Users"
	Description string
	Core        Schema
	Extensions  []Schema
	// Unknown is what Normalize and ApplyPatch do with undeclared attributes: UnknownKeep, UnknownRefuse
	// or UnknownIgnore; "" drops them from bodies and refuses PATCH paths naming them (Groups).
	Unknown string
	common  []Attribute
}

// NewResourceType builds a resource type; extensions are optional schemas whose attributes live under their URN.
func NewResourceType(name, endpoint, description string, core Schema, extensions ...Schema) *ResourceType {
	return &ResourceType{Name: name, Endpoint: endpoint, Description: description, Core: core,
		Extensions: extensions, common: commonAttrDefs()}
}

// Ref is an attribute path resolved against a resource type: canonical names and definitions.
type Ref struct {
	URN  string     // the extension's URN; "" for core and common attributes
	Attr *Attribute // the attribute
	Sub  *Attribute // the sub-attribute, or nil
}

// Path is the canonical text of the reference: "name.givenName", "urn:...:User:department", "emails.value".
func (r Ref) Path() string {
	s := r.Attr.Name
	if r.URN != "" {
		s = r.URN + ":" + s
	}
	if r.Sub != nil {
		s += "." + r.Sub.Name
	}
	return s
}

// Resolve maps a client-written path to its definitions, case-insensitively. ok is false for an unknown
// attribute, an unknown schema URN, or a sub-attribute of a non-complex attribute.
func (rt *ResourceType) Resolve(p AttrPath) (Ref, bool) {
	var r Ref
	switch {
	case p.URN == "" || strings.EqualFold(p.URN, rt.Core.ID):
		if r.Attr = rt.Core.Attr(p.Name); r.Attr == nil {
			r.Attr = findAttr(rt.common, p.Name)
		}
	default:
		ext := rt.Extension(p.URN)
		if ext == nil {
			return Ref{}, false
		}
		r.URN, r.Attr = ext.ID, ext.Attr(p.Name)
	}
	if r.Attr == nil {
		return Ref{}, false
	}
	if p.Sub != "" {
		if r.Sub = r.Attr.Sub(p.Sub); r.Sub == nil {
			return Ref{}, false
		}
	}
	return r, true
}

// Extension returns the extension schema with the given URN, compared case-insensitively.
func (rt *ResourceType) Extension(urn string) *Schema {
	for i := range rt.Extensions {
		if strings.EqualFold(rt.Extensions[i].ID, urn) {
			return &rt.Extensions[i]
		}
	}
	return nil
}

// SplitURNKey splits a flattened extension key such as
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" (which Entra and Okta send in
// PATCH value objects) into the extension and the attribute path; ok is false when key names no extension.
func (rt *ResourceType) SplitURNKey(key string) (ext *Schema, rest string, ok bool) {
	for i := range rt.Extensions {
		id := rt.Extensions[i].ID
		if len(key) > len(id)+1 && strings.EqualFold(key[:len(id)], id) && key[len(id)] == ':' {
			return &rt.Extensions[i], key[len(id)+1:], true
		}
	}
	return nil, "", false
}

// Normalize turns a client's JSON object into a Resource with canonical names: it matches names
// case-insensitively, drops unknown and readOnly attributes and nulls (RFC 7643 section 2.5: unassigned),
// coerces the string booleans Entra sends ("True"), wraps a lone complex value given for a multi-valued
// attribute, and accepts a bare string for a complex attribute with a "value" sub-attribute (manager).
func (rt *ResourceType) Normalize(in map[string]any) (Resource, error) {
	if err := rejectCaseTwins(in); err != nil {
		return nil, err
	}
	out := Resource{}
	for key, v := range in {
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if ext := rt.Extension(key); ext != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				if v == nil {
					continue
				}
				return nil, BadRequest(TypeInvalidSyntax, "%s must be an object", ext.ID)
			}
			if err := rt.normalizeInto(out, ext.ID, ext.Attributes, obj); err != nil {
				return nil, err
			}
			continue
		}
		if ext, rest, ok := rt.SplitURNKey(key); ok {
			if err := rt.normalizeInto(out, ext.ID, ext.Attributes, map[string]any{rest: v}); err != nil {
				return nil, err
			}
			continue
		}
		a := rt.Core.Attr(key)
		if a == nil {
			a = findAttr(rt.common, key)
		}
		if a == nil {
			if err := rt.normalizeUnknown(out, key, v); err != nil {
				return nil, err
			}
			continue
		}
		if a.Mutability == "readOnly" {
			continue
		}
		nv, err := NormalizeValue(a, v)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[a.Name] = nv
		}
	}
	return out, nil
}

// rejectCaseTwins refuses an object that names one attribute twice in different case ("userName" and
// "USERNAME"): which one would win is not defined, so the request is ambiguous.
func rejectCaseTwins(in map[string]any) error {
	seen := make(map[string]string, len(in))
	for key := range in {
		lower := strings.ToLower(key)
		if other, dup := seen[lower]; dup {
			return BadRequest(TypeInvalidSyntax, "attribute names %q and %q are the same attribute", other, key)
		}
		seen[lower] = key
	}
	return nil
}

func (rt *ResourceType) normalizeInto(out Resource, urn string, attrs []Attribute, in map[string]any) error {
	if err := rejectCaseTwins(in); err != nil {
		return err
	}
	ext, _ := out[urn].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
	}
	for key, v := range in {
		a := findAttr(attrs, key)
		if a == nil && v != nil && rt.unknownPolicy() == UnknownKeep {
			ext[key] = deepCopy(v)
			continue
		}
		if a == nil && rt.unknownPolicy() == UnknownRefuse {
			return refuseUnknown(urn + ":" + key)
		}
		if a == nil || a.Mutability == "readOnly" {
			continue
		}
		nv, err := NormalizeValue(a, v)
		if err != nil {
			return err
		}
		if nv != nil {
			ext[a.Name] = nv
		} else {
			delete(ext, a.Name)
		}
	}
	if len(ext) > 0 {
		out[urn] = ext
	}
	return nil
}

// NormalizeValue checks and canonicalizes one attribute's value. A nil result means unassigned.
func NormalizeValue(a *Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if !a.MultiValued {
		return normalizeSingle(a, v)
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, item := range list {
		nv, err := normalizeSingle(a, item)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out = append(out, nv)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func normalizeSingle(a *Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case String, Reference, Binary:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Boolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string: // Entra sends "True" and "False"
			if strings.EqualFold(b, "true") || strings.EqualFold(b, "false") {
				return strings.EqualFold(b, "true"), nil
			}
		}
	case Integer:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Int64(); err == nil {
				return n, nil
			}
		}
	case Decimal:
		if n, ok := v.(json.Number); ok {
			return n, nil
		}
	case DateTime:
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return s, nil
			}
		}
	case Complex:
		return normalizeComplex(a, v)
	}
	return nil, BadRequest(TypeInvalidValue, "attribute %q must be a %s, got %s", a.Name, describeType(a), jsonKind(v))
}

func normalizeComplex(a *Attribute, v any) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		// A bare id where an object with "value" is expected: Entra sends the manager this way.
		if s, isString := v.(string); isString && a.Sub("value") != nil {
			return map[string]any{"value": s}, nil
		}
		return nil, BadRequest(TypeInvalidValue, "attribute %q must be an object, got %s", a.Name, jsonKind(v))
	}
	if err := rejectCaseTwins(obj); err != nil {
		return nil, err
	}
	out := map[string]any{}
	for key, sv := range obj {
		sub := a.Sub(key)
		if sub == nil || sub.Mutability == "readOnly" {
			continue // RFC 7644 3.5.1: readOnly values sent by a client are ignored (manager.displayName)
		}
		nv, err := normalizeSingle(sub, sv)
		if err != nil {
			return nil, BadRequest(TypeInvalidValue, "in %q: %s", a.Name, AsError(err).Detail)
		}
		if nv != nil {
			out[sub.Name] = nv
		}
	}
	if len(out) == 0 || (!a.MultiValued && out["value"] == "") {
		return nil, nil // manager: {"value": ""} is no manager
	}
	return out, nil
}

// Validate checks what Normalize cannot: required attributes (userName, displayName) are present, and no
// list has more than one primary element (RFC 7643 section 2.4).
func (rt *ResourceType) Validate(r Resource) error {
	for _, a := range rt.Core.Attributes {
		if a.Required {
			if s, isString := r[a.Name].(string); r[a.Name] == nil || (isString && strings.TrimSpace(s) == "") {
				return BadRequest(TypeInvalidValue, "attribute %q is required", a.Name)
			}
		}
		if err := checkIdentities(&a, r[a.Name]); err != nil {
			return err
		}
		if a.MultiValued && a.Sub("primary") != nil {
			list, _ := r[a.Name].([]any)
			primaries := 0
			for _, e := range list {
				if isPrimary(e) {
					primaries++
				}
			}
			if primaries > 1 {
				return BadRequest(TypeInvalidValue, "%s has %d elements marked primary; at most one may be", a.Name, primaries)
			}
		}
	}
	return nil
}

// checkIdentities applies CheckIdentity to an identity attribute's value, or to the identity
// sub-attribute of each element of a list (emails[].value).
func checkIdentities(a *Attribute, v any) error {
	if s, ok := v.(string); ok && a.Identity {
		return CheckIdentity(a.Name, s)
	}
	list, _ := v.([]any)
	for _, sub := range a.SubAttributes {
		if !sub.Identity {
			continue
		}
		for _, e := range list {
			m, _ := e.(map[string]any)
			if s, ok := m[sub.Name].(string); ok {
				if err := CheckIdentity(a.Name+"."+sub.Name, s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// SchemaURNs lists the schemas a resource uses: the core one and each extension with data.
func (rt *ResourceType) SchemaURNs(r Resource) []any {
	urns := []any{rt.Core.ID}
	for _, ext := range rt.Extensions {
		if _, ok := r[ext.ID]; ok {
			urns = append(urns, ext.ID)
		}
	}
	for _, urn := range rt.unknownURNs(r) {
		urns = append(urns, urn)
	}
	return urns
}

func commonAttrDefs() []Attribute {
	return []Attribute{
		attr("id", String, readOnly, always, caseExact, serverUnique),
		attr("externalId", String, caseExact),
		attr("meta", Complex, readOnly, subs(
			attr("resourceType", String, readOnly, caseExact),
			attr("created", DateTime, readOnly),
			attr("lastModified", DateTime, readOnly),
			attr("location", Reference, readOnly),
			attr("version", String, readOnly, caseExact),
		)),
	}
}
