package scim_test

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

func TestCheckJSONText(t *testing.T) {
	for _, c := range []struct {
		name, body string
		names      string // "" = accepted; else the detail must name it
	}{
		{"plain", `{"userName":"ann","emails":[{"value":"a@x"}]}`, ""},
		{"surrogate pair", `{"displayName":"\ud83d\ude00"}`, ""},
		{"raw emoji and U+FFFD", "{\"displayName\":\"😀 \ufffd\"}", ""},
		{"escaped quote and backslash", `{"displayName":"a\"b\\c\/d"}`, ""},
		{"newline in addresses.formatted", `{"addresses":[{"formatted":"a\nb\tc\r"}]}`, ""},
		{"not JSON at all", `{"userName":`, ""},
		{"0xff in userName", "{\"userName\":\"a\xffb\"}", `"userName"`},
		{"lone surrogate in a list", `{"emails":[{"value":"a"},{"value":"\ud800"}]}`, `"emails[1].value"`},
		{"lone low surrogate", `{"nickName":"\udfff"}`, `"nickName"`},
		{"two high surrogates", `{"nickName":"\ud800\ud800"}`, `"nickName"`},
		{"NUL", `{"name":{"givenName":"a\u0000"}}`, `"name.givenName"`},
		{"newline in displayName", `{"displayName":"a\nb"}`, `"displayName"`},
		{"extension attribute", `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"\u0007"}}`,
			`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"`},
		{"PATCH value named by its path", `{"Operations":[{"op":"add","path":"title","value":"\u0000"}]}`, `"title"`},
		{"PATCH value without a path", `{"Operations":[{"op":"add","value":{"title":"\u0000"}}]}`, `"Operations[0].value.title"`},
		{"NUL in a name", `{"user\u0000Name":"a"}`, "attribute name"},
	} {
		err := scim.CheckJSONText([]byte(c.body))
		switch {
		case c.names == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.names != "" && err == nil:
			t.Errorf("%s: accepted", c.name)
		case c.names != "":
			se := scim.AsError(err)
			if se.Status != 400 || se.ScimType != scim.TypeInvalidValue || !strings.Contains(se.Detail, c.names) {
				t.Errorf("%s: got %d %s %q, want 400 invalidValue naming %s", c.name, se.Status, se.ScimType, se.Detail, c.names)
			}
		}
	}
}

func TestCheckSchemas(t *testing.T) {
	users := scim.NewResourceType("User", "/Users", "", scim.UserSchemaDef(), scim.EnterpriseSchemaDef())
	core, ent, custom := scim.UserSchema, scim.EnterpriseSchema, "urn:example:custom:2.0:User"
	for _, c := range []struct {
		name    string
		schemas any // nil: no "schemas" key
		extra   string
		ok      bool
	}{
		{"core", []any{core}, "refuse", true},
		{"core and extension", []any{ent, core}, "refuse", true},
		{"case-insensitive", []any{strings.ToUpper(core)}, "refuse", true},
		{"custom ignored", []any{core, custom}, "ignore", true},
		{"custom refused", []any{core, custom}, "refuse", false},
		{"missing, lenient", nil, "ignore", true},
		{"missing, strict", nil, "refuse", false},
		{"a string", core, "ignore", false},
		{"only custom", []any{custom}, "ignore", false},
		{"group schema", []any{core, scim.GroupSchema}, "ignore", false},
		{"empty", []any{}, "ignore", false},
	} {
		raw := map[string]any{"userName": "a"}
		if c.schemas != nil {
			raw["schemas"] = c.schemas
		}
		if err := users.CheckSchemas(raw, c.extra); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok = %v", c.name, err, c.ok)
		}
	}
	if err := scim.CheckPatchSchemas([]string{scim.PatchOpURN}, "refuse"); err != nil {
		t.Error(err)
	}
	for _, s := range [][]string{nil, {core}, {scim.PatchOpURN, core}} {
		if scim.CheckPatchSchemas(s, "ignore") == nil {
			t.Errorf("PATCH schemas %v accepted", s)
		}
	}
}
