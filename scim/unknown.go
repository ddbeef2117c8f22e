package scim

import (
	"sort"
	"strings"
)

// What a resource type does with attributes its schemas do not declare (ResourceType.Unknown).
const (
	// UnknownKeep keeps them as sent: they are stored with the resource and returned on GET, and PATCH
	// operations on them apply like any other. Nothing the IdP sends is lost, and no operation of a
	// PATCH fails because another names an undeclared attribute.
	UnknownKeep = "keep"
	// UnknownRefuse refuses the whole request with 400, saying that nothing of it was applied.
	UnknownRefuse = "refuse"
	// UnknownIgnore drops them from POST and PUT bodies and skips PATCH operations on them.
	UnknownIgnore = "ignore"
)

// unknownPolicy is rt.Unknown, or "" (drop in bodies, 400 in PATCH) for a type that set none (Groups).
func (rt *ResourceType) unknownPolicy() string { return rt.Unknown }

func refuseUnknown(path string) error {
	return BadRequest(TypeInvalidPath, "attribute %q is not in this server's schema, and it refuses undeclared attributes "+
		"(unknown_attributes = \"refuse\"): nothing of the request was applied", path)
}

// isURNKey reports a key that names a schema URN ("urn:acme:2.0:User") or an attribute under one.
func isURNKey(key string) bool { return len(key) > 4 && strings.EqualFold(key[:4], "urn:") }

// normalizeUnknown handles a key of a POST or PUT body that no schema declares. A schema URN key with an
// object value is an extension object; "urn:acme:2.0:User:badge" is badge under "urn:acme:2.0:User".
func (rt *ResourceType) normalizeUnknown(out Resource, key string, v any) error {
	switch rt.unknownPolicy() {
	case UnknownKeep:
		if v == nil {
			return nil
		}
		if !isURNKey(key) && !isAttrName(key) {
			return BadRequest(TypeInvalidSyntax, "%q is not an attribute name", key)
		}
		if _, obj := v.(map[string]any); obj || !isURNKey(key) {
			setUnknown(out, key, deepCopy(v))
			return nil
		}
		i := strings.LastIndexByte(key, ':')
		ext, _ := out[key[:i]].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			out[key[:i]] = ext
		}
		ext[key[i+1:]] = deepCopy(v)
		return nil
	case UnknownRefuse:
		return refuseUnknown(key)
	}
	return nil
}

func setUnknown(out Resource, key string, v any) {
	if obj, ok := v.(map[string]any); ok {
		if cur, ok := out[key].(map[string]any); ok {
			for k, x := range obj {
				cur[k] = x
			}
			return
		}
	}
	out[key] = v
}

// patchUnknown applies a PATCH operation whose path no schema declares, by the resource type's policy.
func (rt *ResourceType) patchUnknown(r Resource, kind string, p Path, value any) error {
	switch rt.unknownPolicy() {
	case UnknownIgnore:
		return nil
	case UnknownRefuse:
		return refuseUnknown(p.Attr.String())
	case UnknownKeep:
	default:
		return BadRequest(TypeInvalidPath, "unknown attribute %q", p.Attr.String())
	}
	if p.Filter != nil {
		return BadRequest(TypeInvalidPath, "attribute %q is not in this server's schema: it is kept as sent, but a value filter "+
			"cannot select in it", p.Attr.String())
	}
	c := map[string]any(r)
	keys := []string{p.Attr.Name}
	if p.Attr.URN != "" {
		keys = []string{p.Attr.URN, p.Attr.Name}
	}
	if p.Attr.Sub != "" {
		keys = append(keys, p.Attr.Sub)
	}
	for _, k := range keys[:len(keys)-1] {
		next, _ := c[k].(map[string]any)
		if next == nil {
			if kind == "remove" {
				return nil
			}
			next = map[string]any{}
			c[k] = next
		}
		c = next
	}
	last := keys[len(keys)-1]
	switch {
	case kind == "remove" || value == nil:
		delete(c, last)
	case kind == "add":
		if have, ok := c[last].([]any); ok {
			if more, ok := value.([]any); ok {
				c[last] = append(have, deepCopy(more).([]any)...)
				break
			}
		}
		c[last] = deepCopy(value)
	default:
		c[last] = deepCopy(value)
	}
	dropEmpty(r, keys)
	return nil
}

// dropEmpty removes the objects along keys that an operation left empty.
func dropEmpty(r Resource, keys []string) {
	for n := len(keys) - 1; n > 0; n-- {
		c := map[string]any(r)
		for _, k := range keys[:n-1] {
			c, _ = c[k].(map[string]any)
		}
		if m, ok := c[keys[n-1]].(map[string]any); ok && len(m) == 0 {
			delete(c, keys[n-1])
		}
	}
}

// unknownURNs lists the keys of r that hold objects under schema URNs no schema of rt declares, sorted:
// kept extensions, so that "schemas" names them.
func (rt *ResourceType) unknownURNs(r Resource) []string {
	var out []string
	for k, v := range r {
		if _, obj := v.(map[string]any); obj && isURNKey(k) && rt.Extension(k) == nil && !strings.EqualFold(k, rt.Core.ID) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Renormalize normalizes a resource scimbridge already holds (the result of a PATCH): as Normalize, but
// undeclared attributes kept earlier are kept rather than refused, so that switching to "refuse" later
// does not fail every PATCH of the users who have some.
func (rt *ResourceType) Renormalize(r Resource) (Resource, error) {
	if rt.Unknown != UnknownRefuse {
		return rt.Normalize(r)
	}
	keep := *rt
	keep.Unknown = UnknownKeep
	return keep.Normalize(r)
}
