package agent_test

import (
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// A group's members and a user's groups carry the $ref of the resource they name (RFC 7643 4.1.2, 4.2),
// an absolute URI under the base path, so a client can follow them.
func TestE2EMembersAndGroupsCarryRefs(t *testing.T) {
	t.Parallel()
	e := newGroupsE2E(t)
	a := e.newUser("ann")
	body := `{"schemas":["` + scim.GroupSchema + `"],"displayName":"Admins","members":[{"value":"` + a + `"}]}`
	g := e2eStr(e.want(e.do("POST", "/Groups", body), 201, "POST /Groups").Body["id"])

	group := e.want(e.do("GET", "/Groups/"+g, nil), 200, "GET the group").Body
	members, _ := group["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["$ref"] != e.base+"/Users/"+a {
		t.Errorf("members = %v, want one with $ref %s", group["members"], e.base+"/Users/"+a)
	}
	user := e.getUser(a)
	groups, _ := user["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["$ref"] != e.base+"/Groups/"+g {
		t.Errorf("groups = %v, want one with $ref %s", user["groups"], e.base+"/Groups/"+g)
	}
	// A PUT that echoes the member back, $ref included, is accepted and keeps the member.
	put := `{"schemas":["` + scim.GroupSchema + `"],"displayName":"Admins","members":[{"value":"` + a + `","$ref":"` + e.base + `/Users/` + a + `"}]}`
	if got := bodyMembers(e.want(e.do("PUT", "/Groups/"+g, put), 200, "PUT with $ref").Body); len(got) != 1 || got[0] != a {
		t.Errorf("after PUT members = %v", got)
	}
}
