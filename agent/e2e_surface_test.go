package agent_test

// The rest of the SCIM surface issue 19 names: sortBy/sortOrder, the root POST /.search across Users
// and Groups, $ref on members and groups, nested groups as members. Real server, real MariaDB.

import (
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

func names(t *testing.T, r *e2eResp, attr string) []string {
	t.Helper()
	out := []string{}
	for _, res := range e2eResources(t, r) {
		out = append(out, e2eStr(res[attr]))
	}
	return out
}

func TestE2ESortByIndexedAttributes(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true})
	for _, n := range []string{"carol", "alice", "Bob"} { // created in this order: the default order
		e.newUser(n)
	}
	want := func(what string, r *e2eResp, attr string, order ...string) {
		t.Helper()
		e.want(r, 200, what)
		if got := names(t, r, attr); !reflect.DeepEqual(got, order) {
			t.Errorf("%s: %v, want %v", what, got, order)
		}
	}
	want("default order", e.list(), "userName", "carol@example.com", "alice@example.com", "Bob@example.com")
	// userName sorts case-insensitively (RFC 7643: caseExact false), on its folded, indexed column.
	want("sortBy=userName", e.list("sortBy", "userName"), "userName", "alice@example.com", "Bob@example.com", "carol@example.com")
	want("descending", e.list("sortBy", "USERNAME", "sortOrder", "descending"), "userName",
		"carol@example.com", "Bob@example.com", "alice@example.com")
	want("a sorted page", e.list("sortBy", "userName", "startIndex", "2", "count", "1"), "userName", "Bob@example.com")
	want("meta.created descending", e.list("sortBy", "meta.created", "sortOrder", "descending"), "userName",
		"Bob@example.com", "alice@example.com", "carol@example.com")
	search := e.do("POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
		"filter":"userName ne \"alice@example.com\"","sortBy":"userName","sortOrder":"descending"}`)
	want("POST /Users/.search sorted", search, "userName", "carol@example.com", "Bob@example.com")

	// An attribute without an index would need every user read and sorted: refused, saying what can be.
	bad := e.list("sortBy", "title")
	e2eWantError(t, bad, 400, scim.TypeInvalidValue)
	if d := e2eStr(bad.Body["detail"]); !strings.Contains(d, `"title"`) || !strings.Contains(d, "userName") {
		t.Errorf("detail %q should name title and the sortable attributes", d)
	}
	e2eWantError(t, e.list("sortBy", "meta.lastModified"), 400, scim.TypeInvalidValue)
	e2eWantError(t, e.list("sortBy", "noSuchAttribute"), 400, scim.TypeInvalidValue)
	e2eWantError(t, e.list("sortBy", "userName", "sortOrder", "sideways"), 400, scim.TypeInvalidValue)
	e2eWantError(t, e.list("sortBy", "userName", "cursor", ""), 400, scim.TypeInvalidValue)

	for _, n := range []string{"Zeta", "alpha", "Mid"} {
		e.newGroup(n)
	}
	want("groups by displayName", e.glist("sortBy", "displayName"), "displayName", "alpha", "Mid", "Zeta")
	e2eWantError(t, e.glist("sortBy", "members"), 400, scim.TypeInvalidValue)

	spc := e.want(e.do("GET", "/ServiceProviderConfig", nil), 200, "ServiceProviderConfig")
	if e2eAt(spc.Body, "sort.supported") != true {
		t.Errorf("sort.supported = %v", e2eAt(spc.Body, "sort.supported"))
	}
}

func TestE2ERootSearch(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true})
	alice := e2eStr(e.createUser(`{"userName":"alice@example.com","displayName":"Alpha Alice"}`)["id"])
	e.createUser(`{"userName":"bob@example.com","displayName":"Bob"}`)
	alpha := e.newGroup("Alpha team", alice)
	e.newGroup("Beta")

	search := func(body string) *e2eResp {
		t.Helper()
		return e.do("POST", "/.search", body)
	}
	r := e.want(search(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"displayName sw \"alpha\""}`), 200, "root search")
	got := e2eResources(t, r)
	if r.Body["totalResults"] != 2.0 || len(got) != 2 || got[0]["id"] != alice || got[1]["id"] != alpha ||
		e2eAt(got[0], "meta.resourceType") != "User" || e2eAt(got[1], "meta.resourceType") != "Group" {
		t.Fatalf("root search: %s", r)
	}
	if !strings.HasSuffix(e2eStr(e2eAt(got[1], "meta.location")), "/Groups/"+alpha) {
		t.Errorf("group location %v", e2eAt(got[1], "meta.location"))
	}
	// One list, paged across the types: users first, then groups.
	page := e.want(search(`{"filter":"displayName sw \"alpha\"","startIndex":2,"count":1}`), 200, "second page")
	if ids := names(t, page, "id"); page.Body["totalResults"] != 2.0 || !reflect.DeepEqual(ids, []string{alpha}) {
		t.Errorf("startIndex=2&count=1: %s", page)
	}
	all := e.want(search(`{}`), 200, "everything")
	if all.Body["totalResults"] != 4.0 {
		t.Errorf("no filter: totalResults %v, want 4", all.Body["totalResults"])
	}
	// An attribute only users have matches no group.
	only := e.want(search(`{"filter":"userName eq \"alice@example.com\""}`), 200, "userName")
	if ids := names(t, only, "id"); !reflect.DeepEqual(ids, []string{alice}) {
		t.Errorf("userName at the root: %v", ids)
	}
	e2eWantError(t, search(`{"filter":"displayName eq"}`), 400, scim.TypeInvalidFilter)
	e2eWantError(t, search(`{"sortBy":"displayName"}`), 400, scim.TypeInvalidValue)
	if r := e.do("GET", "/.search", nil); r.Status != 405 {
		t.Errorf("GET /.search: %s", r)
	}
}

// $ref on a group's members and a user's groups (RFC 7643 4.1.2, 4.2).
func TestE2ERefsOnMembersAndGroups(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true})
	u := e.newUser("reffed")
	g := e.newGroup("Reffed", u)
	members, _ := e.want(e.do("GET", "/Groups/"+g, nil), 200, "group").Body["members"].([]any)
	if len(members) != 1 || e2eStr(members[0].(map[string]any)["$ref"]) != e.base+"/Users/"+u {
		t.Errorf("members: %v", members)
	}
	groups, _ := e.getUser(u)["groups"].([]any)
	if len(groups) != 1 || e2eStr(groups[0].(map[string]any)["$ref"]) != e.base+"/Groups/"+g {
		t.Errorf("groups: %v", groups)
	}
}

// A nested group sent as a member (Entra has been seen doing it) is refused with 400 naming the group,
// and the PATCH's other operations are not applied: nothing fails silently.
func TestE2ENestedGroupMemberRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eOptions{groups: true})
	u := e.newUser("nested")
	inner := e.newGroup("Inner")
	outer := e.newGroup("Outer")
	seq := e.lastSeq()
	r := e.gpatch(outer, `[{"op":"add","path":"members","value":[{"value":"`+u+`"}]},
		{"op":"add","path":"members","value":[{"value":"`+inner+`","type":"Group"}]},
		{"op":"replace","path":"displayName","value":"Renamed"}]`)
	e2eWantError(t, r, 400, scim.TypeInvalidValue)
	if d := e2eStr(r.Body["detail"]); !strings.Contains(d, inner) || !strings.Contains(d, "nested groups are not supported") {
		t.Errorf("detail %q", d)
	}
	e.wantMembers(outer, "after the refused PATCH")
	if g := e.want(e.do("GET", "/Groups/"+outer, nil), 200, "outer"); g.Body["displayName"] != "Outer" || e.lastSeq() != seq {
		t.Errorf("the refused PATCH changed the group: %s", g)
	}
	post := e.do("POST", "/Groups", groupBody("Holder", "", u, inner))
	e2eWantError(t, post, 400, scim.TypeInvalidValue)
	if n := len(e2eResources(t, e.glist("filter", `displayName eq "Holder"`))); n != 0 {
		t.Errorf("a refused POST created %d groups", n)
	}
}
