package scim_test

import (
	"net/http"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// patchUserDoc is the user most patch cases start from.
const patchUserDoc = `{
  "id":"u1","userName":"ann","active":true,
  "name":{"givenName":"Ann","familyName":"Lee"},
  "emails":[{"value":"ann@work.example","type":"work","primary":true},{"value":"ann@home.example","type":"home"}],
  "meta":{"resourceType":"User","created":"2024-01-01T00:00:00Z"}
}`

// patchUserWant is patchUserDoc with the given top-level attributes replaced (a JSON object's members).
func patchUserWant(t *testing.T, overrides string, drop ...string) string {
	t.Helper()
	m := jsonObj(t, patchUserDoc)
	for k, v := range jsonObj(t, "{"+overrides+"}") {
		m[k] = v
	}
	for _, k := range drop {
		delete(m, k)
	}
	return canonJSON(t, m)
}

const patchGroupDoc = `{"id":"g1","displayName":"Admins","members":[{"value":"a","display":"A"},{"value":"b","display":"B"}]}`

// decodeOps decodes an Operations array as the server does (UseNumber).
func decodeOps(t *testing.T, js string) []scim.PatchOperation {
	t.Helper()
	var req scim.PatchRequest
	raw := `{"schemas":["` + scim.PatchOpURN + `"],"Operations":` + js + `}`
	if err := jsonDecodeInto(raw, &req); err != nil {
		t.Fatalf("bad ops JSON %s: %v", js, err)
	}
	return req.Operations
}

func TestApplyPatch(t *testing.T) {
	type tc struct {
		name  string
		group bool
		start string // "" for patchUserDoc / patchGroupDoc
		ops   string
		want  string
	}
	cases := []tc{
		// Okta.
		{name: "okta deactivate, no path", ops: `[{"op":"replace","value":{"active":false}}]`,
			want: patchUserWant(t, `"active":false`)},
		{name: "okta no-path group replace with id (ignored) and displayName", group: true,
			ops:  `[{"op":"replace","value":{"id":"g1","displayName":"Operators","schemas":["x"],"meta":{"version":"1"}}}]`,
			want: `{"id":"g1","displayName":"Operators","members":[{"value":"a","display":"A"},{"value":"b","display":"B"}]}`},
		{name: "okta no-path replace of several attributes",
			ops:  `[{"op":"replace","value":{"userName":"ann2","name":{"givenName":"Annie"}}}]`,
			want: patchUserWant(t, `"userName":"ann2","name":{"givenName":"Annie","familyName":"Lee"}`)},

		// Entra op names in any case, string booleans.
		{name: "entra Replace active False", ops: `[{"op":"Replace","path":"active","value":"False"}]`,
			want: patchUserWant(t, `"active":false`)},
		{name: "entra Replace active True on inactive user", start: patchUserWant(t, `"active":false`),
			ops: `[{"op":"Replace","path":"active","value":"True"}]`, want: patchUserDoc},
		{name: "entra Add displayName", ops: `[{"op":"Add","path":"displayName","value":"Ann Lee"}]`,
			want: patchUserWant(t, `"displayName":"Ann Lee"`)},
		{name: "op with spaces and upper case", ops: `[{"op":" REPLACE ","path":" nickName ","value":"annie"}]`,
			want: patchUserWant(t, `"nickName":"annie"`)},
		{name: "entra no-path with dotted and flattened extension keys",
			ops: `[{"op":"Replace","value":{"name.givenName":"Annie","` + entURN + `:department":"Sales","` + entURN + `:manager":"boss"}}]`,
			want: patchUserWant(t, `"name":{"givenName":"Annie","familyName":"Lee"},
				"`+entURN+`":{"department":"Sales","manager":{"value":"boss"}}`)},
		{name: "no-path with the extension URN holding an object",
			ops:  `[{"op":"add","value":{"` + entURN + `":{"department":"Sales","employeeNumber":"7","manager":{"value":"boss"}}}}]`,
			want: patchUserWant(t, `"`+entURN+`":{"department":"Sales","employeeNumber":"7","manager":{"value":"boss"}}`)},
		{name: "no-path extension object merges with what is there",
			start: patchUserWant(t, `"`+entURN+`":{"department":"R&D","costCenter":"C1"}`),
			ops:   `[{"op":"replace","value":{"` + entURN + `":{"department":"Sales"}}}]`,
			want:  patchUserWant(t, `"`+entURN+`":{"department":"Sales","costCenter":"C1"}`)},
		{name: "flattened manager.value path",
			ops:  `[{"op":"Add","path":"` + entURN + `:manager.value","value":"boss"}]`,
			want: patchUserWant(t, `"`+entURN+`":{"manager":{"value":"boss"}}`)},
		{name: "entra manager as bare string with a path",
			ops:  `[{"op":"Replace","path":"` + entURN + `:manager","value":"boss"}]`,
			want: patchUserWant(t, `"`+entURN+`":{"manager":{"value":"boss"}}`)},
		{name: "remove manager drops the empty extension",
			start: patchUserWant(t, `"`+entURN+`":{"manager":{"value":"boss"}}`),
			ops:   `[{"op":"Remove","path":"` + entURN + `:manager"}]`, want: patchUserDoc},
		{name: "remove the whole extension by URN",
			start: patchUserWant(t, `"`+entURN+`":{"department":"R&D"}`),
			ops:   `[{"op":"remove","path":"` + entURN + `"}]`, want: patchUserDoc},
		{name: "bare enterprise URN as path, like a no-path op on the extension",
			ops:  `[{"op":"replace","path":"` + entURN + `","value":{"department":"X"}}]`,
			want: patchUserWant(t, `"`+entURN+`":{"department":"X"}`)},
		{name: "bare enterprise URN as path with add merges",
			start: patchUserWant(t, `"`+entURN+`":{"costCenter":"C1"}`),
			ops:   `[{"op":"add","path":"` + entURN + `","value":{"department":"X","manager":"boss"}}]`,
			want:  patchUserWant(t, `"`+entURN+`":{"costCenter":"C1","department":"X","manager":{"value":"boss"}}`)},

		// Value paths.
		{name: "replace emails[type eq work].value when it exists",
			ops: `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@work.example"}]`,
			want: patchUserWant(t, `"emails":[{"value":"new@work.example","type":"work","primary":true},
				{"value":"ann@home.example","type":"home"}]`)},
		{name: "entra Add emails[type eq work].value when there is no work email",
			start: patchUserWant(t, `"emails":[{"value":"ann@home.example","type":"home"}]`),
			ops:   `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@work.example"}]`,
			want:  patchUserWant(t, `"emails":[{"value":"ann@home.example","type":"home"},{"type":"work","value":"new@work.example"}]`)},
		{name: "replace emails[type eq work].value on a user without emails",
			start: patchUserWant(t, ``, "emails"),
			ops:   `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@work.example"}]`,
			want:  patchUserWant(t, `"emails":[{"type":"work","value":"new@work.example"}]`)},
		{name: "filter values compare case-insensitively (type is not caseExact)",
			ops: `[{"op":"replace","path":"emails[type eq \"WORK\"].value","value":"new@work.example"}]`,
			want: patchUserWant(t, `"emails":[{"value":"new@work.example","type":"work","primary":true},
				{"value":"ann@home.example","type":"home"}]`)},
		{name: "replace emails[type eq home].primary moves the primary flag",
			ops: `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":"True"}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":false},
				{"value":"ann@home.example","type":"home","primary":true}]`)},
		{name: "remove emails[type eq work]",
			ops:  `[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@home.example","type":"home"}]`)},
		{name: "remove every email by filter drops the attribute",
			ops:  `[{"op":"remove","path":"emails[value pr]"}]`,
			want: patchUserWant(t, ``, "emails")},
		{name: "remove with a filter that matches nothing is a no-op",
			ops: `[{"op":"remove","path":"emails[type eq \"other\"]"}]`, want: patchUserDoc},
		{name: "replace addresses[type eq work].streetAddress when it exists",
			start: patchUserWant(t, `"addresses":[{"type":"work","locality":"Springfield","streetAddress":"1 Old St"}]`),
			ops:   `[{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"2 New St"}]`,
			want:  patchUserWant(t, `"addresses":[{"type":"work","locality":"Springfield","streetAddress":"2 New St"}]`)},
		{name: "entra Add addresses[type eq work].streetAddress when there is none",
			ops:  `[{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"2 New St"}]`,
			want: patchUserWant(t, `"addresses":[{"type":"work","streetAddress":"2 New St"}]`)},
		{name: "replace a filtered element with an object merges it",
			ops: `[{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"new@home.example","display":"Home"}}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":true},
				{"value":"new@home.example","type":"home","display":"Home"}]`)},

		// Multi-valued add.
		{name: "add emails appends",
			ops: `[{"op":"add","path":"emails","value":[{"value":"ann@other.example","type":"other"}]}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":true},
				{"value":"ann@home.example","type":"home"},{"value":"ann@other.example","type":"other"}]`)},
		{name: "add emails dedupes by value and type",
			ops: `[{"op":"add","path":"emails","value":[{"value":"ann@work.example","type":"work"},{"value":"ann@work.example","type":"home"}]}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":true},
				{"value":"ann@home.example","type":"home"},{"value":"ann@work.example","type":"home"}]`)},
		{name: "add a lone email object",
			ops: `[{"op":"add","path":"emails","value":{"value":"ann@other.example"}}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":true},
				{"value":"ann@home.example","type":"home"},{"value":"ann@other.example"}]`)},
		{name: "add a new primary email unsets the old primary",
			ops: `[{"op":"add","path":"emails","value":[{"value":"ann@new.example","type":"other","primary":true}]}]`,
			want: patchUserWant(t, `"emails":[{"value":"ann@work.example","type":"work","primary":false},
				{"value":"ann@home.example","type":"home"},{"value":"ann@new.example","type":"other","primary":true}]`)},
		{name: "replace emails with two primaries keeps the first",
			ops:  `[{"op":"replace","path":"emails","value":[{"value":"x@a","primary":true},{"value":"y@a","primary":true}]}]`,
			want: patchUserWant(t, `"emails":[{"value":"x@a","primary":true},{"value":"y@a","primary":false}]`)},

		// Complex single-valued.
		{name: "replace name merges sub-attributes (RFC 7644 3.5.2.3)",
			ops:  `[{"op":"replace","path":"name","value":{"givenName":"Annie","middleName":"M"}}]`,
			want: patchUserWant(t, `"name":{"givenName":"Annie","familyName":"Lee","middleName":"M"}`)},
		{name: "add name merges too",
			ops:  `[{"op":"add","path":"name","value":{"formatted":"Ann Lee"}}]`,
			want: patchUserWant(t, `"name":{"givenName":"Ann","familyName":"Lee","formatted":"Ann Lee"}`)},
		{name: "replace name.givenName", ops: `[{"op":"replace","path":"name.givenName","value":"Annie"}]`,
			want: patchUserWant(t, `"name":{"givenName":"Annie","familyName":"Lee"}`)},
		{name: "remove name.givenName", ops: `[{"op":"remove","path":"name.givenName"}]`,
			want: patchUserWant(t, `"name":{"familyName":"Lee"}`)},
		{name: "remove both names drops name",
			ops:  `[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"name.familyName"}]`,
			want: patchUserWant(t, ``, "name")},
		{name: "remove emails entirely", ops: `[{"op":"remove","path":"emails"}]`,
			want: patchUserWant(t, ``, "emails")},
		{name: "replace with null clears a simple attribute",
			ops: `[{"op":"replace","value":{"displayName":null,"nickName":"x"}}]`, want: patchUserWant(t, `"nickName":"x"`)},
		{name: "later operations see earlier ones",
			ops:  `[{"op":"add","path":"nickName","value":"a"},{"op":"replace","path":"nickName","value":"b"},{"op":"remove","path":"title"}]`,
			want: patchUserWant(t, `"nickName":"b"`)},

		// Groups.
		{name: "entra remove members with a value list", group: true,
			ops:  `[{"op":"Remove","path":"members","value":[{"value":"a"}]}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"b","display":"B"}]}`},
		{name: "remove every member with a value list drops members", group: true,
			ops:  `[{"op":"Remove","path":"members","value":[{"value":"a"},{"value":"b"},{"value":"zz"}]}]`,
			want: `{"id":"g1","displayName":"Admins"}`},
		{name: "okta remove members by filter", group: true,
			ops:  `[{"op":"remove","path":"members[value eq \"a\"]"}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"b","display":"B"}]}`},
		{name: "remove members without a value removes all", group: true,
			ops: `[{"op":"remove","path":"members"}]`, want: `{"id":"g1","displayName":"Admins"}`},
		{name: "add members dedupes", group: true,
			ops:  `[{"op":"add","path":"members","value":[{"value":"b"},{"value":"c","display":"C"},{"value":"c"}]}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"a","display":"A"},{"value":"b","display":"B"},{"value":"c","display":"C"}]}`},
		{name: "add members to a group without members", group: true, start: `{"id":"g1","displayName":"Admins"}`,
			ops:  `[{"op":"Add","path":"members","value":[{"value":"a"}]}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"a"}]}`},
		{name: "replace members with []", group: true,
			ops: `[{"op":"replace","path":"members","value":[]}]`, want: `{"id":"g1","displayName":"Admins"}`},
		{name: "replace members with a list", group: true,
			ops:  `[{"op":"replace","path":"members","value":[{"value":"z"}]}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"z"}]}`},
		{name: "okta no-path add of members", group: true,
			ops:  `[{"op":"add","value":{"members":[{"value":"c"}]}}]`,
			want: `{"id":"g1","displayName":"Admins","members":[{"value":"a","display":"A"},{"value":"b","display":"B"},{"value":"c"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, start := rtUser(), patchUserDoc
			if c.group {
				rt, start = rtGroup(), patchGroupDoc
			}
			if c.start != "" {
				start = c.start
			}
			in := jsonObj(t, start)
			before := canonJSON(t, in)
			got, err := rt.ApplyPatch(in, decodeOps(t, c.ops))
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			sameJSONAs(t, got, c.want)
			if after := canonJSON(t, in); after != before {
				t.Errorf("ApplyPatch changed its input:\nbefore %s\n after %s", before, after)
			}
		})
	}
}

// RFC 7644 3.5.2.3 (replace of a complex attribute: sub-attributes not given are left unchanged) with
// RFC 7643 2.5 (null means unassigned): a sub-attribute given as null is cleared, the others stay.
func TestApplyPatchReplaceComplexWithNullSubAttribute(t *testing.T) {
	rt := rtUser()
	start := patchUserWant(t, `"name":{"givenName":"Ann","familyName":"Lee","middleName":"M"}`)
	t.Run("only a null sub-attribute", func(t *testing.T) {
		got, err := rt.ApplyPatch(jsonObj(t, start), decodeOps(t, `[{"op":"replace","path":"name","value":{"middleName":null}}]`))
		if err != nil {
			t.Fatal(err)
		}
		sameJSONAs(t, got, patchUserWant(t, `"name":{"givenName":"Ann","familyName":"Lee"}`))
	})
	t.Run("a null sub-attribute next to a value", func(t *testing.T) {
		got, err := rt.ApplyPatch(jsonObj(t, start), decodeOps(t, `[{"op":"replace","path":"name","value":{"givenName":"Annie","middleName":null}}]`))
		if err != nil {
			t.Fatal(err)
		}
		sameJSONAs(t, got, patchUserWant(t, `"name":{"givenName":"Annie","familyName":"Lee"}`))
	})
}

func TestApplyPatchErrors(t *testing.T) {
	cases := []struct {
		name, ops, scimType string
		group               bool
		fragments           []string
	}{
		{name: "path id", ops: `[{"op":"replace","path":"id","value":"x"}]`, scimType: scim.TypeMutability, fragments: []string{`"id"`}},
		{name: "path meta.created", ops: `[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]`,
			scimType: scim.TypeMutability, fragments: []string{"meta.created"}},
		{name: "path meta", ops: `[{"op":"remove","path":"meta"}]`, scimType: scim.TypeMutability},
		{name: "path groups", ops: `[{"op":"add","path":"groups","value":[{"value":"g1"}]}]`, scimType: scim.TypeMutability, fragments: []string{"groups"}},
		{name: "no-path groups", ops: `[{"op":"add","value":{"groups":[{"value":"g1"}]}}]`, scimType: scim.TypeMutability},
		{name: "manager.displayName", ops: `[{"op":"replace","path":"` + entURN + `:manager.displayName","value":"x"}]`, scimType: scim.TypeMutability},
		{name: "unknown path", ops: `[{"op":"replace","path":"favoriteColor","value":"blue"}]`, scimType: scim.TypeInvalidPath, fragments: []string{"favoriteColor"}},
		{name: "unknown sub-attribute", ops: `[{"op":"replace","path":"name.nick","value":"x"}]`, scimType: scim.TypeInvalidPath},
		{name: "unknown extension", ops: `[{"op":"replace","path":"urn:acme:scim:1.0:User:x","value":"x"}]`, scimType: scim.TypeInvalidPath},
		{name: "unknown no-path key", ops: `[{"op":"replace","value":{"favoriteColor":"blue"}}]`, scimType: scim.TypeInvalidPath},
		{name: "unknown sub-attribute after a filter", ops: `[{"op":"replace","path":"emails[type eq \"work\"].bogus","value":"x"}]`, scimType: scim.TypeInvalidPath},
		{name: "filter on a single-valued attribute", ops: `[{"op":"replace","path":"name[givenName eq \"Ann\"]","value":{}}]`, scimType: scim.TypeInvalidPath},
		{name: "malformed path", ops: `[{"op":"replace","path":"emails[type eq \"work\"","value":"x"}]`, scimType: scim.TypeInvalidPath},
		{name: "op delete", ops: `[{"op":"delete","path":"nickName"}]`, scimType: scim.TypeInvalidSyntax, fragments: []string{`"delete"`}},
		{name: "op missing", ops: `[{"path":"nickName","value":"x"}]`, scimType: scim.TypeInvalidSyntax},
		{name: "remove without path", ops: `[{"op":"remove"}]`, scimType: scim.TypeNoTarget},
		{name: "entra Remove without path", ops: `[{"op":"Remove","value":{"nickName":"x"}}]`, scimType: scim.TypeNoTarget},
		{name: "empty Operations", ops: `[]`, scimType: scim.TypeInvalidValue},
		{name: "no-path with a non-object value", ops: `[{"op":"replace","value":"x"}]`, scimType: scim.TypeInvalidValue},
		{name: "bare URN path with a non-object value", ops: `[{"op":"replace","path":"` + entURN + `","value":"x"}]`, scimType: scim.TypeInvalidValue},
		{name: "active yes", ops: `[{"op":"replace","path":"active","value":"yes"}]`, scimType: scim.TypeInvalidValue, fragments: []string{"active"}},
		{name: "userName number", ops: `[{"op":"replace","value":{"userName":5}}]`, scimType: scim.TypeInvalidValue, fragments: []string{"userName"}},
		{name: "filter with no eq to create from", ops: `[{"op":"replace","path":"phoneNumbers[type ne \"work\"].value","value":"1"}]`, scimType: scim.TypeNoTarget},
		{name: "the failing op is numbered", ops: `[{"op":"replace","path":"nickName","value":"x"},{"op":"replace","path":"bogus","value":"x"}]`,
			scimType: scim.TypeInvalidPath, fragments: []string{"operation 2"}},
		{name: "group members value must be objects", group: true, ops: `[{"op":"add","path":"members","value":[5]}]`, scimType: scim.TypeInvalidValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, start := rtUser(), patchUserDoc
			if c.group {
				rt, start = rtGroup(), patchGroupDoc
			}
			in := jsonObj(t, start)
			before := canonJSON(t, in)
			got, err := rt.ApplyPatch(in, decodeOps(t, c.ops))
			if got != nil {
				t.Errorf("ApplyPatch returned %v with an error", got)
			}
			checkSCIMError(t, err, http.StatusBadRequest, c.scimType, c.fragments...)
			if after := canonJSON(t, in); after != before {
				t.Errorf("failing ApplyPatch changed its input:\nbefore %s\n after %s", before, after)
			}
		})
	}
}

// A failing later operation must leave nothing of the earlier ones, in the input or anywhere else, and a
// successful patch must not touch its input either: the store compares the old and new resources.
func TestApplyPatchDoesNotMutate(t *testing.T) {
	rt := rtUser()
	start := patchUserWant(t, `"`+entURN+`":{"department":"R&D","manager":{"value":"boss"}},
		"addresses":[{"type":"work","streetAddress":"1 Main"}]`)
	okOps := `[
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"x@y"},
		{"op":"add","path":"emails","value":[{"value":"n@y","primary":true}]},
		{"op":"remove","path":"emails[type eq \"home\"]"},
		{"op":"replace","path":"name","value":{"givenName":"Z"}},
		{"op":"remove","path":"name.familyName"},
		{"op":"replace","path":"` + entURN + `:manager.value","value":"other"},
		{"op":"replace","value":{"` + entURN + `":{"department":"Sales"}}},
		{"op":"remove","path":"addresses[type eq \"work\"].streetAddress"},
		{"op":"add","path":"addresses[type eq \"work\"].locality","value":"L"},
		{"op":"replace","path":"active","value":false}
	]`
	in := jsonObj(t, start)
	before := canonJSON(t, in)

	got, err := rt.ApplyPatch(in, decodeOps(t, okOps))
	if err != nil {
		t.Fatal(err)
	}
	if after := canonJSON(t, in); after != before {
		t.Errorf("successful ApplyPatch changed its input:\nbefore %s\n after %s", before, after)
	}
	sameJSONAs(t, got, `{"id":"u1","userName":"ann","active":false,"name":{"givenName":"Z"},
		"emails":[{"value":"x@y","type":"work","primary":false},{"value":"n@y","primary":true}],
		"addresses":[{"type":"work","locality":"L"}],
		"`+entURN+`":{"department":"Sales","manager":{"value":"other"}},
		"meta":{"resourceType":"User","created":"2024-01-01T00:00:00Z"}}`)

	// The result does not share maps or slices with the input.
	got["name"].(map[string]any)["givenName"] = "changed"
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	got[entURN].(map[string]any)["manager"].(map[string]any)["value"] = "changed"
	if after := canonJSON(t, in); after != before {
		t.Errorf("ApplyPatch's result shares data with its input:\nbefore %s\n after %s", before, after)
	}

	// Same operations, then a failing one: an error, nil, and the input unchanged.
	failOps := append(decodeOps(t, okOps), scim.PatchOperation{Op: "replace", Path: "id", Value: "x"})
	got, err = rt.ApplyPatch(in, failOps)
	checkSCIMError(t, err, http.StatusBadRequest, scim.TypeMutability, "operation 11")
	if got != nil {
		t.Errorf("failing ApplyPatch returned %v", got)
	}
	if after := canonJSON(t, in); after != before {
		t.Errorf("failing ApplyPatch changed its input:\nbefore %s\n after %s", before, after)
	}

	// The result does not share maps with the operations' values either.
	ops := decodeOps(t, `[{"op":"add","path":"emails","value":[{"value":"v@x","type":"work"}]},{"op":"replace","path":"name","value":{"givenName":"G"}}]`)
	got, err = rt.ApplyPatch(jsonObj(t, `{"userName":"u"}`), ops)
	if err != nil {
		t.Fatal(err)
	}
	ops[0].Value.([]any)[0].(map[string]any)["value"] = "changed"
	ops[1].Value.(map[string]any)["givenName"] = "changed"
	sameJSONAs(t, got, `{"userName":"u","emails":[{"value":"v@x","type":"work"}],"name":{"givenName":"G"}}`)
}
