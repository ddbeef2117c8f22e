package scim_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// memberOps decodes the Operations array of a PatchOp body.
func memberOps(t *testing.T, ops string) []scim.PatchOperation {
	t.Helper()
	var req scim.PatchRequest
	if err := json.Unmarshal([]byte(`{"Operations":`+ops+`}`), &req); err != nil {
		t.Fatalf("bad test ops %s: %v", ops, err)
	}
	return req.Operations
}

func memberValues(ms []scim.Member) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Value)
	}
	return out
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestSplitMemberOpsFolding(t *testing.T) {
	cases := []struct {
		name    string
		ops     string
		replace bool
		add     []string // values of Add, in order
		remove  []string // sorted
		rest    int      // operations left for ApplyPatch
	}{
		{name: "add list (Entra, Okta)",
			ops: `[{"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]}]`, add: []string{"a", "b"}},
		{name: "add lone object",
			ops: `[{"op":"add","path":"members","value":{"value":"a"}}]`, add: []string{"a"}},
		{name: "add bare string ids",
			ops: `[{"op":"add","path":"members","value":["a","b"]}]`, add: []string{"a", "b"}},
		{name: "add same id twice in one list",
			ops: `[{"op":"add","path":"members","value":[{"value":"a"},{"value":"a"}]}]`, add: []string{"a"}},
		{name: "remove by filter (Entra)",
			ops: `[{"op":"remove","path":"members[value eq \"a\"]"}]`, remove: []string{"a"}},
		{name: "remove by filter joined with or",
			ops: `[{"op":"remove","path":"members[value eq \"b\" or value eq \"a\" or value eq \"c\"]"}]`, remove: []string{"a", "b", "c"}},
		{name: "remove with a value list (Entra without its 2020 flag)",
			ops: `[{"op":"remove","path":"members","value":[{"value":"b"},{"value":"a"}]}]`, remove: []string{"a", "b"}},
		{name: "remove all",
			ops: `[{"op":"remove","path":"members"}]`, replace: true},
		{name: "replace full list (Okta)",
			ops: `[{"op":"replace","path":"members","value":[{"value":"x"},{"value":"y"}]}]`, replace: true, add: []string{"x", "y"}},
		{name: "replace with [] empties",
			ops: `[{"op":"replace","path":"members","value":[]}]`, replace: true},
		{name: "add then remove the same id",
			ops: `[{"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]},{"op":"remove","path":"members[value eq \"a\"]"}]`,
			add: []string{"b"}, remove: []string{"a"}},
		{name: "remove then add the same id",
			ops: `[{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"a"}]}]`,
			add: []string{"a"}},
		{name: "remove all then add",
			ops: `[{"op":"remove","path":"members"},{"op":"add","path":"members","value":[{"value":"n"}]}]`, replace: true, add: []string{"n"}},
		{name: "add then remove all",
			ops: `[{"op":"add","path":"members","value":[{"value":"n"}]},{"op":"remove","path":"members"}]`, replace: true},
		{name: "replace then remove one then add one",
			ops:     `[{"op":"replace","path":"members","value":[{"value":"a"},{"value":"b"}]},{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"c"}]}]`,
			replace: true, add: []string{"b", "c"}},
		{name: "remove an id after a replace that did not list it",
			ops:     `[{"op":"replace","path":"members","value":[{"value":"a"}]},{"op":"remove","path":"members[value eq \"z\"]"}]`,
			replace: true, add: []string{"a"}},
		{name: "op names in any case",
			ops: `[{"op":"Add","path":"members","value":[{"value":"a"}]},{"op":"REMOVE","path":"members[value eq \"b\"]"},{"op":"rePlace","path":"displayName","value":"X"}]`,
			add: []string{"a"}, remove: []string{"b"}, rest: 1},
		{name: "path names in any case, with the Group URN",
			ops: `[{"op":"add","path":"Members","value":[{"value":"a"}]},{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members","value":[{"value":"b"}]}]`,
			add: []string{"a", "b"}},
		{name: "no-path replace carrying id, displayName and members (Okta)",
			ops: `[{"op":"replace","value":{"id":"g1","displayName":"X","members":[{"value":"a"}]}}]`, replace: true, add: []string{"a"}, rest: 1},
		{name: "no-path add with Members only",
			ops: `[{"op":"add","value":{"Members":[{"value":"a"}]}}]`, add: []string{"a"}},
		{name: "other attributes pass through",
			ops: `[{"op":"replace","path":"displayName","value":"X"},{"op":"add","path":"externalId","value":"e"}]`, rest: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rest, change, err := scim.SplitMemberOps(memberOps(t, c.ops))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if change.Replace != c.replace {
				t.Errorf("Replace = %v, want %v", change.Replace, c.replace)
			}
			if got := memberValues(change.Add); !reflect.DeepEqual(got, orNone(c.add)) {
				t.Errorf("Add = %v, want %v", got, orNone(c.add))
			}
			if got := orNone(change.Remove); !reflect.DeepEqual(got, orNone(c.remove)) {
				t.Errorf("Remove = %v, want %v", got, orNone(c.remove))
			}
			if len(rest) != c.rest {
				t.Errorf("rest = %+v, want %d operations", rest, c.rest)
			}
		})
	}
}

// The no-path Okta operation keeps its other keys, without members, for ApplyPatch.
func TestSplitMemberOpsNoPathKeepsOtherKeys(t *testing.T) {
	rest, _, err := scim.SplitMemberOps(memberOps(t, `[{"op":"Replace","value":{"id":"g1","displayName":"X","members":[]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].Op != "Replace" || rest[0].Path != "" {
		t.Fatalf("rest = %+v", rest)
	}
	obj, _ := rest[0].Value.(map[string]any)
	if _, ok := obj["members"]; ok || obj["displayName"] != "X" || obj["id"] != "g1" {
		t.Errorf("rest value = %v, want id and displayName without members", obj)
	}
	// ApplyPatch on the rest: the rename applies, the id is ignored.
	g := scim.Resource{"id": "g1", "displayName": "Old", "schemas": []any{scim.GroupSchema}}
	out, err := scim.GroupType().ApplyPatch(g, rest)
	if err != nil {
		t.Fatal(err)
	}
	if out["displayName"] != "X" || out["id"] != "g1" {
		t.Errorf("after ApplyPatch: %v", out)
	}
}

func TestSplitMemberOpsRejects(t *testing.T) {
	cases := []struct {
		name, ops, scimType, detail string
	}{
		{"filter joined with and", `[{"op":"remove","path":"members[value eq \"a\" and value eq \"b\"]"}]`, scim.TypeInvalidPath, "operation 1:"},
		{"filter on display", `[{"op":"remove","path":"members[display eq \"Ann\"]"}]`, scim.TypeInvalidPath, ""},
		{"filter with ne", `[{"op":"remove","path":"members[value ne \"a\"]"}]`, scim.TypeInvalidPath, ""},
		{"filter with a number", `[{"op":"remove","path":"members[value eq 12]"}]`, scim.TypeInvalidPath, ""},
		{"add with a filter", `[{"op":"add","path":"members[value eq \"a\"]","value":{"display":"x"}}]`, scim.TypeInvalidPath, ""},
		{"replace with a filter", `[{"op":"replace","path":"members[value eq \"a\"]","value":{"display":"x"}}]`, scim.TypeInvalidPath, ""},
		{"sub-attribute path", `[{"op":"replace","path":"members.display","value":"x"}]`, scim.TypeInvalidPath, ""},
		{"filter then sub-attribute", `[{"op":"replace","path":"members[value eq \"a\"].display","value":"x"}]`, scim.TypeInvalidPath, ""},
		{"unknown op on members", `[{"op":"add","path":"displayName","value":"X"},{"op":"move","path":"members","value":[{"value":"a"}]}]`, scim.TypeInvalidSyntax, "operation 2:"},
		{"member without value", `[{"op":"add","path":"members","value":[{"display":"Ann"}]}]`, scim.TypeInvalidValue, ""},
		{"member with a numeric value", `[{"op":"add","path":"members","value":[{"value":7}]}]`, scim.TypeInvalidValue, ""},
		{"member that is a number", `[{"op":"add","path":"members","value":[7]}]`, scim.TypeInvalidValue, ""},
		{"no-path members without value", `[{"op":"add","value":{"members":[{"display":"x"}]}}]`, scim.TypeInvalidValue, ""},
		{"unparsable path", `[{"op":"remove","path":"members[value eq"}]`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := scim.SplitMemberOps(memberOps(t, c.ops))
			if err == nil {
				t.Fatal("no error")
			}
			se := scim.AsError(err)
			if se.Status != 400 {
				t.Errorf("status %d, want 400: %v", se.Status, err)
			}
			if c.scimType != "" && se.ScimType != c.scimType {
				t.Errorf("scimType %q, want %q (%s)", se.ScimType, c.scimType, se.Detail)
			}
			if c.detail != "" && !strings.HasPrefix(se.Detail, c.detail) {
				t.Errorf("detail %q, want prefix %q", se.Detail, c.detail)
			}
		})
	}
}

// BUG: add a, remove a, add a yields Add [a a]: removeMember deletes the id from the add map but not
// from order, so the second add appends it to order again. The store then INSERTs the same
// (group_id, user_id) twice in one statement and the request fails (duplicate primary key).
func TestRegressionSplitMemberOpsAddRemoveAddDuplicates(t *testing.T) {
	_, change, err := scim.SplitMemberOps(memberOps(t, `[
		{"op":"add","path":"members","value":[{"value":"a"}]},
		{"op":"remove","path":"members[value eq \"a\"]"},
		{"op":"add","path":"members","value":[{"value":"a"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := memberValues(change.Add); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("Add = %v, want [a]", got)
	}
	if len(change.Remove) != 0 {
		t.Errorf("Remove = %v, want none", change.Remove)
	}
}

// BUG: {"op":"replace","path":"members"} without a value empties the group. RFC 7644 3.5.2.3 requires a
// value for replace; a malformed request should be refused (400 invalidValue), not wipe every member.
// (remove without a value is the documented way to remove all; Okta empties with "value": [].)
func TestRegressionSplitMemberOpsReplaceWithoutValueEmptiesGroup(t *testing.T) {
	_, change, err := scim.SplitMemberOps(memberOps(t, `[{"op":"replace","path":"members"}]`))
	if err == nil {
		t.Errorf("replace members without a value accepted as %+v; want 400 invalidValue", change)
	}
}

func TestParseMembers(t *testing.T) {
	decode := func(js string) any {
		var v any
		d := json.NewDecoder(strings.NewReader(js))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ok := []struct {
		js   string
		want []scim.Member
	}{
		{`null`, nil},
		{`[]`, []scim.Member{}},
		{`"u1"`, []scim.Member{{Value: "u1"}}},
		{`["u1","u2"]`, []scim.Member{{Value: "u1"}, {Value: "u2"}}},
		{`{"value":"u1"}`, []scim.Member{{Value: "u1"}}},
		{`[{"value":"u1","display":"Ann"}]`, []scim.Member{{Value: "u1", Display: "Ann"}}},
		{`[{"value":"u1","displayName":"Ann"}]`, []scim.Member{{Value: "u1", Display: "Ann"}}},
		{`[{"Value":"u1","DISPLAY":"Ann","type":"User","$ref":"https://x/Users/u1"}]`, []scim.Member{{Value: "u1", Display: "Ann"}}},
		{`[{"value":"u1"},"u2"]`, []scim.Member{{Value: "u1"}, {Value: "u2"}}},
	}
	for _, c := range ok {
		got, err := scim.ParseMembers(decode(c.js))
		if err != nil {
			t.Errorf("%s: %v", c.js, err)
			continue
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.js, got, c.want)
		}
	}
	// display wins over displayName, whatever the map order.
	for i := 0; i < 50; i++ {
		got, err := scim.ParseMembers(decode(`{"displayName":"N","value":"u1","display":"D"}`))
		if err != nil || len(got) != 1 || got[0].Display != "D" {
			t.Fatalf("display and displayName: got %+v, %v; want display D", got, err)
		}
	}
	for _, bad := range []string{`[{"display":"Ann"}]`, `{"value":""}`, `{"value":"   "}`, `[{"value":null}]`, `[{"value":12}]`, `[12]`, `[true]`, `[["u1"]]`} {
		_, err := scim.ParseMembers(decode(bad))
		if err == nil {
			t.Errorf("%s: accepted, want 400", bad)
			continue
		}
		if se := scim.AsError(err); se.Status != 400 || se.ScimType != scim.TypeInvalidValue {
			t.Errorf("%s: %d %q, want 400 invalidValue", bad, se.Status, se.ScimType)
		}
	}
}
