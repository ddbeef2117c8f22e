package mapping_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// reachTOML uses every placement outside the users table's columns.
const reachTOML = `
table = "users"
key = "id"
[columns]
email = "userName"
first_name = "name.givenName"
status = { from = "active", map = { true = 1, false = 3 } }

[[lists]]
attribute = "emails"
table = "user_emails"
foreign_key = "user_id"
scope = { channel = "email" }
columns = { address = "value", is_default = "primary", kind = { from = "type", map = { work = "W", home = "H" } }, added_at = { on_insert = "now" } }

[[tables]]
table = "user_profiles"
foreign_key = "user_id"
columns = { title = "title", dept = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", created_at = { on_insert = "now" } }

[[keyvalue]]
table = "meta"
foreign_key = "user_id"
key_column = "k"
value_column = "v"
keys = { first_name = "name.givenName", nick = "nickName", vip = { from = "urn:acme:User:vip", map = { true = "1", false = "0" } } }

[[extensions]]
urn = "urn:acme:User"
attributes = { vip = "boolean", level = "integer" }

[json.profile]
"$.locale" = "locale"
"$.org.costCenter" = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"
"$.level" = "urn:acme:User:level"
`

func TestCompileReachErrors(t *testing.T) {
	for name, c := range map[string]struct{ extra, want string }{
		"table without foreign key":  {"[[tables]]\ntable = \"p\"\ncolumns = { t = \"title\" }", "users.tables[0]: table and foreign_key are required"},
		"table twice":                {"[[tables]]\ntable = \"p\"\nforeign_key = \"u\"\ncolumns = { t = \"title\" }\n[[tables]]\ntable = \"P\"\nforeign_key = \"u\"\ncolumns = { n = \"nickName\" }", "listed twice"},
		"table of constants":         {"[[tables]]\ntable = \"p\"\nforeign_key = \"u\"\ncolumns = { t = { on_insert = 1 } }", "maps no SCIM attribute"},
		"table maps its foreign key": {"[[tables]]\ntable = \"p\"\nforeign_key = \"u\"\ncolumns = { u = \"title\" }", `column "u" is mapped twice`},
		"list of a single value":     {"[[lists]]\nattribute = \"title\"\ntable = \"l\"\nforeign_key = \"u\"\ncolumns = { v = \"value\" }", "not a multi-valued complex attribute"},
		"list of groups":             {"[[lists]]\nattribute = \"groups\"\ntable = \"l\"\nforeign_key = \"u\"\ncolumns = { v = \"value\" }", "read-only"},
		"list unknown sub-attribute": {"[[lists]]\nattribute = \"emails\"\ntable = \"l\"\nforeign_key = \"u\"\ncolumns = { v = \"address\" }", `unknown SCIM attribute "address"`},
		"list twice":                 {"[[lists]]\nattribute = \"emails\"\ntable = \"l\"\nforeign_key = \"u\"\ncolumns = { v = \"value\" }\n[[lists]]\nattribute = \"Emails\"\ntable = \"m\"\nforeign_key = \"u\"\ncolumns = { v = \"value\" }", "already kept by another list"},
		"list scope not scalar":      {"[[lists]]\nattribute = \"emails\"\ntable = \"l\"\nforeign_key = \"u\"\nscope = { c = [1] }\ncolumns = { v = \"value\" }", "scope.c must be"},
		"key-value incomplete":       {"[[keyvalue]]\ntable = \"kv\"\nforeign_key = \"u\"\nkeys = { a = \"title\" }", "key_column and value_column are required"},
		"key-value constant":         {"[[keyvalue]]\ntable = \"kv\"\nforeign_key = \"u\"\nkey_column = \"k\"\nvalue_column = \"v\"\nkeys = { a = { on_insert = \"x\" } }", "only on_insert constants"},
		"key-value on_write":         {"[[keyvalue]]\ntable = \"kv\"\nforeign_key = \"u\"\nkey_column = \"k\"\nvalue_column = \"v\"\nkeys = { a = \"title\", b = { on_write = \"now\" } }", "on_write is for columns"},
		"json bad path":              {"[json.doc]\n\"title\" = \"title\"", `"title" is not a JSON member path`},
		"json path in a value":       {"[json.doc]\n\"$.a\" = \"title\"\n\"$.a.b\" = \"nickName\"", `"$.a.b" is inside "$.a"`},
		"json column mapped twice":   {"[json.first_name]\n\"$.a\" = \"title\"", `column "first_name" is mapped twice`},
	} {
		t.Run(name, func(t *testing.T) {
			src := "table = \"users\"\non_delete = \"delete\"\n" + c.extra + "\n[columns]\nemail = \"userName\"\nfirst_name = \"name.givenName\"\n"
			var cfg mapping.UsersConfig
			if _, err := toml.Decode(src, &cfg); err != nil {
				t.Fatalf("toml: %v", err)
			}
			_, err := mapping.Compile(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	m := compileTOML(t, reachTOML)
	for path, want := range map[string]string{
		"userName":                   "column email",
		"name.givenName":             "column first_name", // the users table wins over the key-value copy
		"emails":                     "list user_emails",
		"title":                      "table user_profiles.title",
		ent + ":department":          "table user_profiles.dept",
		"nickName":                   "keyvalue meta.nick",
		"locale":                     "json profile $.locale",
		ent + ":costCenter":          "json profile $.org.costCenter",
		"displayName":                "none",
		"urn:acme:User:vip":          "keyvalue meta.vip",
		"phoneNumbers":               "none",
		"name.familyName":            "none",
		ent + ":manager.displayName": "none",
	} {
		p, err := scim.ParseAttrPath(path)
		if err != nil {
			t.Fatal(err)
		}
		ref, ok := m.Type.Resolve(p)
		if !ok {
			t.Fatalf("%s does not resolve", path)
		}
		got := "none"
		if place, ok := m.Locate(ref); ok {
			switch {
			case place.List != nil:
				got = "list " + place.List.Table
			case place.Table != nil:
				got = "table " + place.Table.Name + "." + place.Column.Name
			case place.KV != nil:
				got = "keyvalue " + place.KV.Table + "." + place.Column.Name
			case place.JSON != nil:
				got = "json " + place.JSON.Column + " " + place.Column.Name
			default:
				got = "column " + place.Column.Name
			}
		}
		if got != want {
			t.Errorf("Locate(%s) = %s, want %s", path, got, want)
		}
	}
}

const fullUser = `{"userName":"a@x","name":{"givenName":"Ann"},"nickName":"annie","title":"CTO","locale":"de",
	"emails":[{"value":"a@x","type":"work","primary":true},{"value":"a@home","type":"home"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","costCenter":"42"},
	"urn:acme:User":{"vip":true,"level":3}}`

// opsText renders ops in a stable, readable form for comparison.
func opsText(t *testing.T, ops []mapping.Op) []string {
	t.Helper()
	var out []string
	for _, op := range ops {
		kind := map[mapping.OpKind]string{mapping.Insert: "insert", mapping.Update: "update", mapping.Delete: "delete"}[op.Kind]
		set, _ := json.Marshal(op.Set)
		where, _ := json.Marshal(op.Where)
		s := kind + " " + op.Table
		if op.Set != nil {
			s += " set " + string(set)
		}
		if op.Where != nil {
			s += " where " + string(where)
		}
		if op.One {
			s += " one"
		}
		out = append(out, s)
	}
	return out
}

func wantOps(t *testing.T, got []mapping.Op, want ...string) {
	t.Helper()
	g := opsText(t, got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("ops:\n got: %s\nwant: %s", strings.Join(g, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestSideOpsCreate(t *testing.T) {
	m := compileTOML(t, reachTOML)
	r := res(t, fullUser)
	cols, err := m.InsertColumns(r, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cols["profile"]; got != `{"level":3,"locale":"de","org":{"costCenter":"42"}}` {
		t.Errorf("profile on insert = %v", got)
	}
	ops, err := m.SideOps(int64(7), nil, m.NewRowSide(cols), r, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	// The JSON document went in with the row: no statement for it.
	wantOps(t, ops,
		`insert user_profiles set {"created_at":"2026-03-04T04:06:07Z","dept":"R\u0026D","title":"CTO","user_id":7}`,
		`insert user_emails set {"added_at":"2026-03-04T04:06:07Z","address":"a@x","channel":"email","is_default":true,"kind":"W","user_id":7}`,
		`insert user_emails set {"added_at":"2026-03-04T04:06:07Z","address":"a@home","channel":"email","is_default":false,"kind":"H","user_id":7}`,
		`insert meta set {"k":"first_name","user_id":7,"v":"Ann"}`,
		`insert meta set {"k":"nick","user_id":7,"v":"annie"}`,
		`insert meta set {"k":"vip","user_id":7,"v":"1"}`,
	)
}

func TestSideOpsNothingToCreate(t *testing.T) {
	m := compileTOML(t, reachTOML)
	r := res(t, `{"userName":"b@x"}`)
	cols, err := m.InsertColumns(r, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := m.SideOps(int64(8), nil, m.NewRowSide(cols), r, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, ops) // no empty profile row, no list rows, no keys
	if cols["profile"] != "{}" {
		t.Errorf("profile = %v, want {}", cols["profile"])
	}
}

// stored is what the database holds for fullUser, plus the app's own data.
func stored(m *mapping.Users) *mapping.Side {
	side := m.NewSide()
	side.Tables[0] = map[string]any{"title": []byte("CTO"), "dept": []byte("R&D"), "created_at": nil}
	side.Lists[0] = []map[string]any{
		{"address": []byte("a@home"), "is_default": int64(0), "kind": []byte("H"), "added_at": nil},
		{"address": []byte("a@x"), "is_default": int64(1), "kind": []byte("W"), "added_at": nil},
	}
	side.Ours[0] = map[string]bool{mapping.RowKey("a@home"): true, mapping.RowKey("A@X"): true} // both scimbridge's
	side.KV[0] = map[string]any{"first_name": []byte("Ann"), "nick": []byte("annie"), "vip": []byte("1")}
	side.Docs[0] = []byte(`{"app":{"theme":"dark"},"level":3,"locale":"de","org":{"costCenter":"42","floor":2}}`)
	return side
}

func TestSideOverlayReadsEveryPlacement(t *testing.T) {
	m := compileTOML(t, reachTOML)
	got := m.Overlay(scim.Resource{}, map[string]any{"email": "a@x", "first_name": "Ann", "status": int64(1)}, stored(m))
	wantJSON(t, got, `{"userName":"a@x","active":true,"name":{"givenName":"Ann"},"nickName":"annie","title":"CTO","locale":"de",
		"emails":[{"value":"a@x","type":"work","primary":true},{"value":"a@home","type":"home"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","costCenter":"42"},
		"urn:acme:User":{"vip":true,"level":3}}`)

	// Strip leaves nothing the tables hold in scimbridge's own document.
	wantJSON(t, m.Strip(res(t, fullUser)), `{}`)
}

func TestSideOpsUnchanged(t *testing.T) {
	m := compileTOML(t, reachTOML)
	old := res(t, fullUser)
	next := res(t, fullUser)
	next["emails"] = []any{next["emails"].([]any)[1], next["emails"].([]any)[0]} // order does not matter
	ops, err := m.SideOps(int64(7), old, stored(m), next, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, ops)
}

func TestSideOpsUpdate(t *testing.T) {
	m := compileTOML(t, reachTOML)
	next := res(t, `{"userName":"a@x","name":{"givenName":"Ann"},"title":"CEO",
		"emails":[{"value":"A@X","type":"home"},{"value":"new@x","type":"work","primary":true}],
		"urn:acme:User":{"vip":false,"level":4},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"43"}}`)
	ops, err := m.SideOps(int64(7), res(t, fullUser), stored(m), next, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, ops,
		// The profile row exists: title changes, the department is cleared; created_at is not rewritten.
		`update user_profiles set {"dept":"DEFAULT","title":"CEO"} where {"user_id":7}`,
		// a@home is gone; a@x (case aside) stays the same row, now a home address and not primary.
		`delete user_emails where {"address":"a@home","channel":"email","is_default":0,"kind":"H","user_id":7} one`,
		`update user_emails set {"address":"A@X","is_default":false,"kind":"H"} where {"address":"a@x","channel":"email","is_default":1,"kind":"W","user_id":7} one`,
		`insert user_emails set {"added_at":"2026-03-04T04:06:07Z","address":"new@x","channel":"email","is_default":true,"kind":"W","user_id":7}`,
		`delete meta where {"k":"nick","user_id":7}`,
		`update meta set {"v":"0"} where {"k":"vip","user_id":7}`,
		// Only the mapped members change; the app's "app" object and org.floor stay.
		`update users set {"profile":"{\"app\":{\"theme\":\"dark\"},\"level\":4,\"org\":{\"costCenter\":\"43\",\"floor\":2}}"} where {"id":7}`,
	)
}

func TestSideOpsAdoptWritesOnlyWhatIsSent(t *testing.T) {
	m := compileTOML(t, reachTOML)
	side := stored(m)
	side.Tables[0] = nil // the app has no profile row yet
	r := res(t, `{"userName":"a@x","title":"CFO","urn:acme:User":{"level":5}}`)
	ops, err := m.SideOps("k1", nil, side, r, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	// emails, keys and the other members are not in the request: the app's values stay.
	wantOps(t, ops,
		`insert user_profiles set {"created_at":"2026-03-04T04:06:07Z","title":"CFO","user_id":"k1"}`,
		`update users set {"profile":"{\"app\":{\"theme\":\"dark\"},\"level\":5,\"locale\":\"de\",\"org\":{\"costCenter\":\"42\",\"floor\":2}}"} where {"id":"k1"}`,
	)
}

func TestSideOpsEmptyListDeletesManagedRows(t *testing.T) {
	m := compileTOML(t, reachTOML)
	next := res(t, fullUser)
	delete(next, "emails")
	ops, err := m.SideOps(int64(7), res(t, fullUser), stored(m), next, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, ops,
		`delete user_emails where {"address":"a@home","channel":"email","is_default":0,"kind":"H","user_id":7} one`,
		`delete user_emails where {"address":"a@x","channel":"email","is_default":1,"kind":"W","user_id":7} one`,
	)
}

// A replacement keeps the rows the app added (not in Side.Ours) unless keep_app_rows = false; a user
// whose rows were never recorded (nil, from before the record) has every row counted as scimbridge's.
func TestSideOpsKeepAppRows(t *testing.T) {
	next := res(t, `{"userName":"a@x","emails":[{"value":"a@x","type":"work","primary":true}]}`)
	for _, c := range []struct {
		name string
		toml string
		ours map[string]bool
		want []string
	}{
		{"app row kept", reachTOML, map[string]bool{mapping.RowKey("a@x"): true}, nil},
		{"untracked", reachTOML, nil, []string{`delete user_emails where {"address":"a@home","channel":"email","is_default":0,"kind":"H","user_id":7} one`}},
		{"keep_app_rows = false", strings.Replace(reachTOML, `table = "user_emails"`, "table = \"user_emails\"\nkeep_app_rows = false", 1),
			map[string]bool{mapping.RowKey("a@x"): true},
			[]string{`delete user_emails where {"address":"a@home","channel":"email","is_default":0,"kind":"H","user_id":7} one`}},
	} {
		m := compileTOML(t, c.toml)
		side := stored(m)
		side.Ours[0] = c.ours
		ops, err := m.SideOps(int64(7), res(t, fullUser), side, next, testEnv)
		if err != nil {
			t.Fatal(err)
		}
		emails := slices.DeleteFunc(ops, func(o mapping.Op) bool { return o.Table != "user_emails" })
		t.Run(c.name, func(t *testing.T) { wantOps(t, emails, c.want...) })
	}
}

// A row the app added stays, but loses its primary flag to the IdP's primary element: at most one is.
func TestSideOpsAppRowLosesPrimary(t *testing.T) {
	m := compileTOML(t, reachTOML)
	side := stored(m)
	side.Ours[0] = map[string]bool{mapping.RowKey("a@home"): true} // a@x (is_default 1) is the app's
	ops, err := m.SideOps(int64(7), res(t, fullUser), side, res(t, `{"userName":"a@x","emails":[{"value":"new@x","type":"work","primary":true}]}`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, slices.DeleteFunc(ops, func(o mapping.Op) bool { return o.Table != "user_emails" }),
		`delete user_emails where {"address":"a@home","channel":"email","is_default":0,"kind":"H","user_id":7} one`,
		`update user_emails set {"is_default":false} where {"address":"a@x","channel":"email","is_default":1,"kind":"W","user_id":7} one`,
		`insert user_emails set {"added_at":"2026-03-04T04:06:07Z","address":"new@x","channel":"email","is_default":true,"kind":"W","user_id":7}`,
	)
}

// Written: the elements the IdP added are scimbridge's, as are those that were; an element read back from
// an app row (a PATCH starts from it) stays the app's.
func TestWrittenRecord(t *testing.T) {
	m := compileTOML(t, reachTOML)
	old := res(t, `{"userName":"a@x","emails":[{"value":"a@x","type":"work"},{"value":"a@home","type":"home"}]}`)
	next := res(t, `{"userName":"a@x","emails":[{"value":"A@X","type":"work"},{"value":"a@home","type":"home"},{"value":"b@x","type":"home"}]}`)
	got, err := m.Written(old, next, []map[string]bool{{mapping.RowKey("a@x"): true}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{mapping.RowKey("a@x"): true, mapping.RowKey("b@x"): true}
	if !maps.Equal(got[0], want) {
		t.Errorf("record %v, want a@x and b@x (not the app's a@home)", got[0])
	}
	if got, _ := m.Written(old, next, []map[string]bool{nil}); len(got[0]) != 3 {
		t.Errorf("an untracked user's record: %v, want every element", got[0])
	}
}

func TestSideOpsErrors(t *testing.T) {
	m := compileTOML(t, reachTOML)
	next := res(t, fullUser)
	next["emails"] = []any{map[string]any{"value": "a@x", "type": "other"}}
	_, err := m.SideOps(int64(7), res(t, fullUser), stored(m), next, testEnv)
	if e := scim.AsError(err); e == nil || e.Status != 400 || !strings.Contains(e.Detail, "other") {
		t.Errorf("unmapped email type: got %v, want a 400 naming the value", err)
	}

	side := stored(m)
	side.Docs[0] = []byte(`[1,2]`)
	next = res(t, fullUser)
	next["locale"] = "fr"
	if _, err := m.SideOps(int64(7), res(t, fullUser), side, next, testEnv); err == nil {
		t.Error("writing into a profile that is not a JSON object: want an error")
	}
	side.Docs[0] = []byte(`{"org":"flat"}`)
	next = res(t, fullUser)
	next[ent] = map[string]any{"costCenter": "9"}
	if _, err := m.SideOps(int64(7), res(t, fullUser), side, next, testEnv); err == nil || !strings.Contains(err.Error(), "$.org") {
		t.Errorf("a path through the app's non-object member: got %v, want an error naming $.org", err)
	}
}

func TestDeleteOps(t *testing.T) {
	m := compileTOML(t, reachTOML)
	wantOps(t, m.DeleteOps(int64(7)),
		`delete user_profiles where {"user_id":7}`,
		`delete user_emails where {"channel":"email","user_id":7}`,
		`delete meta where {"k":"first_name","user_id":7}`,
		`delete meta where {"k":"nick","user_id":7}`,
		`delete meta where {"k":"vip","user_id":7}`,
	)
}
