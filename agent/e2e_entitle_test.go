package agent_test

// Roles and entitlements end to end: the app's roles published at /Roles, assigned directly on users
// in the request shapes of Okta's entitlement governance and Entra's app roles, combined with the roles
// groups grant in every role store shape. Every step asserts the app's own rows.

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// newEntitleE2E is newE2E with the role mapping rolesTOML on schema, and the agent publishing its roles.
func newEntitleE2E(t *testing.T, schema, rolesTOML string) *e2eEnv {
	t.Helper()
	published := mapping.PublishedRoles([]*mapping.Roles{testfix.Roles(t, rolesTOML)})
	return newE2E(t, e2eOptions{appSchema: schema, rolesTOML: rolesTOML, agent: func(c *agent.Config) { c.Roles = published }})
}

// userRoles is a user's "roles" on GET as value/type pairs ("admin/direct", "support/group"), sorted.
func (e *e2eEnv) userRoles(id string) []string {
	e.t.Helper()
	out := []string{}
	list, _ := e.getUser(id)["roles"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		out = append(out, e2eStr(m["value"])+"/"+e2eStr(m["type"]))
	}
	sort.Strings(out)
	return out
}

func (e *e2eEnv) wantUserRoles(id, what string, want ...string) {
	e.t.Helper()
	if want == nil {
		want = []string{}
	}
	sort.Strings(want)
	if got := e.userRoles(id); !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s: GET roles = %v, want %v", what, got, want)
	}
}

// directRows are the user's rows in scim_role_direct, sorted.
func (e *e2eEnv) directRows(id string) []string {
	e.t.Helper()
	rows := []string{}
	if err := e.db.Select(&rows, "SELECT role FROM scim_role_direct WHERE user_id = ? ORDER BY role", id); err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *e2eEnv) upatch(id, ops string) *e2eResp {
	e.t.Helper()
	return e.do("PATCH", "/Users/"+id, `{"schemas":["`+e2ePatchURN+`"],"Operations":`+ops+`}`)
}

// Okta Identity Governance's sequence (developer guide "Build a SCIM 2.0 server with entitlements"):
// discover the resource types and the Role schema, list the roles (Okta's own test: GET /Roles?count=1&
// startIndex=1), create a user with a role, assign another, revoke one, on a join store, with a group
// granting a role alongside.
func TestE2EOktaEntitlementsFlow(t *testing.T) {
	t.Parallel()
	e := newEntitleE2E(t, rolesSchema("", joinSchemaExtra), joinRoles(""))

	types := e2eResources(t, e.want(e.do("GET", "/ResourceTypes", nil), 200, "resource types"))
	var role map[string]any
	for _, rt := range types {
		if rt["name"] == "Role" {
			role = rt
		}
	}
	if role == nil || role["endpoint"] != "/Roles" || role["schema"] != scim.RoleSchema {
		t.Fatalf("ResourceTypes: no Role resource type at /Roles with %s: %v", scim.RoleSchema, types)
	}
	sc := e.want(e.do("GET", "/Schemas/"+scim.RoleSchema, nil), 200, "Role schema")
	if sc.Body["id"] != scim.RoleSchema || !strings.Contains(string(sc.Raw), `"name":"displayName"`) {
		t.Fatalf("Role schema: %s", sc)
	}

	page := e.want(e.do("GET", "/Roles?count=1&startIndex=1", nil), 200, "Okta's entitlements test")
	got := e2eResources(t, page)
	if page.Body["totalResults"] != 3.0 || page.Body["itemsPerPage"] != 1.0 || page.Body["startIndex"] != 1.0 || len(got) != 1 ||
		got[0]["value"] != "admin" || got[0]["displayName"] != "admin" || got[0]["id"] != "admin" {
		t.Fatalf("GET /Roles?count=1&startIndex=1: %s", page)
	}
	if !strings.Contains(string(page.Raw), scim.ListResponseURN) || !strings.Contains(string(page.Raw), scim.RoleSchema) {
		t.Errorf("not a ListResponse of Roles: %s", page)
	}
	rest := e2eResources(t, e.want(e.do("GET", "/Roles?startIndex=2", nil), 200, "second page"))
	if len(rest) != 2 || rest[0]["value"] != "support" || rest[1]["value"] != "tester" {
		t.Errorf("GET /Roles?startIndex=2: %v", rest)
	}
	filtered := e2eResources(t, e.want(e.do("GET", "/Roles?filter="+url.QueryEscape(`displayName eq "SUPPORT"`), nil), 200, "filter"))
	if len(filtered) != 1 || filtered[0]["value"] != "support" {
		t.Errorf("filter displayName eq SUPPORT: %v", filtered)
	}
	e2eWantError(t, e.do("GET", "/Roles?filter="+url.QueryEscape(`userName eq "x"`), nil), 400, scim.TypeInvalidFilter)
	if one := e.want(e.do("GET", "/Roles/tester", nil), 200, "one role"); one.Body["value"] != "tester" {
		t.Errorf("GET /Roles/tester: %s", one)
	}
	e.want(e.do("GET", "/Roles/viewer", nil), 404, "a role of the app's table that no rule names")

	// Create with a role (Okta sends the user's roles with its profile).
	created := e.want(e.do("POST", "/Users", `{"schemas":["`+scim.UserSchema+`"],"userName":"olga@example.com",
		"name":{"givenName":"Olga","familyName":"Okta"},"roles":[{"value":"support","display":"support"}]}`), 201, "create with a role")
	u := e2eStr(created.Body["id"])
	if !strings.Contains(string(created.Raw), `"type":"direct"`) {
		t.Errorf("POST answer lacks the direct role: %s", created)
	}
	e.wantJoin(u, "created with support", "support")
	e.wantUserRoles(u, "created", "support/direct")

	seq := e.lastSeq()
	e.want(e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"tester"}]}]`), 200, "Okta assigns tester")
	e.wantJoin(u, "assigned tester", "support", "tester")
	if rows := e.directRows(u); !reflect.DeepEqual(rows, []string{"support", "tester"}) {
		t.Errorf("role_direct = %v", rows)
	}
	evs := e.events(seq, "user.roles_changed")
	if len(evs) != 1 {
		t.Fatalf("roles_changed events after assigning: %d", len(evs))
	}
	var payload struct{ Roles mysql.RoleChange }
	if err := json.Unmarshal(evs[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(payload.Roles.New, []string{"support", "tester"}) || !reflect.DeepEqual(payload.Roles.Direct, []string{"support", "tester"}) {
		t.Errorf("roles_changed: %+v", payload.Roles)
	}

	admins := e.newGroup("Admins")
	e.addTo(admins, u)
	e.wantJoin(u, "Admins too", "admin", "support", "tester")
	e.wantUserRoles(u, "direct and group", "admin/group", "support/direct", "tester/direct")

	// A role the group grants assigned directly as well: the app's rows stay, the provenance changes,
	// and a roles_changed says so.
	seq = e.lastSeq()
	e.want(e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"admin"}]}]`), 200, "admin directly too")
	e.wantUserRoles(u, "admin both ways", "admin/direct", "admin/group", "support/direct", "tester/direct")
	if evs := e.events(seq, "user.roles_changed"); len(evs) != 1 {
		t.Errorf("a direct assignment of a group's role: %d roles_changed, want 1", len(evs))
	}
	e.want(e.upatch(u, `[{"op":"remove","path":"roles[value eq \"admin\"]"}]`), 200, "admin direct revoked")
	e.wantJoin(u, "admin still from Admins", "admin", "support", "tester")

	// Okta revokes an entitlement.
	e.want(e.upatch(u, `[{"op":"remove","path":"roles[value eq \"support\"]"}]`), 200, "Okta revokes support")
	e.wantJoin(u, "support revoked", "admin", "tester")
	e.wantUserRoles(u, "after revoke", "admin/group", "tester/direct")

	// An unknown value is refused, naming it; nothing changes.
	seq = e.lastSeq()
	bad := e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"superuser"}]},{"op":"replace","path":"title","value":"Boss"}]`)
	e2eWantError(t, bad, 400, scim.TypeInvalidValue)
	if !strings.Contains(string(bad.Raw), `\"superuser\"`) {
		t.Errorf("the error does not name the value: %s", bad)
	}
	e.wantJoin(u, "after a refused PATCH", "admin", "tester")
	if e.lastSeq() != seq || !e.appRow("id = ?", e.appKey(u)).null("job_title") {
		t.Errorf("a refused PATCH wrote something")
	}
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"x@example.com","roles":[{"value":"root"}]}`), 400, scim.TypeInvalidValue)
	if n := len(e.appRows("email = 'x@example.com'")); n != 0 {
		t.Errorf("a refused POST wrote %d app rows", n)
	}

	// A PUT echoing the GET back (group-derived roles included) changes nothing; one without roles
	// takes the direct roles away (PUT replaces), and the group's stays.
	cur := e.getUser(u)
	v := e2eStr(e2eAt(cur, "meta.version"))
	put := e.want(e.do("PUT", "/Users/"+u, cur), 200, "PUT of the GET")
	if e2eStr(e2eAt(put.Body, "meta.version")) != v {
		t.Errorf("PUT of the GET changed the version %s -> %s", v, e2eStr(e2eAt(put.Body, "meta.version")))
	}
	e.wantJoin(u, "after PUT of the GET", "admin", "tester")
	delete(cur, "roles")
	e.want(e.do("PUT", "/Users/"+u, cur), 200, "PUT without roles")
	e.wantJoin(u, "after PUT without roles", "admin")
	if rows := e.directRows(u); len(rows) != 0 {
		t.Errorf("role_direct after PUT without roles: %v", rows)
	}

	// The audit trail records the assignment's before and after.
	var changes []string
	if err := e.db.Select(&changes, "SELECT changes FROM scim_audit WHERE scim_id = ? AND operation = 'user.updated' ORDER BY id", u); err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || !strings.Contains(changes[0], `"roles":{"before":["support"],"after":["support","tester"]}`) {
		t.Errorf("audit of the assignment: %v", changes)
	}

	// Deleting the user takes its direct roles along.
	e.want(e.do("PATCH", "/Users/"+u, `{"schemas":["`+e2ePatchURN+`"],"Operations":[{"op":"add","path":"roles","value":[{"value":"tester"}]}]}`), 200, "tester again")
	e.want(e.do("DELETE", "/Users/"+u, nil), 204, "delete")
	if rows := e.directRows(u); len(rows) != 0 {
		t.Errorf("role_direct after DELETE: %v", rows)
	}
	e.wantJoin(u, "deleted", []string{}...)
}

// Entra sends app roles as "roles" (AppRoleAssignmentsComplex): on create with its type, and in a PATCH
// add whose value is the app role as JSON in a string, in the letter case typed in the Entra portal.
func TestE2EEntraAppRoleAssignments(t *testing.T) {
	t.Parallel()
	e := newEntitleE2E(t, rolesSchema("roles VARCHAR(255) NULL", ""), `
store = "list"
column = "roles"`+legacyapp.RoleRules)
	listed := func(id string) string { return e.appRow("id = ?", e.appKey(id)).str("roles") }
	created := e.want(e.do("POST", "/Users", `{"schemas":["`+scim.UserSchema+`"],"userName":"emil@example.com","active":true,
		"roles":[{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"Support","value":"Support"}]}`), 201, "Entra create")
	u := e2eStr(created.Body["id"])
	if got := listed(u); got != "support" {
		t.Errorf("created with Support: roles column %q", got)
	}
	add := `[{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]}]`
	e.want(e.upatch(u, add), 200, "Entra adds Admin")
	if got := listed(u); got != "support admin" {
		t.Errorf("after Entra's add: roles column %q, want %q", got, "support admin")
	}
	e.want(e.upatch(u, add), 200, "Entra adds Admin again")
	if rows := e.directRows(u); !reflect.DeepEqual(rows, []string{"admin", "support"}) {
		t.Errorf("role_direct = %v", rows)
	}
	// A removal in Entra's members shape (remove with a value list), should Entra send one.
	e.want(e.upatch(u, strings.Replace(add, `"Add"`, `"Remove"`, 1)), 200, "remove Admin")
	if got := listed(u); got != "support" {
		t.Errorf("after remove: roles column %q", got)
	}
	e2eWantError(t, e.upatch(u, `[{"op":"Add","path":"roles","value":[{"value":"{\"id\":\"1\",\"value\":\"Owner\",\"displayName\":\"Owner\"}"}]}]`),
		400, scim.TypeInvalidValue)
	// SingleAppRoleAssignment: one role at roles[primary eq "True"].value.
	e.want(e.upatch(u, `[{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Admin"}]`), 200, "SingleAppRoleAssignment")
	if got := listed(u); got != "support admin" {
		t.Errorf("after SingleAppRoleAssignment: roles column %q", got)
	}
}

// Direct and group-derived roles together in each role store shape, and [roles] direct.
func TestE2EDirectAndGroupRolesEveryStore(t *testing.T) {
	t.Parallel()
	type shape struct {
		name, schema, rules string
		read                func(e *e2eEnv, id string) string
	}
	shapes := []shape{
		{"column", rolesSchema(columnSchemaCols, ""), "store = \"column\"\ncolumn = \"role\"\n" + legacyapp.RoleRules,
			func(e *e2eEnv, id string) string { return e.role(id) }},
		{"join", rolesSchema("", joinSchemaExtra), joinRoles(""),
			func(e *e2eEnv, id string) string { return strings.Join(e.joinRoles(id), " ") }},
		{"list", rolesSchema("roles VARCHAR(255) NULL", ""), "store = \"list\"\ncolumn = \"roles\"\n" + legacyapp.RoleRules,
			func(e *e2eEnv, id string) string {
				toks := strings.Fields(e.appRow("id = ?", e.appKey(id)).str("roles"))
				slices.Sort(toks)
				return strings.Join(toks, " ")
			}},
		{"flags", rolesSchema("is_admin TINYINT NOT NULL DEFAULT 0, is_support TINYINT NOT NULL DEFAULT 0", ""),
			"store = \"flags\"\n[[rules]]\ngroup = \"Admins\"\nrole = \"admin\"\ncolumn = \"is_admin\"\n[[rules]]\ngroup = \"Support\"\nrole = \"support\"\ncolumn = \"is_support\"\n",
			func(e *e2eEnv, id string) string {
				r := e.appRow("id = ?", e.appKey(id))
				var on []string
				if r.str("is_admin") == "1" {
					on = append(on, "admin")
				}
				if r.str("is_support") == "1" {
					on = append(on, "support")
				}
				return strings.Join(on, " ")
			}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			e := newEntitleE2E(t, sh.schema, sh.rules)
			want := func(id, what, v string) {
				t.Helper()
				if got := sh.read(e, id); got != v {
					t.Errorf("%s: app holds %q, want %q", what, got, v)
				}
			}
			u := e.newUser("both-" + sh.name)
			support := e.newGroup("Support")
			e.addTo(support, u)
			want(u, "group Support", "support")
			e.want(e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"admin"}]}]`), 200, "direct admin")
			both := "admin support"
			if sh.name == "column" {
				both = "admin" // one role: the highest priority of both sources
			}
			want(u, "direct admin + group support", both)
			e.removeFrom(support, u)
			want(u, "left Support, admin direct", "admin")
			e.addTo(support, u)
			e.want(e.upatch(u, `[{"op":"replace","path":"roles","value":[]}]`), 200, "direct roles cleared")
			want(u, "direct cleared, group stays", "support")

			// Provenance survives a restart and the start-up reconcile: a new store on the same tables.
			e.want(e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"admin"}]}]`), 200, "direct admin again")
			restarted := mysql.New(testfix.Open(t, e.dsn, 2), e2eMapping(t, ""), mysql.Options{Roles: testfix.Roles(t, sh.rules)})
			if _, changed, err := restarted.ReconcileRoles(context.Background()); err != nil || changed != 0 {
				t.Fatalf("reconcile after restart: %d changed, %v", changed, err)
			}
			want(u, "after restart and reconcile", both)
			got, err := restarted.GetUser(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(got["roles"]); !strings.Contains(string(b), `"value":"admin","display":"admin","type":"direct"`) &&
				!strings.Contains(string(b), `"display":"admin","type":"direct","value":"admin"`) {
				t.Errorf("after restart, GET roles = %s", b)
			}
		})
	}
}

// [roles] direct = "direct_only": groups grant nothing (the rules only name the roles);
// "groups_only": a direct assignment is refused and nothing is written.
func TestE2EDirectModes(t *testing.T) {
	t.Parallel()
	t.Run("direct_only", func(t *testing.T) {
		t.Parallel()
		e := newEntitleE2E(t, rolesSchema("", joinSchemaExtra), joinRoles(`direct = "direct_only"`))
		u := e.newUser("donly")
		e.addTo(e.newGroup("Admins"), u)
		e.wantJoin(u, "in Admins, direct_only", []string{}...)
		e.want(e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"support"}]}]`), 200, "direct support")
		e.wantJoin(u, "direct support", "support")
		e.wantUserRoles(u, "direct_only GET", "support/direct")
	})
	t.Run("groups_only", func(t *testing.T) {
		t.Parallel()
		e := newEntitleE2E(t, rolesSchema("", joinSchemaExtra), joinRoles(`direct = "groups_only"`))
		u := e.newUser("gonly")
		e.addTo(e.newGroup("Admins"), u)
		seq := e.lastSeq()
		e2eWantError(t, e.upatch(u, `[{"op":"add","path":"roles","value":[{"value":"support"}]}]`), 400, scim.TypeMutability)
		e.wantJoin(u, "refused direct", "admin")
		if e.lastSeq() != seq || len(e.directRows(u)) != 0 {
			t.Errorf("a refused assignment wrote something")
		}
		e.wantUserRoles(u, "groups_only GET", "admin/group")
	})
}

// A create with roles whose acknowledgement was lost, sent again by Entra in its own shape, is the
// same create: answered 201 with the user, nothing written twice.
func TestE2ERetriedCreateWithRoles(t *testing.T) {
	t.Parallel()
	rules := joinRoles("")
	published := mapping.PublishedRoles([]*mapping.Roles{testfix.Roles(t, rules)})
	la := &lostAck{}
	la.losing.Store(true)
	e := newE2E(t, e2eOptions{appSchema: rolesSchema("", joinSchemaExtra), rolesTOML: rules, agent: func(c *agent.Config) {
		c.Roles = published
		la.UserStore = c.Users
		c.Users = la
	}})
	body := `{"schemas":["` + scim.UserSchema + `"],"userName":"rita@example.com",
		"roles":[{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"Support","value":"Support"}]}`
	e.want(e.do("POST", "/Users", body), 503, "lost acknowledgement")
	la.losing.Store(false)
	again := e.want(e.do("POST", "/Users", body), 201, "the retry")
	u := e2eStr(again.Body["id"])
	e.wantJoin(u, "after the retry", "support")
	if n := len(e.appRows("email = 'rita@example.com'")); n != 1 {
		t.Errorf("%d app rows", n)
	}
	e2eWantError(t, e.do("POST", "/Users", strings.Replace(body, `"Support"}`, `"Tester"}`, 1)), 409, scim.TypeUniqueness)
}
