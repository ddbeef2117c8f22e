package scim

import (
	"fmt"
	"strings"
)

// What to do with a URN in "schemas" that names neither the resource's core schema nor one of its
// declared extensions ([server] extra_schemas).
const (
	ExtraSchemasIgnore = "ignore" // accept the body; the URN names nothing scimbridge keeps
	ExtraSchemasRefuse = "refuse" // 400 invalidValue
)

// CheckSchemas checks the "schemas" of a POST or PUT body (RFC 7643 section 3): an array of strings that
// holds the resource type's core schema, and besides it the type's declared extensions. A URN of
// another kind of resource or message (the User schema on /Groups, PatchOp on a POST) is always
// refused: the body was meant for another endpoint. Any other URN is ignored or refused as extra says;
// some IdPs list custom extensions the mapping does not know. A body without "schemas" is taken as
// the endpoint's resource unless extra is ExtraSchemasRefuse (RFC 7643 requires the attribute; many
// hand-written clients leave it out, and the endpoint says what the body is).
func (rt *ResourceType) CheckSchemas(raw map[string]any, extra string) error {
	var v any
	found := false
	for k, val := range raw {
		if strings.EqualFold(k, "schemas") {
			v, found = val, true
		}
	}
	if (!found || v == nil) && extra != ExtraSchemasRefuse {
		return nil // leniency: a body without "schemas" is read as the endpoint's resource
	}
	if !found || v == nil {
		return BadRequest(TypeInvalidValue, `attribute "schemas" is required: an array holding %q`, rt.Core.ID)
	}
	urns, err := schemaList(v)
	if err != nil {
		return err
	}
	hasCore := false
	for _, u := range urns {
		switch {
		case strings.EqualFold(u, rt.Core.ID):
			hasCore = true
		case rt.Extension(u) != nil:
		case isForeignSchema(u):
			return BadRequest(TypeInvalidValue, `attribute "schemas" names %q, which is not a schema of %s resources`, u, rt.Name)
		case extra == ExtraSchemasRefuse:
			return BadRequest(TypeInvalidValue, `attribute "schemas" names %q, which is neither %q nor one of its extensions`, u, rt.Core.ID)
		}
	}
	if !hasCore {
		return BadRequest(TypeInvalidValue, `attribute "schemas" must hold %q`, rt.Core.ID)
	}
	return nil
}

// CheckPatchSchemas checks the "schemas" of a PATCH body (RFC 7644 section 3.5.2): it must hold the
// PatchOp message schema, and otherwise what extra allows.
func CheckPatchSchemas(urns []string, extra string) error {
	hasPatch := false
	for _, u := range urns {
		switch {
		case strings.EqualFold(u, PatchOpURN):
			hasPatch = true
		case isForeignSchema(u) || extra == ExtraSchemasRefuse:
			return BadRequest(TypeInvalidValue, `attribute "schemas" of a PATCH names %q; a PATCH holds only %q`, u, PatchOpURN)
		}
	}
	if !hasPatch {
		return BadRequest(TypeInvalidValue, `attribute "schemas" of a PATCH must hold %q`, PatchOpURN)
	}
	return nil
}

// schemaList reads "schemas" as the array of strings it must be.
func schemaList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, BadRequest(TypeInvalidValue, `attribute "schemas" must be an array of URNs, got %s`, jsonKind(v))
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, BadRequest(TypeInvalidValue, `attribute "schemas"[%d] must be a URN string, got %s`, i, describeURN(e))
		}
		out = append(out, s)
	}
	return out, nil
}

func describeURN(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return jsonKind(v)
}

// isForeignSchema reports whether u is a schema RFC 7643/7644 define for something else: a core
// resource schema, or a message. A resource type's own core schema is matched before this is asked.
func isForeignSchema(u string) bool {
	for _, known := range []string{UserSchema, GroupSchema, ListResponseURN, PatchOpURN, ErrorURN,
		SchemaSchema, ResourceTypeURN, SPConfigURN, "urn:ietf:params:scim:api:messages:2.0:SearchRequest",
		"urn:ietf:params:scim:api:messages:2.0:BulkRequest"} {
		if strings.EqualFold(u, known) {
			return true
		}
	}
	return false
}
