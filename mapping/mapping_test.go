package mapping_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

const ent = scim.EnterpriseSchema

// mainTOML maps most column kinds. active is held by a status code.
const mainTOML = `
table = "users"
key = "id"
match_existing_by = "email"
[scope]
is_user = 1
[columns]
email = "userName"
email_lower = { from = "userName", transform = "lower" }
first_name = "name.givenName"
last_name = "name.familyName"
display_name = { from = "displayName", default = "{name.givenName} {name.familyName}" }
status = { from = "active", map = { true = 1, false = [3, 2] } }
work_email = "emails[primary].value"
work_phone = 'phoneNumbers[type eq "work"].value'
dept = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
password_hash = { on_insert = "!scim" }
api_token = { on_insert = "uuid" }
created_at = { on_insert = "now" }
created_unix = { on_insert = "now_unix" }
updated_at = { on_write = "now" }
row_version = { on_write = 7 }
`

// tsTOML holds active as a deactivation timestamp.
const tsTOML = `
table = "users"
[columns]
email = "userName"
first_name = "name.givenName"
deactivated_at = { from = "active", when_true = "null", when_false = "now" }
updated_at = { on_write = "now" }
`

// msTOML holds active as epoch milliseconds, 0 while active.
const msTOML = `
table = "users"
[columns]
email = "userName"
disabled_ms = { from = "active", when_true = 0, when_false = "now_unix_ms" }
`

// boolTOML holds active in a plain TINYINT.
const boolTOML = `
table = "users"
[columns]
email = "userName"
is_active = "active"
`

var (
	fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	testEnv  = mapping.Env{Now: func() time.Time { return fixedNow }, NewUUID: func() string { return "uuid-1" }}
)

func compileTOML(t *testing.T, src string) *mapping.Users {
	t.Helper()
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(src, &cfg); err != nil {
		t.Fatalf("toml: %v", err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func res(t *testing.T, js string) scim.Resource {
	t.Helper()
	var r scim.Resource
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("bad JSON %s: %v", js, err)
	}
	return r
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantJSON(t *testing.T, got any, want string) {
	t.Helper()
	if g, w := asJSON(t, got), asJSON(t, res(t, want)); g != w {
		t.Errorf("\n got: %s\nwant: %s", g, w)
	}
}

// wantCols compares column maps with Go types (int64 vs string matters to the driver).
func wantCols(t *testing.T, got, want map[string]any) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("column %s missing, want %#v", k, w)
		case !wok:
			t.Errorf("column %s = %#v, should not be written", k, g)
		case !reflect.DeepEqual(g, w):
			t.Errorf("column %s = %#v (%T), want %#v (%T)", k, g, g, w, w)
		}
	}
}

func column(t *testing.T, m *mapping.Users, name string) *mapping.Column {
	t.Helper()
	for _, c := range m.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s", name)
	return nil
}

// --- Compile ---------------------------------------------------------------------------------------

// validBase is the smallest valid [users] section; extra lines are appended under [columns].
const validBase = `
table = "users"
on_delete = "delete"
[columns]
email = "userName"
`

func TestCompileValid(t *testing.T) {
	for name, src := range map[string]string{"main": mainTOML, "ts": tsTOML, "ms": msTOML, "bool": boolTOML, "base": validBase} {
		t.Run(name, func(t *testing.T) { compileTOML(t, src) })
	}
	m := compileTOML(t, mainTOML)
	if m.Key != "id" || m.KeyGen.Kind != "auto_increment" || m.OnExisting != "adopt" || m.OnDelete != "deactivate" {
		t.Errorf("defaults: key %q keygen %q on_existing %q on_delete %q", m.Key, m.KeyGen.Kind, m.OnExisting, m.OnDelete)
	}
	var names []string
	for _, c := range m.Columns {
		names = append(names, c.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("columns not sorted: %v", names)
	}
	// The plain copy is read back, not the lower-cased one; the status code is the column for active.
	for path, col := range map[string]string{"userName": "email", "USERNAME": "email", "active": "status",
		"name.givenName": "first_name", "displayName": "display_name", "emails.value": "work_email",
		"phoneNumbers.value": "work_phone", ent + ":department": "dept"} {
		if c := m.Column(path); c == nil || c.Name != col {
			t.Errorf("Column(%q) = %v, want %s", path, c, col)
		}
	}
	if c := m.Column("nickName"); c != nil {
		t.Errorf("Column(nickName) = %s", c.Name)
	}
	wantCols2 := []string{"id", "dept", "display_name", "email", "first_name", "last_name", "status", "work_email", "work_phone"}
	if got := m.ScimColumns(); !reflect.DeepEqual(got, wantCols2) {
		t.Errorf("ScimColumns = %v, want %v", got, wantCols2)
	}
	if c := column(t, m, "email_lower"); c.Plain() || c.Source() != "userName" {
		t.Errorf("email_lower: Plain %v Source %q", c.Plain(), c.Source())
	}
	if c := column(t, m, "created_at"); c.Source() != "" {
		t.Errorf("created_at Source = %q", c.Source())
	}
	if m.Type.Extension(ent) == nil {
		t.Error("enterprise extension missing")
	}
	// random key generation with a default alphabet
	m = compileTOML(t, "key_generation = { random_length = 26 }\n"+validBase)
	if m.KeyGen.Kind != "random" || m.KeyGen.Length != 26 || m.KeyGen.Alphabet == "" {
		t.Errorf("KeyGen = %+v", m.KeyGen)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // fragments of the error
	}{
		{"unknown attribute", validBase + `x = "favoriteColor"`, []string{"users.columns.x", `unknown SCIM attribute "favoriteColor"`}},
		{"unknown sub-attribute", validBase + `x = "name.nick"`, []string{"users.columns.x", "unknown SCIM attribute"}},
		{"unknown extension attribute", validBase + `x = "` + ent + `:shoeSize"`, []string{"unknown SCIM attribute"}},
		{"not a path", validBase + `x = "name..x"`, []string{"users.columns.x", "not an attribute path"}},
		{"column mapped twice, other case", validBase + `EMAIL = "name.givenName"`, []string{"mapped twice"}},
		{"column clashes with the key", validBase + `ID = "name.givenName"`, []string{"users.columns.ID", "mapped twice", "the key"}},
		{"column clashes with a custom key", "key = \"user_id\"\n" + validBase + `User_Id = "name.givenName"`, []string{"mapped twice", "the key"}},
		{"column clashes with the scope",
			"table = \"users\"\non_delete = \"delete\"\n[scope]\nis_user = 1\n[columns]\nemail = \"userName\"\nIS_USER = \"nickName\"",
			[]string{"users.columns.IS_USER", "mapped twice", "users.scope"}},
		{"transform on a non-string", validBase + `st = { from = "active", transform = "lower" }`, []string{"users.columns.st", `transform "lower" needs a string attribute`}},
		{"unknown transform", validBase + `x = { from = "nickName", transform = "title" }`, []string{`unknown transform "title"`}},
		{"when_true without when_false", validBase + `d = { from = "active", when_true = "null" }`, []string{"users.columns.d", "give both when_true and when_false"}},
		{"when_false without when_true", validBase + `d = { from = "active", when_false = "now" }`, []string{"give both"}},
		{"when_true with map", validBase + `d = { from = "active", when_true = 1, when_false = 0, map = { true = 1 } }`, []string{"no map"}},
		{"when_true on a string", validBase + `d = { from = "nickName", when_true = 1, when_false = 0 }`, []string{"need a boolean attribute"}},
		{"when_true equal to when_false", validBase + `d = { from = "active", when_true = 1, when_false = 1 }`, []string{"told apart"}},
		{"when_true and when_false both times", validBase + `d = { from = "active", when_true = "now", when_false = "now_unix" }`, []string{"told apart"}},
		{"map key not a boolean", validBase + `st = { from = "active", map = { yes = 1, false = 0 } }`, []string{"users.columns.st", `map key "yes" is not a valid boolean value`}},
		{"map key without a value", validBase + `st = { from = "active", map = { true = [] } }`, []string{`map key "true" has no column value`}},
		{"key_generation random too short", "key_generation = { random_length = 4 }\n" + validBase, []string{"random_length must be between 8 and 191, got 4"}},
		{"key_generation random too long", "key_generation = { random_length = 500 }\n" + validBase, []string{"got 500"}},
		{"key_generation random without length", "key_generation = \"random\"\n" + validBase, []string{"got 0"}},
		{"key_generation unknown", "key_generation = \"serial\"\n" + validBase, []string{`users.key_generation must be`, `"serial"`}},
		{"on_delete deactivate without active", "table = \"users\"\n[columns]\nemail = \"userName\"", []string{`on_delete = "deactivate" needs a column mapped from "active"`}},
		{"on_delete unknown", "table = \"users\"\non_delete = \"purge\"\n[columns]\nemail = \"userName\"", []string{`users.on_delete must be "deactivate" or "delete", got "purge"`}},
		{"multi-valued without a pick", validBase + `e2 = "emails.value"`, []string{"users.columns.e2", "holds more than one value", "emails[primary].value"}},
		{"multi-valued whole", validBase + `e2 = "emails"`, []string{"holds more than one value"}},
		{"complex whole", validBase + `n = "name"`, []string{"holds more than one value"}},
		{"filter without a sub-attribute", validBase + `e2 = "emails[primary]"`, []string{"must name a sub-attribute"}},
		{"filter with an unknown sub-attribute", validBase + `e2 = "emails[primary].bogus"`, []string{"no sub-attribute"}},
		{"password mapped", validBase + `pw = "password"`, []string{"users.columns.pw", "write-only"}},
		{"groups mapped", validBase + `g = "groups[primary].value"`, []string{"read-only"}},
		{"meta mapped", validBase + `m = "meta.created"`, []string{"read-only"}},
		{"id mapped", validBase + `scim_id = "id"`, []string{"belongs to scimbridge"}},
		{"on_insert with from", validBase + `c = { from = "nickName", on_insert = "now" }`, []string{"stand alone"}},
		{"on_insert and on_write", validBase + `c = { on_insert = "now", on_write = "now" }`, []string{"stand alone"}},
		{"on_insert array", validBase + `c = { on_insert = [1] }`, []string{"unsupported value"}},
		{"table without from", validBase + `c = { transform = "lower" }`, []string{"needs a SCIM attribute"}},
		{"bad default template", validBase + `c = { from = "displayName", default = "{bogus}" }`, []string{"default", "bogus"}},
		{"no userName column", "table = \"users\"\non_delete = \"delete\"\n[columns]\nfirst = \"name.givenName\"", []string{"no column holds userName"}},
		{"no table", "on_delete = \"delete\"\n[columns]\nemail = \"userName\"", []string{"users.table is required"}},
		{"on_existing unknown", "on_existing = \"merge\"\n" + validBase, []string{`users.on_existing must be "adopt" or "conflict", got "merge"`}},
		{"match_existing_by unmapped", "match_existing_by = \"mail\"\n" + validBase, []string{`users.match_existing_by: "mail" is not a mapped column`}},
		{"scope value an empty array", "table = \"users\"\non_delete = \"delete\"\n[scope]\nkind = []\n[columns]\nemail = \"userName\"", []string{"users.scope.kind needs at least one value"}},
		{"scope value a table", "table = \"users\"\non_delete = \"delete\"\n[scope]\nkind = [{ a = 1 }]\n[columns]\nemail = \"userName\"", []string{"users.scope.kind must be a string, number, boolean"}},
		{"extension urn", validBase + "[[extensions]]\nurn = \"acme:User\"\n", []string{"users.extensions[0]", "must start with"}},
		{"extension attribute type", validBase + "[[extensions]]\nurn = \"urn:acme:User\"\nattributes = { level = \"int\" }\n", []string{"users.extensions[0]", `attribute "level": type "int"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg mapping.UsersConfig
			if _, err := toml.Decode(c.src, &cfg); err != nil {
				t.Fatalf("toml: %v", err)
			}
			m, err := mapping.Compile(cfg)
			if err == nil {
				t.Fatalf("Compile succeeded; want an error with %q", c.want)
			}
			if m == nil {
				t.Error("Compile returned a nil mapping with its error")
			}
			for _, f := range c.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not contain %q", err, f)
				}
			}
		})
	}
}

func TestCompileReportsEveryError(t *testing.T) {
	src := `
key_generation = { random_length = 2 }
[columns]
email = "userName"
x = "favoriteColor"
EMAIL = "nickName"
st = { from = "active", transform = "lower" }
tr = { from = "nickName", transform = "title" }
d = { from = "active", when_true = "null" }
mp = { from = "active", map = { maybe = 1 } }
pw = "password"
e2 = "emails.value"
`
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(src, &cfg); err != nil {
		t.Fatal(err)
	}
	_, err := mapping.Compile(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	wants := []string{
		"users.table is required",
		"random_length must be between 8 and 191, got 2",
		`users.columns.x: unknown SCIM attribute "favoriteColor"`,
		"users.columns.email: column \"email\" is mapped twice (also by users.columns.EMAIL)",
		`users.columns.st: transform "lower" needs a string attribute`,
		`users.columns.tr: unknown transform "title"`,
		"users.columns.d: give both when_true and when_false",
		`users.columns.mp: map key "maybe" is not a valid boolean value`,
		"users.columns.pw:",
		"users.columns.e2:",
		`on_delete = "deactivate" needs a column mapped from "active"`,
		// EMAIL sorts before email, so EMAIL (nickName) takes the column and userName is left without one.
		"no column holds userName",
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not an errors.Join", err)
	}
	errs := joined.Unwrap()
	for _, w := range wants {
		n := 0
		for _, e := range errs {
			if strings.Contains(e.Error(), w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d errors mention %q; want 1\nall: %v", n, w, err)
		}
	}
	if len(errs) != len(wants) {
		t.Errorf("%d errors, want %d:\n%v", len(errs), len(wants), err)
	}
	// The same file gives the same message every time.
	for i := 0; i < 5; i++ {
		_, again := mapping.Compile(cfg)
		if again.Error() != err.Error() {
			t.Fatalf("Compile's error is not stable:\n%v\n%v", err, again)
		}
	}
}

func TestColumnTableDecodeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{validBase + `x = { fromm = "nickName" }`, `unknown key "fromm"`},
		{validBase + `x = { from = "nickName", tranform = "lower" }`, `unknown key "tranform"`},
		{validBase + `x = { from = 5 }`, `"from" has the wrong type`},
		{validBase + `x = { from = "nickName", map = 1 }`, `"map" has the wrong type`},
		{validBase + `x = 5`, "must be a SCIM attribute name or a table"},
		{"key_generation = { random_length = 26, size = 3 }\n" + validBase, `unknown key "size"`},
		{"key_generation = { random_length = \"26\" }\n" + validBase, "random_length must be a number"},
		{"key_generation = 5\n" + validBase, "key_generation must be a string or a table"},
	}
	for _, c := range cases {
		var cfg mapping.UsersConfig
		_, err := toml.Decode(c.src, &cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("toml.Decode(%q) = %v, want an error with %q", c.src, err, c.want)
		}
	}
}

// A value map on an integer (or decimal) attribute of a custom extension: TOML keys are strings, and
// scim.NormalizeValue only accepts a json.Number for an integer, so no key is ever valid.
func TestCompileMapOnIntegerAttribute(t *testing.T) {
	src := validBase + `lvl = { from = "urn:acme:scim:User:level", map = { 1 = "junior", 2 = "senior" } }
[[extensions]]
urn = "urn:acme:scim:User"
attributes = { level = "integer" }
`
	m := compileTOML(t, src)
	cols, err := m.InsertColumns(res(t, `{"userName":"a","urn:acme:scim:User":{"level":2}}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cols["lvl"] != "senior" {
		t.Errorf("lvl = %#v, want senior", cols["lvl"])
	}
	if got := column(t, m, "lvl").ToSCIM([]byte("junior")); asJSON(t, got) != "1" {
		t.Errorf("ToSCIM(junior) = %#v, want 1", got)
	}
}

// --- writes ----------------------------------------------------------------------------------------

func TestInsertColumns(t *testing.T) {
	m := compileTOML(t, mainTOML)
	base := map[string]any{
		"is_user": int64(1), "password_hash": "!scim", "api_token": "uuid-1", "created_at": fixedNow.UTC(),
		"created_unix": fixedNow.Unix(), "updated_at": fixedNow.UTC(), "row_version": int64(7),
	}
	with := func(kv map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name, in string
		want     map[string]any
	}{
		{"full user",
			`{"userName":"Ann@Example.COM","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Dr Ann","active":true,
			  "emails":[{"value":"home@x","type":"home"},{"value":"work@x","type":"work","primary":true}],
			  "phoneNumbers":[{"value":"555","type":"work"}],"` + ent + `":{"department":"R&D"}}`,
			with(map[string]any{"email": "Ann@Example.COM", "email_lower": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
				"display_name": "Dr Ann", "status": int64(1), "work_email": "work@x", "work_phone": "555", "dept": "R&D"})},
		{"template when displayName is absent; active absent counts as true; first email when none is primary",
			`{"userName":"ann","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"a@x"},{"value":"b@x"}]}`,
			with(map[string]any{"email": "ann", "email_lower": "ann", "first_name": "Ann", "last_name": "Lee",
				"display_name": "Ann Lee", "status": int64(1), "work_email": "a@x", "work_phone": nil, "dept": nil})},
		{"template with one part",
			`{"userName":"ann","name":{"familyName":"Lee"}}`,
			with(map[string]any{"email": "ann", "email_lower": "ann", "first_name": nil, "last_name": "Lee",
				"display_name": "Lee", "status": int64(1), "work_email": nil, "work_phone": nil, "dept": nil})},
		{"template nil when every part is empty; inactive writes the first code",
			`{"userName":"ann","name":{"givenName":""},"active":false}`,
			with(map[string]any{"email": "ann", "email_lower": "ann", "first_name": "", "last_name": nil,
				"display_name": nil, "status": int64(3), "work_email": nil, "work_phone": nil, "dept": nil})},
		{"no work phone when only a mobile",
			`{"userName":"ann","phoneNumbers":[{"value":"1","type":"mobile"}]}`,
			with(map[string]any{"email": "ann", "email_lower": "ann", "first_name": nil, "last_name": nil,
				"display_name": nil, "status": int64(1), "work_email": nil, "work_phone": nil, "dept": nil})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := res(t, c.in)
			before := asJSON(t, in)
			got, err := m.InsertColumns(in, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			for col, v := range c.want {
				if v == nil {
					delete(c.want, col) // an absent attribute is left out: the column gets its own default
				}
			}
			wantCols(t, got, c.want)
			if asJSON(t, in) != before {
				t.Error("InsertColumns changed the resource")
			}
		})
	}
}

func TestInsertColumnsBooleanCases(t *testing.T) {
	ts := compileTOML(t, tsTOML)
	ms := compileTOML(t, msTOML)
	cases := []struct {
		m    *mapping.Users
		in   string
		col  string
		want any
	}{
		{ts, `{"userName":"a","active":true}`, "deactivated_at", nil},
		{ts, `{"userName":"a"}`, "deactivated_at", nil},
		{ts, `{"userName":"a","active":false}`, "deactivated_at", fixedNow.UTC()},
		{ms, `{"userName":"a","active":true}`, "disabled_ms", int64(0)},
		{ms, `{"userName":"a"}`, "disabled_ms", int64(0)},
		{ms, `{"userName":"a","active":false}`, "disabled_ms", fixedNow.UnixMilli()},
	}
	for _, c := range cases {
		got, err := c.m.InsertColumns(res(t, c.in), testEnv)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[c.col]; !ok || !reflect.DeepEqual(v, c.want) {
			t.Errorf("%s: %s = %#v (present %v), want %#v", c.in, c.col, v, ok, c.want)
		}
	}
	// The time is written in UTC.
	got, _ := ts.InsertColumns(res(t, `{"userName":"a","active":false}`), testEnv)
	if tm, _ := got["deactivated_at"].(time.Time); tm.Location() != time.UTC {
		t.Errorf("deactivated_at location %v, want UTC", tm.Location())
	}
}

func TestInsertColumnsUnmappedCode(t *testing.T) {
	m := compileTOML(t, validBase+`status = { from = "active", map = { false = 0 } }`)
	_, err := m.InsertColumns(res(t, `{"userName":"a","active":true}`), testEnv)
	var se *scim.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != scim.TypeInvalidValue || !strings.Contains(se.Detail, "status") {
		t.Errorf("err = %v, want 400 invalidValue naming the column", err)
	}
}

func TestUpdateColumns(t *testing.T) {
	m := compileTOML(t, mainTOML)
	old := `{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","active":true,
		"emails":[{"value":"w@x","primary":true}]}`
	cases := []struct {
		name, old, new string
		want           map[string]any
	}{
		{"nothing changed writes nothing, not even on_write", old, old, map[string]any{}},
		{"a change to an unmapped attribute writes nothing", old,
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","active":true,
			  "emails":[{"value":"w@x","primary":true}],"nickName":"annie","title":"Dr"}`, map[string]any{}},
		{"changed column plus on_write; a displayName equal to the template's rendering is the IdP's word, kept", old,
			`{"userName":"Ann@x","name":{"givenName":"Annie","familyName":"Lee"},"displayName":"Ann Lee","active":true,
			  "emails":[{"value":"w@x","primary":true}]}`,
			map[string]any{"first_name": "Annie", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"a displayName of its own is not re-rendered",
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Dr Ann"}`,
			`{"userName":"Ann@x","name":{"givenName":"Annie","familyName":"Lee"},"displayName":"Dr Ann"}`,
			map[string]any{"first_name": "Annie", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"an explicit new displayName wins over the template",
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee"}`,
			`{"userName":"Ann@x","name":{"givenName":"Annie","familyName":"Lee"},"displayName":"A. Lee"}`,
			map[string]any{"first_name": "Annie", "display_name": "A. Lee", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"no displayName before: the template is rendered",
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"}}`,
			`{"userName":"Ann@x","name":{"givenName":"Annie","familyName":"Lee"}}`,
			map[string]any{"first_name": "Annie", "display_name": "Annie Lee", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"case change of userName writes the plain copy only", old,
			`{"userName":"ANN@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","active":true,
			  "emails":[{"value":"w@x","primary":true}]}`,
			map[string]any{"email": "ANN@x", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"deactivation", old,
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","active":false,
			  "emails":[{"value":"w@x","primary":true}]}`,
			map[string]any{"status": int64(3), "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"removing an attribute writes the column's default (NULL when it has none)", old,
			`{"userName":"Ann@x","name":{"givenName":"Ann"},"displayName":"Ann Lee","active":true,"emails":[{"value":"w@x","primary":true}]}`,
			map[string]any{"last_name": mapping.ColumnDefault, "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"removing displayName renders the template", old,
			`{"userName":"Ann@x","name":{"givenName":"Ann"},"active":true,"emails":[{"value":"w@x","primary":true}]}`,
			map[string]any{"last_name": mapping.ColumnDefault, "display_name": "Ann", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"active absent on both sides, unrelated change: no status", `{"userName":"a"}`, `{"userName":"b"}`,
			map[string]any{"email": "b", "email_lower": "b", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"new primary email", old,
			`{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee"},"displayName":"Ann Lee","active":true,
			  "emails":[{"value":"w@x","primary":false},{"value":"n@x","primary":true}]}`,
			map[string]any{"work_email": "n@x", "updated_at": fixedNow.UTC(), "row_version": int64(7)}},
		{"active absent on both sides is no change", `{"userName":"a"}`, `{"userName":"a"}`, map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old, new := res(t, c.old), res(t, c.new)
			before := asJSON(t, old) + asJSON(t, new)
			got, err := m.UpdateColumns(old, new, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			wantCols(t, got, c.want)
			if asJSON(t, old)+asJSON(t, new) != before {
				t.Error("UpdateColumns changed a resource")
			}
		})
	}
}

// The re-rendering of a template column compares the displayName case-insensitively (sameScalar), so a
// client that only fixes the case of a displayName equal to the rendering ("Ann Mcdonald" -> "Ann McDonald")
// is silently ignored: the column keeps the old text and GET answers the old displayName. RFC 7644 3.5.2.3:
// replace sets the value given.
func TestUpdateColumnsDisplayNameCaseChange(t *testing.T) {
	m := compileTOML(t, mainTOML)
	old := res(t, `{"userName":"a","name":{"givenName":"Ann","familyName":"Mcdonald"},"displayName":"Ann Mcdonald"}`)
	new := res(t, `{"userName":"a","name":{"givenName":"Ann","familyName":"Mcdonald"},"displayName":"Ann McDonald"}`)
	got, err := m.UpdateColumns(old, new, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got["display_name"] != "Ann McDonald" {
		t.Errorf("UpdateColumns = %#v; want display_name \"Ann McDonald\"", got)
	}
}

func TestUpdateColumnsDeactivationTimestamp(t *testing.T) {
	m := compileTOML(t, tsTOML)
	now := map[string]any{"updated_at": fixedNow.UTC()}
	cases := []struct {
		name, old, new string
		want           map[string]any
	}{
		{"active to inactive sets the timestamp", `{"userName":"a","active":true}`, `{"userName":"a","active":false}`,
			map[string]any{"deactivated_at": fixedNow.UTC(), "updated_at": fixedNow.UTC()}},
		{"inactive to active clears it", `{"userName":"a","active":false}`, `{"userName":"a","active":true}`,
			map[string]any{"deactivated_at": nil, "updated_at": fixedNow.UTC()}},
		{"staying inactive does not rewrite it", `{"userName":"a","active":false,"name":{"givenName":"A"}}`,
			`{"userName":"a","active":false,"name":{"givenName":"B"}}`, map[string]any{"first_name": "B", "updated_at": now["updated_at"]}},
		{"staying inactive with nothing else: nothing", `{"userName":"a","active":false}`, `{"userName":"a","active":false}`, map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := m.UpdateColumns(res(t, c.old), res(t, c.new), testEnv)
			if err != nil {
				t.Fatal(err)
			}
			wantCols(t, got, c.want)
		})
	}
	ms := compileTOML(t, msTOML)
	got, err := ms.UpdateColumns(res(t, `{"userName":"a","active":false}`), res(t, `{"userName":"b","active":false}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantCols(t, got, map[string]any{"email": "b"})
}

// A row whose status code the map does not know reads back as inactive (Overlay fails closed). When the
// IdP then sets active to true, the row must be written.
func TestUpdateColumnsExplicitActiveOverUnknownCode(t *testing.T) {
	m := compileTOML(t, mainTOML)
	old := m.Overlay(scim.Resource{}, map[string]any{"email": "a", "status": int64(9)}, nil)
	if old["active"] != false {
		t.Fatalf("unknown code read as active = %#v, want false", old["active"])
	}
	got, err := m.UpdateColumns(old, res(t, `{"userName":"a","active":true}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got["status"] != int64(1) {
		t.Errorf("UpdateColumns = %#v; want status 1 written", got)
	}
}

func TestAdoptColumns(t *testing.T) {
	m := compileTOML(t, mainTOML)
	onWrite := map[string]any{"updated_at": fixedNow.UTC(), "row_version": int64(7)}
	with := func(kv map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range onWrite {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name, in string
		want     map[string]any
	}{
		{"present attributes and on_write only; active absent counts as true",
			`{"userName":"Ann@x","name":{"familyName":"Lee"},"displayName":"Ann"}`,
			with(map[string]any{"email": "Ann@x", "email_lower": "ann@x", "last_name": "Lee", "display_name": "Ann", "status": int64(1)})},
		{"template fills display_name when name is given",
			`{"userName":"a","name":{"givenName":"Ann"},"active":false}`,
			with(map[string]any{"email": "a", "email_lower": "a", "first_name": "Ann", "display_name": "Ann", "status": int64(3)})},
		{"list pick and extension",
			`{"userName":"a","active":true,"emails":[{"value":"w@x"}],"` + ent + `":{"department":"D"}}`,
			with(map[string]any{"email": "a", "email_lower": "a", "status": int64(1), "work_email": "w@x", "dept": "D"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := m.AdoptColumns(res(t, c.in), testEnv)
			if err != nil {
				t.Fatal(err)
			}
			wantCols(t, got, c.want)
		})
	}

	ts := compileTOML(t, tsTOML)
	got, err := ts.AdoptColumns(res(t, `{"userName":"a","active":true}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantCols(t, got, map[string]any{"email": "a", "deactivated_at": nil, "updated_at": fixedNow.UTC()})
	got, err = ts.AdoptColumns(res(t, `{"userName":"a","active":false}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantCols(t, got, map[string]any{"email": "a", "deactivated_at": fixedNow.UTC(), "updated_at": fixedNow.UTC()})
}

// AdoptColumns' contract: "Columns whose attribute is absent keep what the app has." A default template
// whose parts are all absent renders nothing, so the app's display_name must be left alone, not set NULL
// (regression).
func TestAdoptColumnsKeepsColumnWhenTemplateRendersNothing(t *testing.T) {
	m := compileTOML(t, mainTOML)
	got, err := m.AdoptColumns(res(t, `{"userName":"a","active":true}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["display_name"]; ok {
		t.Errorf("AdoptColumns writes display_name = %#v for a user without displayName or name; it must not be written", v)
	}
}

// --- reads -----------------------------------------------------------------------------------------

func TestToSCIM(t *testing.T) {
	main := compileTOML(t, mainTOML)
	ts := compileTOML(t, tsTOML)
	ms := compileTOML(t, msTOML)
	bl := compileTOML(t, boolTOML)
	status, deact, disabled, isActive := column(t, main, "status"), column(t, ts, "deactivated_at"),
		column(t, ms, "disabled_ms"), column(t, bl, "is_active")
	cases := []struct {
		name string
		c    *mapping.Column
		db   any
		want any
	}{
		{"status 1", status, int64(1), true},
		{"status 2", status, int64(2), false},
		{"status 3", status, int64(3), false},
		{"status 3 as []byte", status, []byte("3"), false},
		{"status 1 as string", status, "1", true},
		{"status unknown code", status, int64(9), false},
		{"status unknown code -1", status, int64(-1), false},
		{"status unknown code as []byte", status, []byte("4"), false},
		{"status NULL", status, nil, false},
		{"timestamp NULL", deact, nil, true},
		{"timestamp set", deact, fixedNow, false},
		{"timestamp set as []byte", deact, []byte("2024-01-01 00:00:00"), false},
		{"epoch 0", disabled, int64(0), true},
		{"epoch 0 as []byte", disabled, []byte("0"), true},
		{"epoch ms", disabled, int64(1700000000000), false},
		{"tinyint 1", isActive, int64(1), true},
		{"tinyint 0", isActive, int64(0), false},
		{"tinyint []byte 0", isActive, []byte("0"), false},
		{"tinyint []byte 1", isActive, []byte("1"), true},
		{"tinyint NULL", isActive, nil, false},
		{"string column []byte", column(t, main, "email"), []byte("ann@x"), "ann@x"},
		{"string column time", column(t, main, "email"), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z"},
	}
	for _, c := range cases {
		if got := c.c.ToSCIM(c.db); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ToSCIM(%#v) = %#v, want %#v", c.name, c.db, got, c.want)
		}
	}
}

// `scimbridge check` accepts a BIT column for a boolean (adapters/mysql/check.go isNumber lists "bit"), and
// go-sql-driver/mysql returns BIT(1) as the raw byte: []byte{0} or []byte{1}. A 0 bit must read as false.
func TestToSCIMBitColumn(t *testing.T) {
	c := column(t, compileTOML(t, boolTOML), "is_active")
	if got := c.ToSCIM([]byte{0}); got != false {
		t.Errorf("ToSCIM(BIT 0) = %#v, want false", got)
	}
	if got := c.ToSCIM([]byte{1}); got != true {
		t.Errorf("ToSCIM(BIT 1) = %#v, want true", got)
	}
}

func TestOverlay(t *testing.T) {
	m := compileTOML(t, mainTOML)
	cases := []struct {
		name, doc string
		row       map[string]any
		want      string
	}{
		{"columns over the doc; primary email value replaced in place",
			`{"nickName":"n","emails":[{"value":"old@x","type":"work"},{"value":"p@x","type":"home","primary":true}]}`,
			map[string]any{"email": []byte("ann"), "email_lower": "ignored", "first_name": "Ann", "last_name": nil,
				"display_name": "Ann L", "status": int64(2), "work_email": []byte("new@x"), "work_phone": nil, "dept": "D"},
			`{"nickName":"n","userName":"ann","name":{"givenName":"Ann"},"displayName":"Ann L","active":false,
			  "emails":[{"value":"old@x","type":"work"},{"value":"new@x","type":"home","primary":true}],
			  "` + ent + `":{"department":"D"}}`},
		{"first email when none is primary",
			`{"emails":[{"value":"old@x","type":"work"},{"value":"h@x","type":"home"}]}`,
			map[string]any{"email": "ann", "status": int64(1), "work_email": "new@x"},
			`{"userName":"ann","active":true,"emails":[{"value":"new@x","type":"work"},{"value":"h@x","type":"home"}]}`},
		{"creates a primary email when there is none; work phone created with its type",
			`{}`,
			map[string]any{"email": "ann", "status": int64(1), "work_email": "w@x", "work_phone": "555"},
			`{"userName":"ann","active":true,"emails":[{"primary":true,"value":"w@x"}],"phoneNumbers":[{"type":"work","value":"555"}]}`},
		{"work phone added next to a mobile",
			`{"phoneNumbers":[{"type":"mobile","value":"1"}]}`,
			map[string]any{"email": "ann", "status": int64(1), "work_phone": "555"},
			`{"userName":"ann","active":true,"phoneNumbers":[{"type":"mobile","value":"1"},{"type":"work","value":"555"}]}`},
		{"NULL list pick keeps the list; unknown code reads as inactive; NULL columns drop attributes",
			`{"emails":[{"value":"e@x"}],"active":true,"name":{"givenName":"Old","middleName":"M"},"` + ent + `":{"department":"Old","costCenter":"C"}}`,
			map[string]any{"email": "ann", "status": int64(7), "work_email": nil, "first_name": nil, "dept": nil},
			`{"userName":"ann","active":false,"emails":[{"value":"e@x"}],"name":{"middleName":"M"},"` + ent + `":{"costCenter":"C"}}`},
		{"NULL extension column drops the empty extension",
			`{"` + ent + `":{"department":"Old"}}`,
			map[string]any{"email": "ann", "status": int64(1)},
			`{"userName":"ann","active":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantJSON(t, m.Overlay(res(t, c.doc), c.row, nil), c.want)
		})
	}
	ts := compileTOML(t, tsTOML)
	wantJSON(t, ts.Overlay(scim.Resource{}, map[string]any{"email": "a", "deactivated_at": nil}, nil), `{"userName":"a","active":true}`)
	wantJSON(t, ts.Overlay(scim.Resource{}, map[string]any{"email": "a", "deactivated_at": fixedNow}, nil), `{"userName":"a","active":false}`)
	bl := compileTOML(t, boolTOML)
	wantJSON(t, bl.Overlay(scim.Resource{}, map[string]any{"email": "a", "is_active": int64(0)}, nil), `{"userName":"a","active":false}`)
	wantJSON(t, bl.Overlay(scim.Resource{}, map[string]any{"email": "a", "is_active": []byte("1")}, nil), `{"userName":"a","active":true}`)
}

// What Strip leaves, overlaid with the columns written for the same resource, is the resource again.
func TestStripThenOverlayRoundTrip(t *testing.T) {
	m := compileTOML(t, mainTOML)
	full := `{"userName":"Ann@x","name":{"givenName":"Ann","familyName":"Lee","middleName":"M"},"displayName":"Ann Lee",
		"active":false,"nickName":"n","emails":[{"value":"w@x","type":"work","primary":true},{"value":"h@x","type":"home"}],
		"phoneNumbers":[{"value":"555","type":"work"}],"` + ent + `":{"department":"R&D","employeeNumber":"7"}}`
	stripped := m.Strip(res(t, full))
	wantJSON(t, stripped, `{"name":{"middleName":"M"},"nickName":"n",
		"emails":[{"value":"w@x","type":"work","primary":true},{"value":"h@x","type":"home"}],
		"phoneNumbers":[{"value":"555","type":"work"}],"`+ent+`":{"employeeNumber":"7"}}`)

	cols, err := m.InsertColumns(res(t, full), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]any{}
	for k, v := range cols {
		if s, ok := v.(string); ok {
			v = []byte(s) // as the driver returns text columns
		}
		row[k] = v
	}
	wantJSON(t, m.Overlay(stripped, row, nil), full)

	// Strip of a resource holding only column attributes leaves nothing.
	wantJSON(t, m.Strip(res(t, `{"userName":"a","active":true,"name":{"givenName":"A"},"`+ent+`":{"department":"D"}}`)), `{}`)
}

func TestExtractString(t *testing.T) {
	m := compileTOML(t, mainTOML)
	r := res(t, `{"userName":"Ann@Example.COM","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"W@x","primary":true}]}`)
	cases := []struct {
		col, want string
		ok        bool
	}{
		{"email", "Ann@Example.COM", true},
		{"EMAIL", "Ann@Example.COM", true},
		// The value the column holds, transformed: adoption compares it with the column in SQL.
		{"email_lower", "ann@example.com", true},
		{"work_email", "W@x", true},
		{"display_name", "Ann Lee", true},
		{"last_name", "Lee", true},
		{"dept", "", false},       // absent
		{"status", "", false},     // not a string
		{"created_at", "", false}, // no SCIM attribute
		{"id", "", false},         // the key
		{"nope", "", false},
	}
	for _, c := range cases {
		got, ok := m.ExtractString(r, c.col)
		if got != c.want || ok != c.ok {
			t.Errorf("ExtractString(%s) = %q, %v; want %q, %v", c.col, got, ok, c.want, c.ok)
		}
	}
	if s, ok := m.ExtractString(res(t, `{"userName":""}`), "email"); ok {
		t.Errorf("ExtractString(empty userName) = %q, true", s)
	}
}

func TestEqualValues(t *testing.T) {
	main := compileTOML(t, mainTOML)
	ts := compileTOML(t, tsTOML)
	ms := compileTOML(t, msTOML)
	status, deact, disabled := column(t, main, "status"), column(t, ts, "deactivated_at"), column(t, ms, "disabled_ms")

	check := func(name string, c *mapping.Column, v any, wantVals []any, wantNull bool) {
		t.Helper()
		vals, isNull, err := c.EqualValues(v)
		if err != nil || isNull != wantNull || !reflect.DeepEqual(vals, wantVals) {
			t.Errorf("%s: EqualValues(%#v) = %#v, %v, %v; want %#v, %v", name, v, vals, isNull, err, wantVals, wantNull)
		}
	}
	negation := func(name string, c *mapping.Column, v any, wantOther any) {
		t.Helper()
		vals, isNull, err := c.EqualValues(v)
		other, ok := mapping.IsNegation(err)
		if !ok || vals != nil || isNull || !reflect.DeepEqual(other, wantOther) {
			t.Errorf("%s: EqualValues(%#v) = %#v, %v, %v (negation %v of %#v); want negation of %#v", name, v, vals, isNull, err, ok, other, wantOther)
		}
	}
	check("coded true", status, true, []any{int64(1)}, false)
	check("coded false", status, false, []any{int64(3), int64(2)}, false)
	check("coded unknown", status, "maybe", nil, false)
	check("timestamp true", deact, true, nil, true)
	negation("timestamp false", deact, false, nil)
	check("epoch true", disabled, true, []any{int64(0)}, false)
	negation("epoch false", disabled, false, int64(0))
	check("plain", column(t, main, "email"), "Ann@X", []any{"Ann@X"}, false)
	check("lower", column(t, main, "email_lower"), "Ann@X", []any{"ann@x"}, false)
	check("plain number", column(t, main, "email"), json.Number("5"), []any{json.Number("5")}, false)

	_, _, err := deact.EqualValues("yes")
	var se *scim.Error
	if !errors.As(err, &se) || se.ScimType != scim.TypeInvalidFilter {
		t.Errorf("EqualValues(yes) on a boolean case column = %v, want 400 invalidFilter", err)
	}
	if _, ok := mapping.IsNegation(err); ok {
		t.Error("a filter error is not a negation")
	}
	if _, ok := mapping.IsNegation(fmt.Errorf("x")); ok {
		t.Error("IsNegation(plain error)")
	}
}

func TestNeed(t *testing.T) {
	main := compileTOML(t, mainTOML)
	cases := []struct {
		m         *mapping.Users
		col, want string
	}{
		{main, "email", "text"},
		{main, "email_lower", "text"},
		{main, "status", "number"},
		{main, "password_hash", "text"},
		{main, "api_token", "text"},
		{main, "created_at", "time"},
		{main, "created_unix", "unix"},
		{main, "updated_at", "time"},
		{main, "row_version", "number"},
		{compileTOML(t, tsTOML), "deactivated_at", "time"},
		{compileTOML(t, msTOML), "disabled_ms", "unix_ms"},
		{compileTOML(t, boolTOML), "is_active", "boolean"},
		{compileTOML(t, validBase+`flag = { on_insert = true }`), "flag", "any"},
		{compileTOML(t, validBase+`st = { from = "active", map = { true = "A", false = "I" } }`), "st", "text"},
		{compileTOML(t, validBase+`d = { from = "active", when_true = "now", when_false = "null" }`), "d", "time"},
		{compileTOML(t, validBase+`d = { from = "active", when_true = 1, when_false = 0 }`), "d", "number"},
		{compileTOML(t, validBase+`lvl = "urn:acme:User:level"
[[extensions]]
urn = "urn:acme:User"
attributes = { level = "integer", hired = "dateTime" }`), "lvl", "number"},
	}
	for _, c := range cases {
		if got := column(t, c.m, c.col).Need(); got != c.want {
			t.Errorf("%s.Need() = %q, want %q", c.col, got, c.want)
		}
	}
}

// when_true = "now" / when_false = "null": a set timestamp means active.
func TestWhenTrueNow(t *testing.T) {
	m := compileTOML(t, validBase+`activated_at = { from = "active", when_true = "now", when_false = "null" }`)
	c := column(t, m, "activated_at")
	if c.ToSCIM(nil) != false || c.ToSCIM(fixedNow) != true {
		t.Errorf("ToSCIM(nil) = %v, ToSCIM(time) = %v", c.ToSCIM(nil), c.ToSCIM(fixedNow))
	}
	cols, _ := m.InsertColumns(res(t, `{"userName":"a"}`), testEnv)
	if cols["activated_at"] != fixedNow.UTC() {
		t.Errorf("insert activated_at = %#v", cols["activated_at"])
	}
	negOther, neg := mapping.IsNegation(func() error { _, _, err := c.EqualValues(true); return err }())
	if !neg || negOther != nil {
		t.Errorf("active eq true: negation %v of %#v; want IS NOT NULL", neg, negOther)
	}
	if _, isNull, err := c.EqualValues(false); !isNull || err != nil {
		t.Errorf("active eq false: isNull %v err %v", isNull, err)
	}
}
