package scim_test

import (
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// A replace through a value filter that matches nothing is 400 noTarget (RFC 7644 3.5.2.3), unless the
// filter describes the element the operation creates (Entra's emails[type eq "work"].value). Retrying
// `emails[value eq "old"].value` used to add the new address again on every retry.
func TestApplyPatchValueFilterWithoutMatchIsNoTarget(t *testing.T) {
	rt := rtUser()
	ops := decodeOps(t, `[{"op":"replace","path":"emails[value eq \"ann@work.example\"].value","value":"ann@new.example"}]`)
	doc, err := rt.ApplyPatch(jsonObj(t, patchUserDoc), ops)
	if err != nil {
		t.Fatal(err)
	}
	once := canonJSON(t, doc)
	for retry := range 2 {
		_, err := rt.ApplyPatch(doc, ops)
		se := scim.AsError(err)
		if err == nil || se.Status != 400 || se.ScimType != scim.TypeNoTarget {
			t.Fatalf("retry %d: %v, want 400 noTarget", retry+1, err)
		}
	}
	if got := canonJSON(t, doc); got != once {
		t.Errorf("a refused retry changed the resource:\n%s\nwant\n%s", got, once)
	}
	emails := doc["emails"].([]any)
	if len(emails) != 2 || emails[0].(map[string]any)["value"] != "ann@new.example" {
		t.Errorf("emails after one replace: %v", emails)
	}

	for _, c := range []struct{ name, ops string }{
		{"whole element", `[{"op":"replace","path":"emails[value eq \"gone@example\"]","value":{"value":"x@example"}}]`},
		{"add", `[{"op":"add","path":"emails[value eq \"gone@example\"].value","value":"x@example"}]`},
	} {
		if _, err := rt.ApplyPatch(jsonObj(t, patchUserDoc), decodeOps(t, c.ops)); scim.AsError(err).ScimType != scim.TypeNoTarget {
			t.Errorf("%s: %v, want noTarget", c.name, err)
		}
	}

	// The filter names what is created: still an upsert, as Entra expects.
	got, err := rt.ApplyPatch(jsonObj(t, patchUserDoc), decodeOps(t, `[{"op":"replace","path":"emails[type eq \"other\"].value","value":"o@example"}]`))
	if err != nil || len(got["emails"].([]any)) != 3 {
		t.Errorf("type-filtered replace without a match: %v, %v", got["emails"], err)
	}
}
