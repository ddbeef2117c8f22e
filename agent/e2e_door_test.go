package agent_test

// Validation at the door: malformed requests over POST, PUT and PATCH of Users and Groups each get a
// 4xx with a SCIM error body, and the database (the app's tables and scimbridge's own) is byte for byte
// what it was before.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// doorCase is one malformed request. names, when set, must appear in the error's detail: the
// attribute the client has to fix.
type doorCase struct {
	name, method, path, body string
	names                    string
}

// badTexts are the contents of a JSON string (as written between its quotes) that are not acceptable
// text in any attribute scimbridge stores.
var badTexts = []struct{ name, raw string }{
	{"invalid UTF-8 0xff 0xfe", "a\xff\xfeb"},
	{"cut UTF-8 sequence", "a\xe2\x82"},
	{"UTF-8 encoded surrogate", "a\xed\xa0\x80b"},
	{"lone high surrogate", `a\ud800b`},
	{"lone low surrogate", `a\udc00b`},
	{"high surrogate before a non-surrogate", `\ud800\u0041`},
	{"escaped NUL", `a\u0000b`},
	{"escaped U+0001", `a\u0001b`},
	{"escaped ESC", `\u001b[31mred`},
	{"escaped newline", `a\nb`},
	{"escaped backspace", `a\bb`},
}

const doorUser = scim.UserSchema

// doorUserBody is a valid user with one attribute's JSON string contents replaced: at is one of the
// keys below, raw what goes between its quotes.
func doorUserBody(userName, at, raw string) string {
	v := map[string]string{"userName": userName, "displayName": "Bea Door", "givenName": "Bea", "email": "bea@example.com",
		"nickName": "bee", "department": "Sales", "title": "Rep", "externalId": "ext-bea"}
	v[at] = raw
	return `{"schemas":["` + doorUser + `","` + e2eEnterprise + `"],"userName":"` + v["userName"] + `","externalId":"` + v["externalId"] +
		`","displayName":"` + v["displayName"] + `","name":{"givenName":"` + v["givenName"] + `","familyName":"Door"},` +
		`"emails":[{"value":"` + v["email"] + `","type":"work"}],"nickName":"` + v["nickName"] + `","title":"` + v["title"] + `",` +
		`"` + e2eEnterprise + `":{"department":"` + v["department"] + `"}}`
}

func doorGroupBody(displayName, memberID string) string {
	return `{"schemas":["` + scim.GroupSchema + `"],"displayName":"` + displayName + `","members":[{"value":"` + memberID + `"}]}`
}

func doorPatch(path, raw string) string {
	return `{"schemas":["` + e2ePatchURN + `"],"Operations":[{"op":"replace","path":"` + path + `","value":"` + raw + `"}]}`
}

func doorCases(annID, staffID string) []doorCase {
	var cs []doorCase
	users, ann, groups, staff := "/Users", "/Users/"+annID, "/Groups", "/Groups/"+staffID
	wants := map[string]string{"userName": "userName", "displayName": "displayName", "givenName": "name.givenName",
		"email": "emails[0].value", "nickName": "nickName", "department": e2eEnterprise + ":department", "externalId": "externalId"}
	for _, bt := range badTexts {
		for _, at := range []string{"userName", "displayName", "givenName", "email", "department", "externalId"} {
			cs = append(cs, doorCase{"POST /Users " + at + ": " + bt.name, "POST", users, doorUserBody("bea@example.com", at, bt.raw), wants[at]})
		}
		for _, at := range []string{"displayName", "nickName"} {
			cs = append(cs, doorCase{"PUT /Users " + at + ": " + bt.name, "PUT", ann, doorUserBody("ann@example.com", at, bt.raw), wants[at]})
		}
		for _, at := range []string{"displayName", "nickName"} {
			cs = append(cs, doorCase{"PATCH /Users " + at + ": " + bt.name, "PATCH", ann, doorPatch(at, bt.raw), at})
		}
		cs = append(cs,
			doorCase{"POST /Groups displayName: " + bt.name, "POST", groups, doorGroupBody("G"+bt.raw, annID), "displayName"},
			doorCase{"PUT /Groups displayName: " + bt.name, "PUT", staff, doorGroupBody("Staff"+bt.raw, annID), "displayName"},
			doorCase{"PATCH /Groups members: " + bt.name, "PATCH", staff, `{"schemas":["` + e2ePatchURN +
				`"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + bt.raw + `"}]}]}`, "members[0].value"})
	}
	cs = append(cs, doorCase{"POST /Users NUL in an attribute name", "POST", users,
		`{"schemas":["` + doorUser + `"],"userName":"bea@example.com","nick\u0000Name":"x"}`, "attribute name"})

	user := func(extra string) string {
		return `{"schemas":["` + doorUser + `"],"userName":"bea@example.com"` + extra + `}`
	}
	for _, c := range []struct{ name, extra, names string }{
		{"emails a string", `,"emails":"x"`, "emails"},
		{"emails a number", `,"emails":5`, "emails"},
		{"emails a boolean", `,"emails":true`, "emails"},
		{"emails an array of strings", `,"emails":["bea@example.com"]`, "emails"},
		{"emails an array of numbers", `,"emails":[1,2]`, "emails"},
		{"emails an array of arrays", `,"emails":[["x"]]`, "emails"},
		{"phoneNumbers a string", `,"phoneNumbers":"555-0100"`, "phoneNumbers"},
		{"addresses a string", `,"addresses":"Main St 1"`, "addresses"},
		{"name a string", `,"name":"Bea"`, "name"},
		{"active a word", `,"active":"maybe"`, "active"},
		{"userName a number", `,"displayName":7`, "displayName"},
		{"nickName of 500 KB", `,"nickName":"` + strings.Repeat("n", 500_000) + `"`, "nickName"},
		{"enterprise organization of 70 KB", `,"` + e2eEnterprise + `":{"organization":"` + strings.Repeat("o", 70_000) + `"}`,
			e2eEnterprise + ":organization"},
		{"document of 300 KB in 60 KB values", `,"nickName":"` + strings.Repeat("a", 60_000) + `","profileUrl":"https://x/` +
			strings.Repeat("b", 60_000) + `","userType":"` + strings.Repeat("c", 60_000) + `","preferredLanguage":"` +
			strings.Repeat("d", 60_000) + `","locale":"` + strings.Repeat("e", 60_000) + `"`, "bytes"},
	} {
		cs = append(cs, doorCase{"POST /Users " + c.name, "POST", users, user(c.extra), c.names})
	}
	cs = append(cs,
		doorCase{"PUT /Users emails a string", "PUT", ann, `{"schemas":["` + doorUser + `"],"userName":"ann@example.com","emails":"x"}`, "emails"},
		doorCase{"PUT /Users nickName of 70 KB", "PUT", ann, `{"schemas":["` + doorUser + `"],"userName":"ann@example.com","nickName":"` +
			strings.Repeat("n", 70_000) + `"}`, "nickName"},
		doorCase{"PATCH /Users emails a string", "PATCH", ann, doorPatch("emails", "x"), "emails"},
		doorCase{"PATCH /Users nickName of 70 KB", "PATCH", ann, doorPatch("nickName", strings.Repeat("n", 70_000)), "nickName"},
		doorCase{"PATCH /Users department of 70 KB", "PATCH", ann, doorPatch(e2eEnterprise+":department", strings.Repeat("d", 70_000)),
			"department"},
	)

	for _, c := range []struct{ name, schemas, names string }{
		{"a string", `"` + doorUser + `"`, "schemas"},
		{"only an unknown schema", `["urn:example:unknown:2.0:Thing"]`, "schemas"},
		{"the Group schema", `["` + scim.GroupSchema + `"]`, "schemas"},
		{"the User and the Group schema", `["` + doorUser + `","` + scim.GroupSchema + `"]`, "schemas"},
		{"the PatchOp schema", `["` + e2ePatchURN + `"]`, "schemas"},
		{"the User and the PatchOp schema", `["` + doorUser + `","` + e2ePatchURN + `"]`, "schemas"},
		{"an empty array", `[]`, "schemas"},
		{"a number in the array", `["` + doorUser + `",1]`, "schemas"},
		{"an empty string", `[""]`, "schemas"},
		{"an object", `{"urn":"x"}`, "schemas"},
	} {
		body := `{"schemas":` + c.schemas + `,"userName":"bea@example.com"}`
		cs = append(cs, doorCase{"POST /Users schemas " + c.name, "POST", users, body, c.names},
			doorCase{"PUT /Users schemas " + c.name, "PUT", ann, strings.Replace(body, "bea@", "ann@", 1), c.names})
	}
	for _, c := range []struct{ name, schemas string }{
		{"a string", `"` + scim.GroupSchema + `"`},
		{"the User schema", `["` + doorUser + `"]`},
		{"only an unknown schema", `["urn:example:unknown:2.0:Team"]`},
		{"the Group and the User schema", `["` + scim.GroupSchema + `","` + doorUser + `"]`},
		{"an empty array", `[]`},
	} {
		body := `{"schemas":` + c.schemas + `,"displayName":"Sales"}`
		cs = append(cs, doorCase{"POST /Groups schemas " + c.name, "POST", groups, body, "schemas"},
			doorCase{"PUT /Groups schemas " + c.name, "PUT", staff, body, "schemas"})
	}
	member := `{"value":"` + annID + `"}`
	for _, c := range []struct{ name, members string }{
		{"a string", `"x"`},
		{"an id string", `"` + annID + `"`},
		{"a number", `5`},
		{"a lone object", member},
		{"an array of id strings", `["` + annID + `"]`},
		{"an array with a number", `[` + member + `,5]`},
	} {
		body := `{"schemas":["` + scim.GroupSchema + `"],"displayName":"Sales","members":` + c.members + `}`
		cs = append(cs, doorCase{"POST /Groups members " + c.name, "POST", groups, body, "members"},
			doorCase{"PUT /Groups members " + c.name, "PUT", staff, body, "members"})
	}
	ops := `"Operations":[{"op":"replace","path":"displayName","value":"X"}]`
	for _, c := range []struct{ name, schemas string }{
		{"no schemas", ``},
		{"the User schema", `"schemas":["` + doorUser + `"],`},
		{"the Group schema", `"schemas":["` + scim.GroupSchema + `"],`},
		{"schemas a string", `"schemas":"` + e2ePatchURN + `",`},
		{"an empty schemas array", `"schemas":[],`},
		{"PatchOp and the User schema", `"schemas":["` + e2ePatchURN + `","` + doorUser + `"],`},
	} {
		cs = append(cs, doorCase{"PATCH /Users " + c.name, "PATCH", ann, "{" + c.schemas + ops + "}", ""},
			doorCase{"PATCH /Groups " + c.name, "PATCH", staff, "{" + c.schemas + ops + "}", ""})
	}
	return cs
}

func TestE2EMalformedRequestsChangeNothing(t *testing.T) {
	e := newE2E(t, e2eOptions{groups: true})
	ann := e.createUser(doorUserBody("ann@example.com", "", ""))
	annID := e2eStr(ann["id"])
	staff := e.want(e.do("POST", "/Groups", doorGroupBody("Staff", annID)), 201, "POST /Groups").Body
	cases := doorCases(annID, e2eStr(staff["id"]))
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	before := testfix.Dump(t, e.db)
	if !strings.Contains(before, "ann@example.com") || !strings.Contains(before, "Staff") {
		t.Fatalf("the dump does not show the fixture:\n%s", before)
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, c.body)
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("%s: got %s, want a 4xx", c.name, trimmed(r))
		} else if r.Body == nil || fmt.Sprint(r.Body["schemas"]) != "["+scim.ErrorURN+"]" || r.Body["status"] != strconv.Itoa(r.Status) ||
			e2eStr(r.Body["detail"]) == "" {
			t.Errorf("%s: not a SCIM error body: %s", c.name, trimmed(r))
		}
		if c.names != "" && !strings.Contains(e2eStr(r.Body["detail"]), c.names) {
			t.Errorf("%s: the detail does not name %q: %s", c.name, c.names, trimmed(r))
		}
		if after := testfix.Dump(t, e.db); after != before {
			t.Fatalf("%s: the database changed (%d bytes before, %d after)", c.name, len(before), len(after))
		}
	}
	t.Logf("%d malformed requests refused", len(cases))
}

func trimmed(r *e2eResp) string {
	s := r.String()
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// TestE2ETextThatIsAllowed keeps the refusals honest: a real U+FFFD, characters outside the BMP
// written as a surrogate pair or raw, and a line break in addresses.formatted are text, and stored.
func TestE2ETextThatIsAllowed(t *testing.T) {
	e := newE2E(t, e2eOptions{})
	u := e.createUser(`{"schemas":["` + doorUser + `"],"userName":"zoe@example.com","displayName":"Zoë \ud83d\ude00 😀 \ufffd",` +
		`"addresses":[{"formatted":"Main St 1\nSpringfield","type":"work"}]}`)
	got := e.getUser(e2eStr(u["id"]))
	if got["displayName"] != "Zoë 😀 😀 \ufffd" {
		t.Errorf("displayName = %q", got["displayName"])
	}
	addrs, _ := got["addresses"].([]any)
	if len(addrs) != 1 || addrs[0].(map[string]any)["formatted"] != "Main St 1\nSpringfield" {
		t.Errorf("addresses = %v", got["addresses"])
	}
	var display string
	if err := e.db.Get(&display, "SELECT display_name FROM users WHERE email = 'zoe@example.com'"); err != nil || display != "Zoë 😀 😀 \ufffd" {
		t.Errorf("the app's display_name = %q (%v)", display, err)
	}
}

func TestE2EExtraSchemas(t *testing.T) {
	custom := `"urn:example:custom:2.0:User"`
	body := func(name, schemas string) string {
		return `{"schemas":` + schemas + `,"userName":"` + name + `"}`
	}
	lenient := newE2E(t, e2eOptions{})
	lenient.createUser(body("a@example.com", `["`+doorUser+`",`+custom+`]`))
	lenient.createUser(`{"userName":"b@example.com"}`) // no schemas at all: read as a User
	e2eWantError(t, lenient.do("POST", "/Users", body("c@example.com", `[`+custom+`]`)), 400, scim.TypeInvalidValue)

	strict := newE2E(t, e2eOptions{agent: func(c *agent.Config) { c.ExtraSchemas = scim.ExtraSchemasRefuse }})
	before := testfix.Dump(t, strict.db)
	for _, b := range []string{body("a@example.com", `["`+doorUser+`",`+custom+`]`), `{"userName":"b@example.com"}`} {
		r := strict.do("POST", "/Users", b)
		e2eWantError(t, r, 400, scim.TypeInvalidValue)
		if !strings.Contains(e2eStr(r.Body["detail"]), "schemas") {
			t.Errorf("the detail does not name schemas: %s", r)
		}
	}
	if testfix.Dump(t, strict.db) != before {
		t.Error("a refused POST changed the database")
	}
	strict.createUser(body("d@example.com", `["`+doorUser+`","`+e2eEnterprise+`"]`))
	id := e2eStr(strict.createUser(body("e@example.com", `["`+doorUser+`"]`))["id"])
	e2eWantError(t, strict.do("PATCH", "/Users/"+id, `{"schemas":["`+e2ePatchURN+`",`+custom+`],"Operations":[{"op":"replace","path":"title","value":"x"}]}`), 400, scim.TypeInvalidValue)
}

// TestE2EShortBodyAnswers400 sends a body shorter than its Content-Length and keeps the connection
// open: the answer is 400 once the body stalls (BodyIdleTimeout), not 503 at the request deadline.
func TestE2EShortBodyAnswers400(t *testing.T) {
	e := newE2E(t, e2eOptions{timeout: time.Minute, agent: func(c *agent.Config) { c.BodyIdleTimeout = 300 * time.Millisecond }})
	before := testfix.Dump(t, e.db)
	for _, body := range []string{`{"userName":"short@example.com"}`, `{"userName":"sho`} {
		conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/scim+json\r\n"+
			"Content-Length: %d\r\n\r\n%s", e2eToken, len(body)+100, body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		r := &e2eResp{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
		_ = json.Unmarshal(raw, &r.Body)
		e2eWantError(t, r, 400, scim.TypeInvalidSyntax)
		if !strings.Contains(e2eStr(r.Body["detail"]), "Content-Length") {
			t.Errorf("the detail does not say what is wrong: %s", r)
		}
	}
	if testfix.Dump(t, e.db) != before {
		t.Error("a short body changed the database")
	}
}
