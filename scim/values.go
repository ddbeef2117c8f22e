package scim

import (
	"encoding/json"
	"strings"
	"time"
)

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
		// A lone object for a list of objects is a known IdP shape; a lone string or number is not.
		if _, isObject := v.(map[string]any); !isObject || a.Type != Complex {
			return nil, BadRequest(TypeInvalidValue, "attribute %q is multi-valued: it must be an array, got %s", a.Name, jsonKind(v))
		}
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, item := range list {
		if _, isObject := item.(map[string]any); a.Type == Complex && !isObject && item != nil {
			return nil, BadRequest(TypeInvalidValue, "attribute %q must be an array of objects, got %s in it", a.Name, jsonKind(item))
		}
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
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func describeType(a *Attribute) string {
	switch a.Type {
	case DateTime:
		return "dateTime (RFC 3339)"
	case Boolean:
		return "boolean"
	case Complex:
		return "object"
	}
	return a.Type
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}
