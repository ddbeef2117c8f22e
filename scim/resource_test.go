package scim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// entURN is the enterprise User extension; parse_test.go's entUser is the same text.
const entURN = scim.EnterpriseSchema

// rtUser is the User resource type with the enterprise extension, as the server builds it.
func rtUser() *scim.ResourceType {
	return scim.NewResourceType("User", "/Users", "User Account", scim.UserSchemaDef(), scim.EnterpriseSchemaDef())
}

func rtGroup() *scim.ResourceType {
	return scim.NewResourceType("Group", "/Groups", "Group", scim.GroupSchemaDef())
}

// jsonObj decodes a JSON object the way the server does (UseNumber).
func jsonObj(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return m
}

// jsonAny decodes any JSON value with UseNumber.
func jsonAny(t *testing.T, js string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return v
}

// jsonDecodeInto decodes s into v with UseNumber.
func jsonDecodeInto(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}

// canonJSON is the JSON text of v with sorted keys, for comparisons.
func canonJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

// sameJSONAs fails unless got has the JSON value of want (a JSON text).
func sameJSONAs(t *testing.T, got any, want string) {
	t.Helper()
	g, w := canonJSON(t, got), canonJSON(t, jsonAny(t, want))
	if !bytes.Equal([]byte(g), []byte(w)) {
		t.Errorf("\n got: %s\nwant: %s", g, w)
	}
}

// checkSCIMError fails unless err is a *scim.Error with the status, scimType (when not "") and a detail
// containing every fragment.
func checkSCIMError(t *testing.T, err error, status int, scimType string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %d %s", status, scimType)
	}
	var se *scim.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *scim.Error", err, err)
	}
	if se.Status != status || (scimType != "" && se.ScimType != scimType) {
		t.Errorf("error = %d %q (%s); want %d %q", se.Status, se.ScimType, se.Detail, status, scimType)
	}
	for _, f := range fragments {
		if !strings.Contains(se.Detail, f) {
			t.Errorf("error detail %q does not mention %q", se.Detail, f)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"case-insensitive names",
			`{"USERNAME":"ann","Name":{"GivenName":"Ann","FAMILYNAME":"Lee"},"DisplayName":"Ann Lee","EXTERNALID":"e1"}`,
			`{"userName":"ann","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","externalId":"e1"}`},
		{"schemas dropped",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann"}`,
			`{"userName":"ann"}`},
		{"extension object under its URN",
			`{"userName":"ann","` + entURN + `":{"department":"R&D","employeeNumber":"42"}}`,
			`{"userName":"ann","` + entURN + `":{"department":"R&D","employeeNumber":"42"}}`},
		{"extension object under its URN in another case, attribute names in any case",
			`{"userName":"ann","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:user":{"DEPARTMENT":"R&D","costcenter":"C1"}}`,
			`{"userName":"ann","` + entURN + `":{"department":"R&D","costCenter":"C1"}}`},
		{"flattened extension keys",
			`{"userName":"ann","` + entURN + `:department":"Sales","` + entURN + `:employeeNumber":"7"}`,
			`{"userName":"ann","` + entURN + `":{"department":"Sales","employeeNumber":"7"}}`},
		{"flattened key in another case",
			`{"userName":"ann","urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Department":"Sales"}`,
			`{"userName":"ann","` + entURN + `":{"department":"Sales"}}`},
		{"flattened key merges with the extension object",
			`{"userName":"ann","` + entURN + `":{"department":"R&D"},"` + entURN + `:costCenter":"C1"}`,
			`{"userName":"ann","` + entURN + `":{"department":"R&D","costCenter":"C1"}}`},
		{"unknown attributes, sub-attributes and extensions dropped",
			`{"userName":"ann","favoriteColor":"blue","name":{"givenName":"Ann","nick":"x"},
			  "urn:acme:scim:schemas:1.0:User":{"x":"y"},"urn:acme:scim:schemas:1.0:User:x":"y","` + entURN + `":{"shoeSize":"44"}}`,
			`{"userName":"ann","name":{"givenName":"Ann"}}`},
		{"readOnly id, meta and groups dropped",
			`{"id":"abc","userName":"ann","meta":{"resourceType":"User","created":"2020-01-01T00:00:00Z"},
			  "groups":[{"value":"g1","display":"Admins"}]}`,
			`{"userName":"ann"}`},
		{"nulls dropped",
			`{"userName":"ann","displayName":null,"name":{"givenName":null},"emails":[null,{"value":null}],
			  "phoneNumbers":null,"` + entURN + `":null,"` + entURN + `:department":null}`,
			`{"userName":"ann"}`},
		{"empty list dropped", `{"userName":"ann","emails":[]}`, `{"userName":"ann"}`},
		{"active string True", `{"userName":"ann","active":"True"}`, `{"userName":"ann","active":true}`},
		{"active string false", `{"userName":"ann","active":"false"}`, `{"userName":"ann","active":false}`},
		{"active string FALSE", `{"userName":"ann","active":"FALSE"}`, `{"userName":"ann","active":false}`},
		{"active boolean", `{"userName":"ann","active":false}`, `{"userName":"ann","active":false}`},
		{"manager as bare string in the extension object",
			`{"userName":"ann","` + entURN + `":{"manager":"boss-id"}}`,
			`{"userName":"ann","` + entURN + `":{"manager":{"value":"boss-id"}}}`},
		{"manager as bare string under a flattened key",
			`{"userName":"ann","` + entURN + `:manager":"boss-id"}`,
			`{"userName":"ann","` + entURN + `":{"manager":{"value":"boss-id"}}}`},
		{"manager as object",
			`{"userName":"ann","` + entURN + `":{"manager":{"value":"boss-id","$ref":"../Users/boss-id"}}}`,
			`{"userName":"ann","` + entURN + `":{"manager":{"value":"boss-id","$ref":"../Users/boss-id"}}}`},
		{"lone object for a multi-valued attribute wrapped",
			`{"userName":"ann","emails":{"value":"ann@example.com","type":"work"}}`,
			`{"userName":"ann","emails":[{"value":"ann@example.com","type":"work"}]}`},
		{"Microsoft capitalised sub-attribute keys (Primary, Type, Value)",
			`{"userName":"ann","emails":[{"Primary":true,"Type":"work","Value":"ann@example.com"}]}`,
			`{"userName":"ann","emails":[{"primary":true,"type":"work","value":"ann@example.com"}]}`},
		{"Entra string primary",
			`{"userName":"ann","emails":[{"primary":"True","value":"ann@example.com"}],"roles":[{"value":"r","primary":"false"}]}`,
			`{"userName":"ann","emails":[{"primary":true,"value":"ann@example.com"}],"roles":[{"value":"r","primary":false}]}`},
		{"password kept (writeOnly, not readOnly)",
			`{"userName":"ann","password":"s3cret"}`,
			`{"userName":"ann","password":"s3cret"}`},
		{"addresses", `{"userName":"ann","addresses":[{"type":"work","streetAddress":"1 Main St","Country":"US"}]}`,
			`{"userName":"ann","addresses":[{"type":"work","streetAddress":"1 Main St","country":"US"}]}`},
	}
	rt := rtUser()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := jsonObj(t, c.in)
			before := canonJSON(t, in)
			got, err := rt.Normalize(in)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			sameJSONAs(t, got, c.want)
			if after := canonJSON(t, in); after != before {
				t.Errorf("Normalize changed its input:\n%s\n%s", before, after)
			}
		})
	}
}

// A readOnly sub-attribute (manager.displayName, RFC 7643 section 4.3) must be ignored on input just like a
// readOnly attribute: RFC 7644 section 3.5.1 "readOnly: Any values provided SHALL be ignored".
func TestNormalizeDropsReadOnlySubAttribute(t *testing.T) {
	got, err := rtUser().Normalize(jsonObj(t, `{"userName":"ann","`+entURN+`":{"manager":{"value":"boss","displayName":"The Boss"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sameJSONAs(t, got, `{"userName":"ann","`+entURN+`":{"manager":{"value":"boss"}}}`)
}

func TestNormalizeErrors(t *testing.T) {
	cases := []struct {
		name, in, scimType string
		fragments          []string
	}{
		{"active yes", `{"userName":"ann","active":"yes"}`, scim.TypeInvalidValue, []string{`"active"`, "boolean"}},
		{"active number", `{"userName":"ann","active":1}`, scim.TypeInvalidValue, []string{`"active"`}},
		{"userName number", `{"userName":5}`, scim.TypeInvalidValue, []string{`"userName"`, "a number"}},
		{"userName array", `{"userName":["a"]}`, scim.TypeInvalidValue, []string{`"userName"`, "an array"}},
		{"userName object", `{"userName":{"value":"a"}}`, scim.TypeInvalidValue, []string{`"userName"`, "an object"}},
		{"name string", `{"userName":"a","name":"Ann Lee"}`, scim.TypeInvalidValue, []string{`"name"`, "object"}},
		{"name array", `{"userName":"a","name":[{"givenName":"Ann"}]}`, scim.TypeInvalidValue, []string{`"name"`}},
		{"givenName number", `{"userName":"a","name":{"givenName":3}}`, scim.TypeInvalidValue, []string{`"givenName"`}},
		{"emails number", `{"userName":"a","emails":[5]}`, scim.TypeInvalidValue, []string{`"emails"`}},
		{"email value boolean", `{"userName":"a","emails":[{"value":true}]}`, scim.TypeInvalidValue, []string{`"value"`}},
		{"primary yes", `{"userName":"a","emails":[{"value":"x","primary":"yes"}]}`, scim.TypeInvalidValue, []string{`"primary"`}},
		{"externalId boolean", `{"userName":"a","externalId":true}`, scim.TypeInvalidValue, []string{`"externalId"`}},
		{"extension attribute number", `{"userName":"a","` + entURN + `":{"department":12}}`, scim.TypeInvalidValue, []string{`"department"`}},
		{"flattened extension attribute number", `{"userName":"a","` + entURN + `:department":12}`, scim.TypeInvalidValue, []string{`"department"`}},
		{"manager number", `{"userName":"a","` + entURN + `":{"manager":12}}`, scim.TypeInvalidValue, []string{`"manager"`}},
		// Not the same scimType as the others, but a 400 naming the extension.
		{"extension not an object", `{"userName":"a","` + entURN + `":"x"}`, "", []string{entURN}},
	}
	rt := rtUser()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := rt.Normalize(jsonObj(t, c.in))
			if got != nil {
				t.Errorf("Normalize returned %v with an error", got)
			}
			checkSCIMError(t, err, http.StatusBadRequest, c.scimType, c.fragments...)
		})
	}
}

// One attribute named twice in different case is ambiguous and refused (both at the top level and in an
// extension object).
func TestNormalizeRejectsCaseTwins(t *testing.T) {
	rt := rtUser()
	for _, in := range []string{
		`{"userName":"a","USERNAME":"b"}`,
		`{"userName":"a","` + entURN + `":{"department":"x","Department":"y"}}`,
		`{"userName":"a","` + entURN + `":{"department":"x"},"` + strings.ToLower(entURN) + `":{"costCenter":"y"}}`,
	} {
		_, err := rt.Normalize(jsonObj(t, in))
		checkSCIMError(t, err, http.StatusBadRequest, scim.TypeInvalidSyntax, "same attribute")
	}
}

// The same ambiguity one level down: which of "givenName" and "GivenName" wins depends on Go's map order,
// so the stored name changes from one identical request to the next. Normalize refuses the top-level
// case (rejectCaseTwins) but not inside a complex value or a multi-valued element.
func TestNormalizeRejectsCaseTwinsInSubAttributes(t *testing.T) {
	rt := rtUser()
	for _, in := range []string{
		`{"userName":"a","name":{"givenName":"x","GivenName":"y"}}`,
		`{"userName":"a","emails":[{"value":"x@a","Value":"y@a"}]}`,
	} {
		_, err := rt.Normalize(jsonObj(t, in))
		if err == nil {
			t.Errorf("Normalize(%s) accepted an attribute named twice", in)
			continue
		}
		checkSCIMError(t, err, http.StatusBadRequest, scim.TypeInvalidSyntax, "same attribute")
	}
}

// A custom extension with integer, decimal and dateTime attributes (mapping.Compile builds these).
func TestNormalizeTypedExtension(t *testing.T) {
	const urn = "urn:acme:scim:schemas:1.0:User"
	ext := scim.Schema{ID: urn, Name: "Acme", Attributes: []scim.Attribute{
		{Name: "level", Type: scim.Integer, Mutability: "readWrite"},
		{Name: "ratio", Type: scim.Decimal, Mutability: "readWrite"},
		{Name: "hired", Type: scim.DateTime, Mutability: "readWrite"},
		{Name: "remote", Type: scim.Boolean, Mutability: "readWrite"},
	}}
	rt := scim.NewResourceType("User", "/Users", "User", scim.UserSchemaDef(), ext)
	got, err := rt.Normalize(jsonObj(t, `{"userName":"a","`+urn+`":{"LEVEL":3,"ratio":0.5,"hired":"2020-01-02T03:04:05Z","remote":"True"}}`))
	if err != nil {
		t.Fatal(err)
	}
	sameJSONAs(t, got, `{"userName":"a","`+urn+`":{"level":3,"ratio":0.5,"hired":"2020-01-02T03:04:05Z","remote":true}}`)

	for _, bad := range []string{
		`{"level":3.5}`, `{"level":"3"}`, `{"ratio":"0.5"}`, `{"hired":"2020-01-02"}`, `{"hired":12}`,
	} {
		_, err := rt.Normalize(jsonObj(t, `{"userName":"a","`+urn+`":`+bad+`}`))
		checkSCIMError(t, err, http.StatusBadRequest, scim.TypeInvalidValue)
	}
}

func TestValidate(t *testing.T) {
	rt := rtUser()
	for _, in := range []string{`{}`, `{"userName":""}`, `{"userName":"   "}`, `{"displayName":"Ann"}`} {
		t.Run(in, func(t *testing.T) {
			r, err := rt.Normalize(jsonObj(t, in))
			if err != nil {
				t.Fatal(err)
			}
			checkSCIMError(t, rt.Validate(r), http.StatusBadRequest, scim.TypeInvalidValue, `"userName"`)
		})
	}
	// userName null is dropped by Normalize, and then missing.
	r, err := rt.Normalize(jsonObj(t, `{"userName":null}`))
	if err != nil {
		t.Fatal(err)
	}
	checkSCIMError(t, rt.Validate(r), http.StatusBadRequest, scim.TypeInvalidValue, `"userName"`)

	if err := rt.Validate(jsonObj(t, `{"userName":"ann"}`)); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
	twoPrimaries := `{"userName":"ann","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}`
	checkSCIMError(t, rt.Validate(jsonObj(t, twoPrimaries)), http.StatusBadRequest, scim.TypeInvalidValue, "emails has 2 elements marked primary")
	onePrimary := `{"userName":"ann","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":false}]}`
	if err := rt.Validate(jsonObj(t, onePrimary)); err != nil {
		t.Errorf("Validate(one primary) = %v", err)
	}
	g := rtGroup()
	checkSCIMError(t, g.Validate(jsonObj(t, `{"members":[{"value":"a"}]}`)), http.StatusBadRequest, scim.TypeInvalidValue, `"displayName"`)
	if err := g.Validate(jsonObj(t, `{"displayName":"Admins"}`)); err != nil {
		t.Errorf("Validate(group) = %v", err)
	}
}

func TestResolve(t *testing.T) {
	rt := rtUser()
	cases := []struct {
		in   scim.AttrPath
		want string // "" for not found
	}{
		{scim.AttrPath{Name: "USERNAME"}, "userName"},
		{scim.AttrPath{Name: "Name", Sub: "GIVENNAME"}, "name.givenName"},
		{scim.AttrPath{Name: "emails", Sub: "Value"}, "emails.value"},
		{scim.AttrPath{Name: "id"}, "id"},
		{scim.AttrPath{Name: "Meta", Sub: "lastmodified"}, "meta.lastModified"},
		{scim.AttrPath{URN: scim.UserSchema, Name: "userName"}, "userName"},
		{scim.AttrPath{URN: strings.ToUpper(scim.UserSchema), Name: "userName"}, "userName"},
		{scim.AttrPath{URN: strings.ToLower(entURN), Name: "DEPARTMENT"}, entURN + ":department"},
		{scim.AttrPath{URN: entURN, Name: "manager", Sub: "value"}, entURN + ":manager.value"},
		{scim.AttrPath{Name: "department"}, ""},                       // extension attribute without its URN
		{scim.AttrPath{URN: entURN, Name: "userName"}, ""},            // core attribute under the extension
		{scim.AttrPath{URN: "urn:acme:x:User", Name: "userName"}, ""}, // unknown schema
		{scim.AttrPath{Name: "userName", Sub: "x"}, ""},               // sub-attribute of a simple attribute
		{scim.AttrPath{Name: "name", Sub: "nick"}, ""},
		{scim.AttrPath{Name: "bogus"}, ""},
	}
	for _, c := range cases {
		ref, ok := rt.Resolve(c.in)
		switch {
		case c.want == "" && ok:
			t.Errorf("Resolve(%s) = %s, want not found", c.in, ref.Path())
		case c.want != "" && !ok:
			t.Errorf("Resolve(%s) not found, want %s", c.in, c.want)
		case ok && ref.Path() != c.want:
			t.Errorf("Resolve(%s) = %s, want %s", c.in, ref.Path(), c.want)
		}
	}
}

func TestSplitURNKey(t *testing.T) {
	rt := rtUser()
	cases := []struct{ key, rest string }{
		{entURN + ":department", "department"},
		{strings.ToLower(entURN) + ":Department", "Department"},
		{entURN + ":manager.value", "manager.value"},
		{entURN, ""},
		{entURN + ":", ""},
		{entURN + "x:department", ""},
		{"department", ""},
		{scim.UserSchema + ":userName", ""},
	}
	for _, c := range cases {
		ext, rest, ok := rt.SplitURNKey(c.key)
		if ok != (c.rest != "") || rest != c.rest || (ok && ext.ID != entURN) {
			t.Errorf("SplitURNKey(%q) = %v, %q, %v; want rest %q", c.key, ext, rest, ok, c.rest)
		}
	}
}

func TestSchemaURNs(t *testing.T) {
	rt := rtUser()
	sameJSONAs(t, rt.SchemaURNs(jsonObj(t, `{"userName":"a"}`)), `["`+scim.UserSchema+`"]`)
	sameJSONAs(t, rt.SchemaURNs(jsonObj(t, `{"userName":"a","`+entURN+`":{"department":"x"}}`)),
		`["`+scim.UserSchema+`","`+entURN+`"]`)
}
