package agent_test

// /Groups end to end: real MariaDB, real loopback HTTP. Every membership change is checked twice: in
// scim_group_members and in the GET body.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/scim"
)

// --- helpers shared with e2e_roles_test.go ---

// newUser POSTs a user named <name>@example.com and returns its SCIM id.
func (e *e2eEnv) newUser(name string) string {
	e.t.Helper()
	u := e.createUser(fmt.Sprintf(`{"userName":%q,"name":{"givenName":%q,"familyName":"Test"}}`, name+"@example.com", name))
	return e2eStr(u["id"])
}

// appKey is the app's users.id of a SCIM user.
func (e *e2eEnv) appKey(scimID string) int64 {
	e.t.Helper()
	var k int64
	if err := e.db.Get(&k, "SELECT app_id FROM scim_users WHERE id = ?", scimID); err != nil {
		e.t.Fatalf("app key of %s: %v", scimID, err)
	}
	return k
}

// groupBody is a POST/PUT body for a group with these member ids.
func groupBody(name, externalID string, members ...string) string {
	m := map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": name}
	if externalID != "" {
		m["externalId"] = externalID
	}
	if members != nil {
		list := []any{}
		for _, id := range members {
			list = append(list, map[string]any{"value": id})
		}
		m["members"] = list
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// newGroup POSTs a group and returns its id.
func (e *e2eEnv) newGroup(name string, members ...string) string {
	e.t.Helper()
	if members == nil {
		members = []string{}
	}
	r := e.want(e.do("POST", "/Groups", groupBody(name, "", members...)), 201, "POST /Groups "+name)
	return e2eStr(r.Body["id"])
}

// gpatch sends a PatchOp to a group.
func (e *e2eEnv) gpatch(id, ops string, headers ...string) *e2eResp {
	e.t.Helper()
	return e.do("PATCH", "/Groups/"+id, `{"schemas":["`+e2ePatchURN+`"],"Operations":`+ops+`}`, headers...)
}

// memberRows are the user ids of a group in scim_group_members, sorted.
func (e *e2eEnv) memberRows(groupID string) []string {
	e.t.Helper()
	ids := []string{}
	if err := e.db.Select(&ids, "SELECT user_id FROM scim_group_members WHERE group_id = ? ORDER BY user_id", groupID); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// bodyMembers are the member values of a Group body, sorted; nil when the body has no "members".
func bodyMembers(body map[string]any) []string {
	raw, ok := body["members"]
	if !ok {
		return nil
	}
	list, _ := raw.([]any)
	out := []string{}
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, e2eStr(m["value"]))
	}
	sort.Strings(out)
	return out
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

// wantMembers checks a group's members in the database and in GET /Groups/{id}.
func (e *e2eEnv) wantMembers(groupID string, what string, ids ...string) {
	e.t.Helper()
	want := sorted(ids...)
	if got := e.memberRows(groupID); !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s: scim_group_members = %v, want %v", what, got, want)
	}
	g := e.want(e.do("GET", "/Groups/"+groupID, nil), 200, what+": GET group").Body
	got := bodyMembers(g)
	if len(want) == 0 {
		if _, has := g["members"]; has && len(got) != 0 {
			e.t.Errorf("%s: GET members = %v, want none", what, got)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s: GET members = %v, want %v", what, got, want)
	}
}

// e2eEvent is one outbox row.
type e2eEvent struct {
	Seq     int64  `db:"seq"`
	Type    string `db:"type"`
	Subject string `db:"subject"`
	Payload []byte `db:"payload"`
}

func (ev e2eEvent) decode() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(ev.Payload, &m)
	return m
}

func (ev e2eEvent) members() []string {
	var p struct{ Members []string }
	_ = json.Unmarshal(ev.Payload, &p)
	sort.Strings(p.Members)
	return p.Members
}

// events reads the outbox after seq (0: all), optionally only the given types.
func (e *e2eEnv) events(after int64, types ...string) []e2eEvent {
	e.t.Helper()
	var all []e2eEvent
	if err := e.db.Select(&all, "SELECT seq, type, subject, payload FROM scim_outbox WHERE seq > ? ORDER BY seq", after); err != nil {
		e.t.Fatal(err)
	}
	if len(types) == 0 {
		return all
	}
	var out []e2eEvent
	for _, ev := range all {
		for _, ty := range types {
			if ev.Type == ty {
				out = append(out, ev)
			}
		}
	}
	return out
}

func (e *e2eEnv) lastSeq() int64 {
	e.t.Helper()
	var seq int64
	if err := e.db.Get(&seq, "SELECT COALESCE(MAX(seq), 0) FROM scim_outbox"); err != nil {
		e.t.Fatal(err)
	}
	return seq
}

// glist runs GET /Groups with query parameters as name/value pairs.
func (e *e2eEnv) glist(params ...string) *e2eResp {
	e.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return e.do("GET", "/Groups?"+q.Encode(), nil)
}

func resourceIDs(t *testing.T, r *e2eResp) []string {
	t.Helper()
	var out []string
	for _, res := range e2eResources(t, r) {
		out = append(out, e2eStr(res["id"]))
	}
	sort.Strings(out)
	return out
}

func newGroupsE2E(t *testing.T) *e2eEnv { return newE2E(t, e2eOptions{groups: true}) }

// --- 1. /Groups over HTTP ---

func TestE2EGroupsCRUD(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b, c := e.newUser("ann"), e.newUser("bob"), e.newUser("cy")

	body := `{"schemas":["` + scim.GroupSchema + `"],"displayName":"Admins","externalId":"ext-admins",
		"members":[{"value":"` + a + `","display":"Ann"},{"value":"` + b + `"}]}`
	r := e.want(e.do("POST", "/Groups", body), 201, "POST /Groups")
	g := e2eStr(r.Body["id"])
	if _, err := uuid.Parse(g); err != nil {
		t.Fatalf("group id %q is not a UUID", g)
	}
	if loc := r.Header.Get("Location"); loc != e.base+"/Groups/"+g {
		t.Errorf("Location = %q, want %q", loc, e.base+"/Groups/"+g)
	}
	if r.Header.Get("ETag") == "" || e2eAt(r.Body, "meta.version") != r.Header.Get("ETag") {
		t.Errorf("ETag %q vs meta.version %v", r.Header.Get("ETag"), e2eAt(r.Body, "meta.version"))
	}
	if e2eAt(r.Body, "meta.resourceType") != "Group" || e2eAt(r.Body, "meta.location") != e.base+"/Groups/"+g {
		t.Errorf("meta = %v", r.Body["meta"])
	}
	if s, _ := r.Body["schemas"].([]any); len(s) != 1 || s[0] != scim.GroupSchema {
		t.Errorf("schemas = %v", r.Body["schemas"])
	}
	if r.Body["displayName"] != "Admins" || r.Body["externalId"] != "ext-admins" {
		t.Errorf("POST body: %s", r.Raw)
	}
	if got := bodyMembers(r.Body); !reflect.DeepEqual(got, sorted(a, b)) {
		t.Errorf("POST members = %v", got)
	}
	for _, m := range r.Body["members"].([]any) {
		m := m.(map[string]any)
		if m["value"] == a && m["display"] != "Ann" {
			t.Errorf("member display not kept: %v", m)
		}
	}
	e.wantMembers(g, "after POST", a, b)

	// GET by id, unknown id.
	got := e.want(e.do("GET", "/Groups/"+g, nil), 200, "GET")
	if got.Body["displayName"] != "Admins" || got.Header.Get("ETag") != r.Header.Get("ETag") {
		t.Errorf("GET: %s", got)
	}
	e2eWantError(t, e.do("GET", "/Groups/"+uuid.NewString(), nil), 404, "")
	e2eWantError(t, e.do("GET", "/Groups/not-a-uuid", nil), 404, "")

	// excludedAttributes=members, attributes=displayName.
	ex := e.want(e.do("GET", "/Groups/"+g+"?excludedAttributes=members", nil), 200, "GET excluded").Body
	if _, has := ex["members"]; has || ex["displayName"] != "Admins" || ex["id"] != g {
		t.Errorf("excludedAttributes=members: %v", ex)
	}
	dn := e.want(e.do("GET", "/Groups/"+g+"?attributes=displayName", nil), 200, "GET attributes").Body
	if _, has := dn["members"]; has || dn["displayName"] != "Admins" || dn["id"] != g || dn["externalId"] != nil {
		t.Errorf("attributes=displayName: %v", dn)
	}

	other := e.newGroup("Support", c)

	// Filters.
	for _, f := range []string{`displayName eq "Admins"`, `displayName eq "admins"`, `DISPLAYNAME eq "ADMINS"`,
		`externalId eq "ext-admins"`, `displayName sw "adm"`, `id eq "` + g + `"`} {
		lr := e.want(e.glist("filter", f), 200, f)
		if ids := resourceIDs(t, lr); !reflect.DeepEqual(ids, []string{g}) || e2eNum(lr.Body["totalResults"]) != 1 {
			t.Errorf("filter %s: %v (%s)", f, ids, lr)
		}
	}
	for _, f := range []string{`displayName eq "Admin"`, `externalId eq "EXT-ADMINS"`, `externalId eq "ext"`} {
		if lr := e.want(e.glist("filter", f), 200, f); e2eNum(lr.Body["totalResults"]) != 0 {
			t.Errorf("filter %s matched: %s", f, lr)
		}
	}

	// Entra's membership checks: the group only when the user is a member.
	for _, tc := range []struct {
		user string
		want []string
	}{{a, []string{g}}, {c, nil}} {
		for _, f := range []string{`id eq "` + g + `" and members[value eq "` + tc.user + `"]`,
			`id eq "` + g + `" and members.value eq "` + tc.user + `"`} {
			for _, excl := range []bool{false, true} {
				params := []string{"filter", f}
				if excl {
					params = append(params, "excludedAttributes", "members")
				}
				lr := e.want(e.glist(params...), 200, f)
				if ids := resourceIDs(t, lr); !reflect.DeepEqual(ids, tc.want) {
					t.Errorf("filter %s (excluded %v): %v, want %v", f, excl, ids, tc.want)
				}
				for _, res := range e2eResources(t, lr) {
					if _, has := res["members"]; has == excl {
						t.Errorf("filter %s excluded=%v: members present=%v: %v", f, excl, has, res)
					}
				}
			}
		}
	}
	if ids := resourceIDs(t, e.want(e.glist("filter", `members.value eq "`+c+`"`), 200, "members.value")); !reflect.DeepEqual(ids, []string{other}) {
		t.Errorf("members.value eq c: %v, want [%s]", ids, other)
	}
	if ids := resourceIDs(t, e.want(e.glist("filter", `members[value eq "`+a+`"] or members[value eq "`+c+`"]`), 200, "or")); !reflect.DeepEqual(ids, sorted(g, other)) {
		t.Errorf("membership or: %v", ids)
	}
	e2eWantError(t, e.glist("filter", `members[display eq "Ann"]`), 400, scim.TypeInvalidFilter)
	e2eWantError(t, e.glist("filter", `title eq "x"`), 400, scim.TypeInvalidFilter)
	// excludedAttributes=members on the list.
	for _, res := range e2eResources(t, e.want(e.glist("excludedAttributes", "members"), 200, "list excluded")) {
		if _, has := res["members"]; has {
			t.Errorf("list excludedAttributes=members: %v", res)
		}
	}
	for _, res := range e2eResources(t, e.want(e.glist("attributes", "displayName"), 200, "list attributes")) {
		if _, has := res["members"]; has || res["displayName"] == nil {
			t.Errorf("list attributes=displayName: %v", res)
		}
	}
	// POST /Groups/.search
	sr := e.want(e.do("POST", "/Groups/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
		"filter":"displayName eq \"support\"","excludedAttributes":["members"]}`), 200, ".search")
	if ids := resourceIDs(t, sr); !reflect.DeepEqual(ids, []string{other}) {
		t.Errorf(".search: %v", ids)
	}

	// PUT replaces attributes and members; PUT without members empties the group.
	pr := e.want(e.do("PUT", "/Groups/"+g, groupBody("Admins2", "", c)), 200, "PUT")
	if pr.Body["displayName"] != "Admins2" || pr.Body["externalId"] != nil {
		t.Errorf("PUT answer: %s", pr)
	}
	e.wantMembers(g, "after PUT [c]", c)
	e.want(e.do("PUT", "/Groups/"+g, groupBody("Admins2", "ext-2")), 200, "PUT without members")
	e.wantMembers(g, "after PUT without members")
	e2eWantError(t, e.do("PUT", "/Groups/"+uuid.NewString(), groupBody("X", "")), 404, "")
	e2eWantError(t, e.do("PUT", "/Groups/"+g, `{"schemas":["`+scim.GroupSchema+`"]}`), 400, "")

	// DELETE, then 404 everywhere.
	e.want(e.do("PUT", "/Groups/"+g, groupBody("Admins2", "", a, b)), 200, "PUT refill")
	if r := e.do("DELETE", "/Groups/"+g, nil); r.Status != 204 || len(r.Raw) != 0 {
		t.Fatalf("DELETE: %s", r)
	}
	e2eWantError(t, e.do("GET", "/Groups/"+g, nil), 404, "")
	e2eWantError(t, e.do("DELETE", "/Groups/"+g, nil), 404, "")
	e2eWantError(t, e.gpatch(g, `[{"op":"replace","path":"displayName","value":"X"}]`), 404, "")
	if rows := e.memberRows(g); len(rows) != 0 {
		t.Errorf("memberships of a deleted group: %v", rows)
	}
	if ids := resourceIDs(t, e.glist()); !reflect.DeepEqual(ids, []string{other}) {
		t.Errorf("list after DELETE: %v", ids)
	}
	// The users are still there.
	e.getUser(a)
}

func TestE2EGroupsPagination(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	var all []string
	for i := 0; i < 7; i++ {
		all = append(all, e.newGroup(fmt.Sprintf("Team %d", i)))
	}
	var seen []string
	for start := 1; start <= 7; start += 3 {
		r := e.want(e.glist("startIndex", fmt.Sprint(start), "count", "3"), 200, "page")
		res := e2eResources(t, r)
		if e2eNum(r.Body["totalResults"]) != 7 || e2eNum(r.Body["startIndex"]) != start || e2eNum(r.Body["itemsPerPage"]) != len(res) {
			t.Errorf("page %d: %s", start, r)
		}
		for _, x := range res {
			seen = append(seen, e2eStr(x["id"]))
		}
	}
	if !reflect.DeepEqual(sorted(seen...), sorted(all...)) {
		t.Errorf("pages cover %v, want %v", seen, all)
	}
	if r := e.want(e.glist("count", "0"), 200, "count 0"); e2eNum(r.Body["totalResults"]) != 7 || len(e2eResources(t, r)) != 0 {
		t.Errorf("count=0: %s", r)
	}
	if r := e.want(e.glist("startIndex", "50"), 200, "beyond"); e2eNum(r.Body["totalResults"]) != 7 || len(e2eResources(t, r)) != 0 {
		t.Errorf("startIndex beyond: %s", r)
	}
	if r := e.want(e.glist("filter", `displayName sw "team"`, "count", "2"), 200, "filtered page"); e2eNum(r.Body["totalResults"]) != 7 || len(e2eResources(t, r)) != 2 {
		t.Errorf("filtered page: %s", r)
	}
}

// --- 2. PATCH membership in every shape ---

func TestE2EGroupPatchShapes(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b, c, d := e.newUser("pa"), e.newUser("pb"), e.newUser("pc"), e.newUser("pd")
	g := e.newGroup("Crew")

	step := func(what, ops string, want ...string) *e2eResp {
		t.Helper()
		r := e.gpatch(g, ops)
		if r.Status != 200 {
			t.Fatalf("%s: %s", what, r)
		}
		// The answer is the resource, with the new members.
		if r.Body["id"] != g || r.Header.Get("ETag") == "" {
			t.Errorf("%s: answer %s", what, r)
		}
		if got := bodyMembers(r.Body); len(want) > 0 && !reflect.DeepEqual(got, sorted(want...)) {
			t.Errorf("%s: PATCH answer members %v, want %v", what, got, sorted(want...))
		} else if len(want) == 0 && len(got) > 0 {
			t.Errorf("%s: PATCH answer members %v, want none", what, got)
		}
		e.wantMembers(g, what, want...)
		return r
	}
	val := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, `{"value":"`+id+`"}`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}

	step("add members list", `[{"op":"add","path":"members","value":`+val(a, b)+`}]`, a, b)
	step("add again (idempotent) plus one", `[{"op":"add","path":"members","value":`+val(a, c)+`}]`, a, b, c)
	step("remove members[value eq]", `[{"op":"remove","path":"members[value eq \"`+a+`\"]"}]`, b, c)
	step("remove absent member (no-op)", `[{"op":"remove","path":"members[value eq \"`+a+`\"]"}]`, b, c)
	step("remove members with a value list", `[{"op":"remove","path":"members","value":`+val(b)+`}]`, c)
	step("add bare ids", `[{"op":"add","path":"members","value":["`+a+`","`+d+`"]}]`, a, c, d)
	step("remove members without value", `[{"op":"remove","path":"members"}]`)
	step("replace full list", `[{"op":"replace","path":"members","value":`+val(a, b, c)+`}]`, a, b, c)
	step("replace smaller list", `[{"op":"replace","path":"members","value":`+val(b, d)+`}]`, b, d)
	step("replace []", `[{"op":"replace","path":"members","value":[]}]`)
	step("op names in any case", `[{"op":"Add","path":"members","value":`+val(a, b, c)+`},{"op":"Remove","path":"members[value eq \"`+b+`\"]"},{"op":"REPLACE","path":"displayName","value":"Crew2"}]`, a, c)
	if n := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get").Body["displayName"]; n != "Crew2" {
		t.Errorf("displayName after mixed-case replace: %v", n)
	}
	step("remove or-filter", `[{"op":"remove","path":"members[value eq \"`+a+`\" or value eq \"`+c+`\"]"}]`)

	// Okta: a no-path replace carrying id and displayName, then the members.
	before := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get").Header.Get("ETag")
	r := step("Okta no-path replace", `[{"op":"replace","value":{"id":"`+g+`","displayName":"Okta Name"}},{"op":"add","path":"members","value":`+val(d)+`}]`, d)
	if r.Body["displayName"] != "Okta Name" || r.Body["id"] != g || r.Header.Get("ETag") == before {
		t.Errorf("Okta rename: %s", r)
	}
	r = step("Okta no-path replace with members", `[{"op":"replace","value":{"id":"other-id","displayName":"Okta 2","members":`+val(a, b)+`}}]`, a, b)
	if r.Body["displayName"] != "Okta 2" || r.Body["id"] != g {
		t.Errorf("Okta rename with members: %s", r)
	}
	var n int
	_ = e.db.Get(&n, "SELECT COUNT(*) FROM scim_groups WHERE id = ?", g)
	if n != 1 {
		t.Errorf("the group id changed")
	}
	// Rename through a path.
	r = step("rename via path", `[{"op":"replace","path":"displayName","value":"X"}]`, a, b)
	if r.Body["displayName"] != "X" {
		t.Errorf("rename: %s", r)
	}
	var dn, dnlc string
	_ = e.db.QueryRow("SELECT display_name, display_name_lc FROM scim_groups WHERE id = ?", g).Scan(&dn, &dnlc)
	if dn != "X" || dnlc != "x" {
		t.Errorf("columns after rename: %q %q", dn, dnlc)
	}
	if ids := resourceIDs(t, e.glist("filter", `displayName eq "x"`)); !reflect.DeepEqual(ids, []string{g}) {
		t.Errorf("renamed group not found by its new name: %v", ids)
	}
	// externalId through a path.
	step("externalId", `[{"op":"add","path":"externalId","value":"ext-9"}]`, a, b)
	if ids := resourceIDs(t, e.glist("filter", `externalId eq "ext-9"`)); !reflect.DeepEqual(ids, []string{g}) {
		t.Errorf("externalId via PATCH: %v", ids)
	}

	// excludedAttributes=members on the PATCH answer.
	r = e.do("PATCH", "/Groups/"+g+"?excludedAttributes=members", `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"add","path":"members","value":`+val(c)+`}]}`)
	if r.Status != 200 || r.Body["members"] != nil {
		t.Errorf("PATCH ?excludedAttributes=members: %s", r)
	}
	e.wantMembers(g, "after PATCH excluded", a, b, c)

	// If-Match.
	etag := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get").Header.Get("ETag")
	e2eWantError(t, e.gpatch(g, `[{"op":"remove","path":"members"}]`, "If-Match", `W/"999"`), 412, "")
	e.wantMembers(g, "after 412", a, b, c)
	e.want(e.gpatch(g, `[{"op":"remove","path":"members[value eq \"`+c+`\"]"}]`, "If-Match", etag), 200, "If-Match ok")

	// Bad requests change nothing.
	e2eWantError(t, e.gpatch(g, `[]`), 400, "")
	e2eWantError(t, e.gpatch(g, `[{"op":"add","path":"members","value":[{"display":"no value"}]}]`), 400, scim.TypeInvalidValue)
	e2eWantError(t, e.gpatch(g, `[{"op":"replace","path":"members[value eq \"`+a+`\"]","value":{"display":"x"}}]`), 400, scim.TypeInvalidPath)
	e2eWantError(t, e.gpatch(g, `[{"op":"remove","path":"members"},{"op":"replace","path":"displayName","value":""}]`), 400, "")
	e2eWantError(t, e.gpatch(g, `[{"op":"remove","path":"members"},{"op":"replace","path":"nope","value":"x"}]`), 400, "")
	e.wantMembers(g, "after refused PATCHes", a, b)
	e2eWantError(t, e.gpatch(uuid.NewString(), `[{"op":"add","path":"members","value":`+val(a)+`}]`), 404, "")
}

// A PATCH answers 204 without a body when server.patch_response = "no_content".
func TestE2EGroupPatchNoContent(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true, patchResponse: "no_content"})
	a := e.newUser("nc")
	g := e.newGroup("NC")
	r := e.gpatch(g, `[{"op":"add","path":"members","value":[{"value":"`+a+`"}]}]`)
	if r.Status != 204 || len(r.Raw) != 0 || r.Header.Get("ETag") == "" {
		t.Fatalf("PATCH with no_content: %s (ETag %q)", r, r.Header.Get("ETag"))
	}
	e.wantMembers(g, "no_content add", a)
	if get := e.do("GET", "/Groups/"+g, nil); get.Header.Get("ETag") != r.Header.Get("ETag") {
		t.Errorf("204 ETag %q, GET ETag %q", r.Header.Get("ETag"), get.Header.Get("ETag"))
	}
}

// --- 3. unknown members: 400 naming the id, nothing applied ---

func TestE2EGroupUnknownMemberChangesNothing(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b, gone := e.newUser("ua"), e.newUser("ub"), e.newUser("gone")
	e.want(e.do("DELETE", "/Users/"+gone, nil), 204, "delete gone")
	g := e.newGroup("Keep", a)
	etag := e.do("GET", "/Groups/"+g, nil).Header.Get("ETag")
	seq := e.lastSeq()
	ghost := uuid.NewString()

	wantRefused := func(what string, r *e2eResp, id string) {
		t.Helper()
		e2eWantError(t, r, 400, scim.TypeInvalidValue)
		if d := e2eStr(r.Body["detail"]); !strings.Contains(d, id) {
			t.Errorf("%s: detail %q does not name %s", what, d, id)
		}
	}
	wantRefused("PATCH add", e.gpatch(g, `[{"op":"replace","path":"displayName","value":"Changed"},
		{"op":"add","path":"members","value":[{"value":"`+b+`"},{"value":"`+ghost+`"}]}]`), ghost)
	wantRefused("PATCH add deleted user", e.gpatch(g, `[{"op":"add","path":"members","value":[{"value":"`+gone+`"}]}]`), gone)
	wantRefused("PATCH replace", e.gpatch(g, `[{"op":"replace","path":"members","value":[{"value":"`+ghost+`"}]}]`), ghost)
	wantRefused("PATCH Okta no-path", e.gpatch(g, `[{"op":"replace","value":{"displayName":"Changed","members":[{"value":"`+b+`"},{"value":"`+ghost+`"}]}}]`), ghost)
	wantRefused("PUT", e.do("PUT", "/Groups/"+g, groupBody("Changed", "", b, ghost)), ghost)

	e.wantMembers(g, "after refused changes", a)
	cur := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get")
	if cur.Body["displayName"] != "Keep" || cur.Header.Get("ETag") != etag {
		t.Errorf("the group changed: %s (ETag %s, was %s)", cur, cur.Header.Get("ETag"), etag)
	}
	if evs := e.events(seq); len(evs) != 0 {
		t.Errorf("refused changes wrote events: %v", evs)
	}

	// POST with an unknown member creates nothing.
	var before int
	_ = e.db.Get(&before, "SELECT COUNT(*) FROM scim_groups")
	wantRefused("POST", e.do("POST", "/Groups", groupBody("New", "", a, ghost)), ghost)
	var after int
	_ = e.db.Get(&after, "SELECT COUNT(*) FROM scim_groups")
	if after != before {
		t.Errorf("a refused POST created a group (%d -> %d)", before, after)
	}
	// Several unknown ids: the detail names one and counts the rest.
	r := e.gpatch(g, `[{"op":"add","path":"members","value":["`+uuid.NewString()+`","`+uuid.NewString()+`","`+uuid.NewString()+`"]}]`)
	e2eWantError(t, r, 400, scim.TypeInvalidValue)
	if d := e2eStr(r.Body["detail"]); !strings.Contains(d, "2 more") {
		t.Errorf("detail for 3 unknown ids: %q", d)
	}
}

// --- 4. deleting a user ---

func TestE2EDeleteUserLeavesItsGroups(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b := e.newUser("leaver"), e.newUser("stayer")
	g1, g2, g3 := e.newGroup("G1", a, b), e.newGroup("G2", a), e.newGroup("G3", b)
	seq := e.lastSeq()

	e.want(e.do("DELETE", "/Users/"+a, nil), 204, "DELETE user")
	e.wantMembers(g1, "g1 after user delete", b)
	e.wantMembers(g2, "g2 after user delete")
	e.wantMembers(g3, "g3 after user delete", b)
	removed := e.events(seq, "group.members_removed")
	got := map[string][]string{}
	for _, ev := range removed {
		got[ev.Subject] = ev.members()
	}
	want := map[string][]string{"group:" + g1: {a}, "group:" + g2: {a}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("group.members_removed events %v, want %v", got, want)
	}
	if del := e.events(seq, "user.deleted"); len(del) != 1 {
		t.Errorf("user.deleted events: %d", len(del))
	}
	if ids := resourceIDs(t, e.glist("filter", `members[value eq "`+a+`"]`)); len(ids) != 0 {
		t.Errorf("deleted user still a member of %v", ids)
	}

	// Re-created with the same userName: a new id, in no group.
	back := e2eStr(e.createUser(`{"userName":"leaver@example.com"}`)["id"])
	if back == a {
		t.Fatalf("re-created user kept its id")
	}
	var n int
	_ = e.db.Get(&n, "SELECT COUNT(*) FROM scim_group_members WHERE user_id IN (?, ?)", a, back)
	if n != 0 {
		t.Errorf("re-created user has %d memberships", n)
	}
	if ids := resourceIDs(t, e.glist("filter", `members.value eq "`+back+`"`)); len(ids) != 0 {
		t.Errorf("re-created user is a member of %v", ids)
	}
	// It can join again.
	e.want(e.gpatch(g2, `[{"op":"add","path":"members","value":["`+back+`"]}]`), 200, "re-add")
	e.wantMembers(g2, "re-added", back)
}

// BUG: DELETE /Users/{id} removes the user from its groups (dropMemberships) without bumping the groups'
// version and lastModified. The group's members changed, yet its ETag is the same: a client holding the
// old ETag gets If-Match accepted and caches keep a member list that includes a deleted user.
func TestRegressionE2EDeleteUserDoesNotBumpGroupVersion(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b := e.newUser("v1"), e.newUser("v2")
	g := e.newGroup("Versioned", a, b)
	before := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get")
	e.want(e.do("DELETE", "/Users/"+a, nil), 204, "DELETE user")
	after := e.want(e.do("GET", "/Groups/"+g, nil), 200, "get")
	if !reflect.DeepEqual(bodyMembers(after.Body), []string{b}) {
		t.Fatalf("members after delete: %v", bodyMembers(after.Body))
	}
	if after.Header.Get("ETag") == before.Header.Get("ETag") {
		t.Errorf("group ETag stayed %s although a member was removed", after.Header.Get("ETag"))
	}
	if e2eAt(after.Body, "meta.lastModified") == e2eAt(before.Body, "meta.lastModified") {
		t.Errorf("group meta.lastModified stayed %v although a member was removed", e2eAt(after.Body, "meta.lastModified"))
	}
}

// BUG: POST (and PUT) /Groups with the same member twice fails: readGroup passes the list as is, and
// changeMembers INSERTs both rows in one statement, so the duplicate primary key answers 409 "the app
// already has a user with the same value for its unique key "PRIMARY"" — a user-table message for a
// group request. The list should be deduplicated (PATCH add does that through the fold).
func TestRegressionE2EGroupDuplicateMembersInPostAndPut(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a := e.newUser("dup")
	r := e.do("POST", "/Groups", groupBody("Dups", "", a, a))
	if r.Status != 201 {
		t.Errorf("POST with a member listed twice: %s, want 201 with one member", r)
	} else {
		e.wantMembers(e2eStr(r.Body["id"]), "POST dup", a)
	}
	g := e.newGroup("Dups2")
	if r := e.do("PUT", "/Groups/"+g, groupBody("Dups2", "", a, a)); r.Status != 200 {
		t.Errorf("PUT with a member listed twice: %s, want 200 with one member", r)
	}
}

// BUG (HTTP face of TestBugSplitMemberOpsAddRemoveAddDuplicates): add, remove, add of the same user in one
// PATCH fails on a duplicate primary key instead of leaving the user a member.
func TestRegressionE2EGroupPatchAddRemoveAdd(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a := e.newUser("ara")
	g := e.newGroup("ARA")
	r := e.gpatch(g, `[{"op":"add","path":"members","value":["`+a+`"]},{"op":"remove","path":"members[value eq \"`+a+`\"]"},
		{"op":"add","path":"members","value":["`+a+`"]}]`)
	if r.Status != 200 {
		t.Errorf("add/remove/add: %s, want 200", r)
	}
	e.wantMembers(g, "add/remove/add", a)
}

// --- 6. outbox events for groups ---

func TestE2EGroupOutboxEvents(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a, b := e.newUser("oa"), e.newUser("ob")
	seq := e.lastSeq()
	g := e.newGroup("Events", a)
	e.want(e.gpatch(g, `[{"op":"replace","path":"displayName","value":"Events 2"}]`), 200, "rename")
	e.want(e.gpatch(g, `[{"op":"add","path":"members","value":["`+b+`"]}]`), 200, "add b")
	e.want(e.gpatch(g, `[{"op":"add","path":"members","value":["`+b+`"]}]`), 200, "add b again (no event)")
	e.want(e.gpatch(g, `[{"op":"remove","path":"members[value eq \"`+a+`\"]"}]`), 200, "remove a")
	e.want(e.gpatch(g, `[{"op":"replace","path":"members","value":["`+a+`"]}]`), 200, "replace: +a -b")
	e.want(e.gpatch(g, `[{"op":"replace","path":"displayName","value":"Events 2"}]`), 200, "same name (no event)")
	e.want(e.do("DELETE", "/Groups/"+g, nil), 204, "delete")

	type ev struct {
		typ     string
		members []string
	}
	var got []ev
	for _, x := range e.events(seq) {
		if x.Subject != "group:"+g {
			t.Errorf("event %s has subject %s", x.Type, x.Subject)
			continue
		}
		got = append(got, ev{x.Type, x.members()})
	}
	want := []ev{
		{"group.created", nil},
		{"group.members_added", []string{a}},
		{"group.updated", nil},
		{"group.members_added", []string{b}},
		{"group.members_removed", []string{a}},
		{"group.members_added", []string{a}},
		{"group.members_removed", []string{b}},
		{"group.deleted", nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
	all := e.events(seq)
	if len(all) > 2 {
		upd := all[2].decode()
		if ch, _ := upd["changed"].([]any); len(ch) != 1 || ch[0] != "displayName" {
			t.Errorf("group.updated changed = %v", upd["changed"])
		}
		if res, _ := upd["resource"].(map[string]any); res["displayName"] != "Events 2" || res["members"] != nil {
			t.Errorf("group.updated resource = %v", upd["resource"])
		}
	}
}

// Concurrent PATCHes adding different users to one group all land (the group row serializes them).
func TestE2EGroupConcurrentAdds(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	g := e.newGroup("Busy")
	var ids []string
	for i := 0; i < 12; i++ {
		ids = append(ids, e.newUser(fmt.Sprintf("busy%02d", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("PATCH", "/Groups/"+g, `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"add","path":"members","value":["`+id+`"]}]}`)
			if r.Status != 200 {
				errs <- r.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Errorf("concurrent add: %s", msg)
	}
	e.wantMembers(g, "after concurrent adds", ids...)
	var v int64
	_ = e.db.Get(&v, "SELECT version FROM scim_groups WHERE id = ?", g)
	if v != int64(1+len(ids)) {
		t.Errorf("version %d after %d adds, want %d", v, len(ids), 1+len(ids))
	}
}

// With on_delete = "delete" the user's rows go, and its memberships with them, with the same events.
func TestE2EHardDeleteUserLeavesItsGroups(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true, extraTOML: `on_delete = "delete"`})
	a, b := e.newUser("hard"), e.newUser("soft")
	g := e.newGroup("HD", a, b)
	seq := e.lastSeq()
	e.want(e.do("DELETE", "/Users/"+a, nil), 204, "DELETE user")
	e.wantMembers(g, "after hard delete", b)
	if rows := e.appRows("email = ?", "hard@example.com"); len(rows) != 0 {
		t.Errorf("app row kept: %v", rows)
	}
	evs := e.events(seq, "group.members_removed")
	if len(evs) != 1 || !reflect.DeepEqual(evs[0].members(), []string{a}) {
		t.Errorf("members_removed: %v", evs)
	}
}

// BUG (race): a PATCH adding a user to a group while that user is being deleted can commit a membership
// of the deleted user. checkUsersExist reads scim_users without a lock (READ COMMITTED: it sees the
// not-yet-deleted row), dropMemberships of the DELETE already ran and found nothing; the INSERT then
// waits on the DELETE's row lock (foreign key) and succeeds once it commits. The deleted user stays a
// member, and since the tombstone's id is renamed on re-POST (ON UPDATE CASCADE), the re-created user
// inherits the membership. The DELETE is slowed by a trigger on the outbox so the PATCH lands inside it.
func TestRegressionE2EMemberAddedWhileUserIsDeleted(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a := e.newUser("racer")
	g := e.newGroup("Race")
	if _, err := e.db.Exec(`CREATE TRIGGER e2e_slow_delete BEFORE INSERT ON scim_outbox FOR EACH ROW
		IF NEW.type = 'user.deleted' THEN DO SLEEP(1.5); END IF`); err != nil {
		t.Fatal(err)
	}
	done := make(chan *e2eResp)
	go func() { done <- e.do("DELETE", "/Users/"+a, nil) }()
	// Wait until the DELETE is inside its transaction (sleeping in the trigger).
	inside := false
	for i := 0; i < 100 && !inside; i++ {
		var n int
		if err := e.db.Get(&n, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(1.5)%' AND DB = DATABASE()"); err != nil {
			t.Fatal(err)
		}
		inside = n > 0
		sleepMs(20)
	}
	if !inside {
		t.Fatal("the DELETE never reached the outbox trigger")
	}
	r := e.gpatch(g, `[{"op":"add","path":"members","value":["`+a+`"]}]`)
	del := <-done
	if del.Status != 204 {
		t.Fatalf("DELETE: %s", del)
	}
	t.Logf("PATCH during DELETE: %d", r.Status)
	if rows := e.memberRows(g); len(rows) != 0 {
		t.Errorf("deleted user %s is a member of the group: %v (PATCH answered %s)", a, rows, r)
	}
	back := e2eStr(e.createUser(`{"userName":"racer@example.com"}`)["id"])
	if rows := e.memberRows(g); len(rows) != 0 {
		t.Errorf("re-created user %s inherited the membership: %v", back, rows)
	}
}

func sleepMs(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

// BUG (gap): the User resource's readOnly "groups" attribute (RFC 7643 4.1.2) ignores memberships now that
// /Groups exists: GET /Users/{id} of a member has no "groups", and GET /Users?filter=groups.value eq "<g>"
// answers 0 results (the filter reads the bookkeeping JSON, which never holds groups) instead of the
// members -- a silently wrong answer. Either fill groups from scim_group_members (and translate the filter
// to an EXISTS on it), or refuse the filter with 400 until it is supported.
func TestRegressionE2EUserGroupsAttributeIgnoresMemberships(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a := e.newUser("grp")
	g := e.newGroup("Visible", a)
	u := e.getUser(a)
	list, _ := u["groups"].([]any)
	if len(list) != 1 || e2eStr(list[0].(map[string]any)["value"]) != g {
		t.Errorf("GET /Users/{id} groups = %v, want [%s]", u["groups"], g)
	}
	r := e.list("filter", `groups.value eq "`+g+`"`)
	if r.Status == 200 && e2eNum(r.Body["totalResults"]) != 1 {
		t.Errorf("filter groups.value eq g: %s, want the member (or a 400)", r)
	}
}
