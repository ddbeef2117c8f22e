package scim

import (
	"encoding/json"
	"strings"
)

// RoleSchema is the schema of the Role resources a service provider publishes, as the IETF draft "SCIM
// Roles and Entitlements Extension" (draft-ietf-scim-roles-entitlements) names it.
const RoleSchema = "urn:ietf:params:scim:schemas:extension:2.0:Role"

// Role provenance, in the "type" of a user's roles as scimbridge returns them: a role assigned on the
// user itself (POST, PUT, PATCH of "roles"), or one a group grants through a [roles] rule.
const (
	RoleDirect = "direct"
	RoleGroup  = "group"
)

// RoleSchemaDef describes a published role: displayName and value are the role's name in the app (the
// value to send in a user's "roles"); enabled is always true (a role a rule names can be assigned).
func RoleSchemaDef() Schema {
	return Schema{ID: RoleSchema, Name: "Role", Description: "A role of the app that users can be assigned", Attributes: []Attribute{
		attr("displayName", String, readOnly, always, describe("The role's name")),
		attr("value", String, readOnly, caseExact, describe("The value to send in a user's roles to assign it")),
		attr("type", String, readOnly),
		attr("description", String, readOnly),
		attr("enabled", Boolean, readOnly),
	}}
}

// RoleType is the Role resource type, served read-only at /Roles.
func RoleType() *ResourceType {
	return NewResourceType("Role", "/Roles", "The app's roles, to assign through a user's roles", RoleSchemaDef())
}

// MatchResource evaluates a filter against one small resource held in memory whose attributes are the
// schema's plus id (the published roles: a handful from the configuration, not a table to query).
func MatchResource(sc Schema, r map[string]any, e Expr) (bool, error) {
	a := &Attribute{Name: sc.Name, Type: Complex, SubAttributes: append([]Attribute{attr("id", String, caseExact)}, sc.Attributes...)}
	return matchElement(a, r, e)
}

// DirectRoles reads the role values a client assigns in a user's "roles": each element's value, once,
// in order. Elements typed "group" are ignored: they are what scimbridge returns for group-derived roles,
// which a client echoing a GET back in a PUT does not assign. Entra's AppRoleAssignmentsComplex sends
// the value as a JSON object in a string ({"id":"…","value":"Admin","displayName":"Admin"}): its value
// (or displayName) is the role.
func DirectRoles(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range list {
		var value string
		switch item := item.(type) {
		case string:
			value = item
		case map[string]any:
			if t, _ := item["type"].(string); strings.EqualFold(t, RoleGroup) {
				continue
			}
			value, _ = item["value"].(string)
			if value == "" {
				value, _ = item["display"].(string)
			}
		default:
			return nil, BadRequest(TypeInvalidValue, `roles must be objects with a "value"`)
		}
		value = entraRoleValue(strings.TrimSpace(value))
		if value == "" {
			return nil, BadRequest(TypeInvalidValue, `a role needs a "value": the name of one of the app's roles (GET /Roles lists them)`)
		}
		if !seen[value] {
			seen[value] = true
			out = append(out, value)
		}
	}
	return out, nil
}

// entraRoleValue unwraps Entra's JSON-in-a-string app role; any other value is returned as it is.
func entraRoleValue(v string) string {
	if !strings.HasPrefix(v, "{") {
		return v
	}
	var role struct {
		Value       string `json:"value"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal([]byte(v), &role); err != nil {
		return v
	}
	if role.Value != "" {
		return strings.TrimSpace(role.Value)
	}
	return strings.TrimSpace(role.DisplayName)
}

// UnwrapRoleOps rewrites Entra's JSON-in-a-string role values in PATCH operations on "roles" to the
// role's value, so that a remove with a value list matches the element stored for an earlier add.
func UnwrapRoleOps(ops []PatchOperation) {
	for i := range ops {
		if !strings.EqualFold(strings.TrimSpace(ops[i].Path), "roles") {
			continue
		}
		list, ok := ops[i].Value.([]any)
		if !ok {
			list = []any{ops[i].Value}
		}
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				if v, ok := m["value"].(string); ok {
					m["value"] = entraRoleValue(strings.TrimSpace(v))
				}
			}
		}
	}
}
