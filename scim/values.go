package scim

import (
	"encoding/json"
	"strings"
)

// isEmptyRef reports a value that clears a single-valued complex attribute with a "value"
// sub-attribute: "" or {"value": ""}, as IdPs send to clear the manager.
func isEmptyRef(a *Attribute, v any) bool {
	if a.MultiValued || a.Type != Complex || a.Sub("value") == nil {
		return false
	}
	switch v := v.(type) {
	case string:
		return v == ""
	case map[string]any:
		for k, x := range v {
			if strings.EqualFold(k, "value") {
				return x == ""
			}
		}
	}
	return false
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
