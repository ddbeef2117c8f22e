package scim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/scim"
)

const (
	entUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	msQuirk = `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`
)

var filterCases = []struct{ in, want string }{
	// Every operator, in any case.
	{`userName eq "bjensen"`, `userName eq "bjensen"`},
	{`userName ne "bjensen"`, `userName ne "bjensen"`},
	{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
	{`userName sw "J"`, `userName sw "J"`},
	{`userName ew "sen"`, `userName ew "sen"`},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `meta.lastModified ge "2011-05-13T04:42:34Z"`},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `meta.lastModified lt "2011-05-13T04:42:34Z"`},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, `meta.lastModified le "2011-05-13T04:42:34Z"`},
	{`title pr`, `title pr`},
	{`title PR`, `title pr`},
	{`userName EQ "x"`, `userName eq "x"`},
	{`userName Eq "x"`, `userName eq "x"`},
	{`userName eq"x"`, `userName eq "x"`},

	// Literals.
	{`active eq true`, `active eq true`},
	{`active eq FALSE`, `active eq false`},
	{`manager eq Null`, `manager eq null`},
	{`age gt 42`, `age gt 42`},
	{`score le -1.5e3`, `score le -1.5e3`},
	{`externalId eq "42"`, `externalId eq "42"`},
	{`displayName eq "a\"b"`, `displayName eq "a\"b"`},
	{`displayName eq "a\\b"`, `displayName eq "a\\b"`},
	{`displayName eq "\u00e9t\u00E9"`, `displayName eq "été"`},
	{`displayName eq ""`, `displayName eq ""`},

	// Precedence: not > and > or, left-associative.
	{`a eq 1 or b eq 2 and c eq 3`, `(a eq 1 or (b eq 2 and c eq 3))`},
	{`a eq 1 and b eq 2 or c eq 3`, `((a eq 1 and b eq 2) or c eq 3)`},
	{`a pr or b pr or c pr`, `((a pr or b pr) or c pr)`},
	{`a pr and b pr and c pr`, `((a pr and b pr) and c pr)`},
	{`a pr AND b pr Or c pr`, `((a pr and b pr) or c pr)`},
	{`(a eq 1 or b eq 2) and c eq 3`, `((a eq 1 or b eq 2) and c eq 3)`},
	{`((a pr))`, `a pr`},
	{`not (a pr)`, `not (a pr)`},
	{`NOT(a pr)`, `not (a pr)`},
	{`not (a pr) and b pr`, `(not (a pr) and b pr)`},
	{`b pr or not (a pr or c pr)`, `(b pr or not ((a pr or c pr)))`},
	{`not (not (a pr))`, `not (not (a pr))`},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))`},

	// Value paths.
	{`emails[type eq "work"]`, `emails[type eq "work"]`},
	{`emails[type eq "work" and value co "@x"]`, `emails[(type eq "work" and value co "@x")]`},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`(userType eq "Employee" and emails[(type eq "work" and value co "@example.com")])`},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])`},
	{`emails[not (type eq "work")]`, `emails[not (type eq "work")]`},
	{`emails[(type eq "work")]`, `emails[type eq "work"]`},

	// URN-qualified paths.
	{entUser + `:employeeNumber eq "701984"`, entUser + `:employeeNumber eq "701984"`},
	{entUser + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`,
		entUser + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},

	// Quirk (a): a sub-attribute after the value filter.
	{`emails[type eq "work"].value eq "x"`, `emails[(type eq "work" and value eq "x")]`},
	{`emails[type eq "work"].value pr`, `emails[(type eq "work" and value pr)]`},
	{`emails[type eq "work"].value co "@x" and userName sw "a"`, `(emails[(type eq "work" and value co "@x")] and userName sw "a")`},

	// Quirk (b): unquoted values.
	{`name.FamilyName eq Employee`, `name.FamilyName eq "Employee"`},
	{`userName sw O`, `userName sw "O"`},
	{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`},
	{`emails.Value co example.com`, `emails.Value co "example.com"`},
	{msQuirk, `(name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org"))`},
	{`emails[value co example.com]`, `emails[value co "example.com"]`},

	// Quirk (c): whitespace anywhere between tokens.
	{"  userName   eq \t \"x\"  ", `userName eq "x"`},
	{`( a pr )and( b pr )`, `(a pr and b pr)`},
	{`emails [ type eq "work" ] . value eq "x"`, `emails[(type eq "work" and value eq "x")]`},
	{"not ( a pr )\n or\r\nb pr", `(not (a pr) or b pr)`},

	// What real IdPs send.
	{`userName eq "john@example.com"`, `userName eq "john@example.com"`},
	{`externalId eq "4b4b2d1d-6a53-4b8e-9c35-2e3c1a5e8f10"`, `externalId eq "4b4b2d1d-6a53-4b8e-9c35-2e3c1a5e8f10"`},
	{`userName eq "9c1b5c4e-2cd2-4b4b-8c8b-0c0b6b1c5e0e"`, `userName eq "9c1b5c4e-2cd2-4b4b-8c8b-0c0b6b1c5e0e"`},
	{`id eq "g1" and members[value eq "u1"]`, `(id eq "g1" and members[value eq "u1"])`},
	{`members.value eq "u1"`, `members.value eq "u1"`},
	{`displayName eq "Group 1"`, `displayName eq "Group 1"`},
	{`DisplayName eq "BobIsAmazing"`, `DisplayName eq "BobIsAmazing"`},
}

func TestParseFilter(t *testing.T) {
	for _, c := range filterCases {
		e, err := scim.ParseFilter(c.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("ParseFilter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseFilterTree(t *testing.T) {
	cases := []struct {
		in   string
		want scim.Expr
	}{
		{`emails[type eq "work"].value eq "x"`, &scim.ValuePathExpr{
			Attr: scim.AttrPath{Name: "emails"},
			Filter: &scim.LogicalExpr{And: true,
				Left:  &scim.CompareExpr{Attr: scim.AttrPath{Name: "type"}, Op: scim.OpEq, Value: "work"},
				Right: &scim.CompareExpr{Attr: scim.AttrPath{Name: "value"}, Op: scim.OpEq, Value: "x"},
			},
		}},
		{entUser + `:manager.value eq "m1"`, &scim.CompareExpr{
			Attr: scim.AttrPath{URN: entUser, Name: "manager", Sub: "value"}, Op: scim.OpEq, Value: "m1"}},
		{entUser + `:employeeNumber pr`, &scim.CompareExpr{Attr: scim.AttrPath{URN: entUser, Name: "employeeNumber"}, Op: scim.OpPr}},
		{`age ge 42`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "age"}, Op: scim.OpGe, Value: json.Number("42")}},
		{`nickName eq null`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "nickName"}, Op: scim.OpEq}},
		{`active eq True`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "active"}, Op: scim.OpEq, Value: true}},
		{`x eq "\n\t\u00e9\/"`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "x"}, Op: scim.OpEq, Value: "\n\té/"}},
		{`x eq "true"`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "x"}, Op: scim.OpEq, Value: "true"}},
		{`x eq 12abc`, &scim.CompareExpr{Attr: scim.AttrPath{Name: "x"}, Op: scim.OpEq, Value: "12abc"}},
	}
	for _, c := range cases {
		got, err := scim.ParseFilter(c.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", c.in, err)
		} else if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFilter(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

// wantErr checks that err is a 400 *scim.Error of the given type whose Detail contains detail.
func wantErr(t *testing.T, call, in string, err error, scimType, detail string) {
	t.Helper()
	var se *scim.Error
	switch {
	case err == nil:
		t.Errorf("%s(%q): no error, want %s", call, in, scimType)
	case !errors.As(err, &se):
		t.Errorf("%s(%q): %T %v, want *scim.Error", call, in, err, err)
	case se.Status != http.StatusBadRequest || se.ScimType != scimType:
		t.Errorf("%s(%q): %d %s, want 400 %s", call, in, se.Status, se.ScimType, scimType)
	case !strings.Contains(se.Detail, detail):
		t.Errorf("%s(%q): detail %q, want it to contain %q", call, in, se.Detail, detail)
	}
}

func TestParseFilterErrors(t *testing.T) {
	deep := strings.Repeat("(", 60) + "a pr" + strings.Repeat(")", 60)
	cases := []struct{ in, detail string }{
		{``, "empty filter"},
		{" \t ", "empty filter"},
		{`userName eq "abc`, "unterminated string starting at offset 12"},
		{`userName eq "abc\"`, "unterminated string"},
		{`userName eq`, "unexpected end of input at offset 11; expected a value"},
		{`userName eq )`, `unexpected ")" at offset 12; expected a value`},
		{`(userName eq) and a pr`, `unexpected ")" at offset 12; expected a value`},
		{`userName foo "x"`, `unexpected "foo" at offset 9; expected an operator`},
		{`userName`, `unexpected end of input at offset 8; expected an operator`},
		{`userName "x"`, `unexpected "\"x\"" at offset 9; expected an operator`},
		{`(userName pr`, `expected ")" to close the "(" at offset 0`},
		{`userName pr)`, `unexpected ")" at offset 11; expected "and", "or" or the end of the filter`},
		{`emails[type eq "work"`, `expected "]" to close the "[" at offset 6`},
		{`emails[type eq "work")`, `unexpected ")" at offset 21; expected "]"`},
		{`emails[type eq "work"]]`, `unexpected "]" at offset 22`},
		{`userName eq "x" foo`, `unexpected "foo" at offset 16; expected "and", "or" or the end of the filter`},
		{`userName eq "x" and`, `expected an attribute name, "not" or "("`},
		{`a eq 1 and ()`, `unexpected ")" at offset 12; expected an attribute name`},
		{`emails[type[value eq "x"] eq "y"]`, "nested value filter at offset 11"},
		{`emails[type eq "a" and x[y pr]]`, "nested value filter"},
		{`not userName pr`, `unexpected "userName" at offset 4; expected "(" after "not"`},
		{`userName eq "\x"`, "invalid string"},
		{"userName eq \"a\x01\"", "invalid string"},
		{`1abc eq 1`, `"1abc" is not a valid attribute name`},
		{`foo:bar eq 1`, "must be a schema URN"},
		{`a.b.c eq 1`, `"b.c" is not a valid sub-attribute name`},
		{`name.givenName[value eq 1]`, `follows sub-attribute "name.givenName"`},
		{`emails[value.x eq 1]`, "inside [...] name a sub-attribute"},
		{`emails[` + entUser + `:value eq 1]`, "inside [...] name a sub-attribute"},
		{`emails[type eq "work"].`, `expected a sub-attribute name after "]."`},
		{`emails[type eq "work"].value`, "expected an operator"},
		{`emails[]`, `unexpected "]" at offset 7; expected an attribute name`},
		{`a eq [`, "expected a value"},
		{deep, "nests deeper than 50 levels"},
		{strings.Repeat("not (", 60) + "a pr" + strings.Repeat(")", 60), "nests deeper than 50 levels"},
	}
	for _, c := range cases {
		_, err := scim.ParseFilter(c.in)
		wantErr(t, "ParseFilter", c.in, err, scim.TypeInvalidFilter, c.detail)
	}
	if _, err := scim.ParseFilter(strings.Repeat("(", 50) + "a pr" + strings.Repeat(")", 50)); err != nil {
		t.Errorf("50 levels of parentheses: %v", err)
	}
}

func TestParsePath(t *testing.T) {
	cases := []struct {
		in     string
		attr   scim.AttrPath
		filter string
		sub    string
	}{
		{"userName", scim.AttrPath{Name: "userName"}, "", ""},
		{"name.givenName", scim.AttrPath{Name: "name", Sub: "givenName"}, "", ""},
		{entUser + ":manager", scim.AttrPath{URN: entUser, Name: "manager"}, "", ""},
		{entUser + ":manager.value", scim.AttrPath{URN: entUser, Name: "manager", Sub: "value"}, "", ""},
		{`emails[type eq "work"]`, scim.AttrPath{Name: "emails"}, `type eq "work"`, ""},
		{`emails[type eq "work"].value`, scim.AttrPath{Name: "emails"}, `type eq "work"`, "value"},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, scim.AttrPath{Name: "members"},
			`value eq "2819c223-7f76-453a-919d-413861904646"`, ""},
		{`addresses[type eq "work"].streetAddress`, scim.AttrPath{Name: "addresses"}, `type eq "work"`, "streetAddress"},
		{` emails [ type eq "work" or primary eq true ] .value `, scim.AttrPath{Name: "emails"}, `(type eq "work" or primary eq true)`, "value"},
	}
	for _, c := range cases {
		p, err := scim.ParsePath(c.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", c.in, err)
			continue
		}
		filter := ""
		if p.Filter != nil {
			filter = p.Filter.String()
		}
		if p.Attr != c.attr || filter != c.filter || p.SubAttr != c.sub {
			t.Errorf("ParsePath(%q) = %+v %q %q, want %+v %q %q", c.in, p.Attr, filter, p.SubAttr, c.attr, c.filter, c.sub)
		}
	}

	for _, c := range []struct{ in, detail string }{
		{"", "empty path"},
		{`emails[type eq "work"`, `expected "]"`},
		{`emails[type eq "work"]x`, `unexpected "x" at offset 22; expected the end of the path`},
		{`emails[type eq "work"].value.display`, `expected a sub-attribute name`},
		{`name.givenName[type eq "work"]`, "follows sub-attribute"},
		{`userName eq "x"`, `unexpected "eq" at offset 9; expected the end of the path`},
		{`a.b.c`, "not a valid sub-attribute name"},
		{`emails[type[x pr] pr]`, "nested value filter"},
		{`[type eq "work"]`, "expected an attribute name"},
	} {
		_, err := scim.ParsePath(c.in)
		wantErr(t, "ParsePath", c.in, err, scim.TypeInvalidPath, c.detail)
	}
}

func TestParseAttrPath(t *testing.T) {
	cases := []struct {
		in   string
		want scim.AttrPath
	}{
		{"userName", scim.AttrPath{Name: "userName"}},
		{" name.givenName ", scim.AttrPath{Name: "name", Sub: "givenName"}},
		{entUser + ":employeeNumber", scim.AttrPath{URN: entUser, Name: "employeeNumber"}},
		{entUser + ":manager.value", scim.AttrPath{URN: entUser, Name: "manager", Sub: "value"}},
		{entUser, scim.AttrPath{URN: entUser}},
		{"urn:ietf:params:scim:schemas:core:2.0:Group", scim.AttrPath{URN: "urn:ietf:params:scim:schemas:core:2.0:Group"}},
		{`emails[type eq "work"]`, scim.AttrPath{Name: "emails"}},
		{`emails[type eq "work"].value`, scim.AttrPath{Name: "emails", Sub: "value"}},
	}
	for _, c := range cases {
		got, err := scim.ParseAttrPath(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAttrPath(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, detail string }{
		{"", "empty path"},
		{"1x", `attribute "1x": invalid attribute path`},
		{`emails[type eq`, "expected a value"},
		{"user name", `unexpected "name"`},
	} {
		_, err := scim.ParseAttrPath(c.in)
		wantErr(t, "ParseAttrPath", c.in, err, scim.TypeInvalidValue, c.detail)
	}
}

func TestParseAttrList(t *testing.T) {
	got, err := scim.ParseAttrList(` userName, name.givenName ,,emails[type eq "work" or value co ",\"]"],` + entUser + `:employeeNumber,`)
	want := []scim.AttrPath{{Name: "userName"}, {Name: "name", Sub: "givenName"}, {Name: "emails"}, {URN: entUser, Name: "employeeNumber"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAttrList = %+v, %v; want %+v", got, err, want)
	}
	if got, err := scim.ParseAttrList(" , "); err != nil || len(got) != 0 {
		t.Errorf("ParseAttrList(blank) = %+v, %v; want nothing", got, err)
	}
	_, err = scim.ParseAttrList("userName,1bad")
	wantErr(t, "ParseAttrList", "userName,1bad", err, scim.TypeInvalidValue, `attribute "1bad"`)
	_, err = scim.ParseAttrList(`emails[value eq "a\`)
	wantErr(t, "ParseAttrList", `emails[value eq "a\`, err, scim.TypeInvalidValue, "unterminated string")
}

func FuzzParseFilter(f *testing.F) {
	for _, c := range filterCases {
		f.Add(c.in)
	}
	f.Add(`emails[type eq "work"].value eq "x" or not (a pr) and b[c gt 1]`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := scim.ParseFilter(s)
		if err != nil {
			var se *scim.Error
			if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != scim.TypeInvalidFilter {
				t.Fatalf("ParseFilter(%q): error %#v, want a 400 invalidFilter *scim.Error", s, err)
			}
			return
		}
		out := e.String()
		// String does not escape control characters, and its added parentheses can exceed the depth
		// cap, so only the rest must round-trip.
		if !utf8.ValidString(out) || strings.ContainsFunc(out, func(r rune) bool { return r < ' ' }) ||
			strings.Count(out, "(")+strings.Count(out, "[") > 45 {
			return
		}
		e2, err := scim.ParseFilter(out)
		if err != nil {
			t.Fatalf("ParseFilter(%q) = %s, which does not parse: %v", s, out, err)
		}
		if out2 := e2.String(); out2 != out {
			t.Fatalf("ParseFilter(%q) = %s, which re-parses as %s", s, out, out2)
		}
	})
}
