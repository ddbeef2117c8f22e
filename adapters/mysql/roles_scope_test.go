package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// A lookup table shared between kinds of rows (Redmine's principals: users and groups): the role
// "Managers" is a group row, and a user row has the same name.
const principalsRoles = `
CREATE TABLE principals (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lastname VARCHAR(100) NOT NULL,
  type VARCHAR(30) NOT NULL
) ENGINE=InnoDB;
CREATE TABLE member_of (
  group_id INT NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (group_id, user_id)
) ENGINE=InnoDB;
INSERT INTO principals (lastname, type) VALUES ('Managers', 'User'), ('Managers', 'Group'), ('Staff', 'Group');
`

func principalsJoin(scope string) string {
	return `
store = "join"
table = "member_of"
user = "user_id"
role = "group_id"
lookup = { table = "principals", key = "id", name = "lastname"` + scope + ` }
[[rules]]
group = "IdP Managers"
role = "Managers"
`
}

func TestRolesJoinLookupScope(t *testing.T) {
	ctx := context.Background()
	check := func(f *roleFixture, rolesTOML string) []string {
		t.Helper()
		rep, err := schemacheck.CheckRoles(ctx, f.db, testfix.Roles(t, rolesTOML), testfix.Users(t, usersTOML), "scim_")
		if err != nil {
			t.Fatal(err)
		}
		return rep.Problems
	}
	memberOf := func(f *roleFixture, key int64) (ids []int64) {
		t.Helper()
		if err := f.db.Select(&ids, "SELECT group_id FROM member_of WHERE user_id = ?", key); err != nil {
			t.Fatal(err)
		}
		return ids
	}

	// Without a scope: check fails the ambiguous name, and a recompute refuses rather than pick a row.
	f := newRoleFixture(t, roleSchema("", principalsRoles), usersTOML, principalsJoin(""))
	if got := check(f, principalsJoin("")); !containsAll(got, []string{`roles: role "Managers" is in principals.lastname 2 times: the lookup is ambiguous`}) {
		t.Errorf("check without a scope: %q", got)
	}
	id, key := f.user(t, "ann")
	if _, err := f.store.CreateGroup(ctx, scim.Resource{"schemas": []any{scim.GroupSchema}, "displayName": "IdP Managers"},
		[]scim.Member{{Value: id}}); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Errorf("group granting an ambiguous role: %v, want a refusal", err)
	}
	if got := memberOf(f, key); len(got) != 0 {
		t.Errorf("member_of after the refusal: %v, want nothing written", got)
	}

	// With scope = { type = "Group" }: the group row's id, and check passes.
	scoped := principalsJoin(`, scope = { type = "Group" }`)
	f = newRoleFixture(t, roleSchema("", principalsRoles), usersTOML, scoped)
	if got := check(f, scoped); len(got) != 0 {
		t.Errorf("check with the scope: %q", got)
	}
	if got := check(f, principalsJoin(`, scope = { kind = "Group" }`)); !containsAll(got, []string{"roles.lookup.scope.kind: column principals.kind does not exist"}) {
		t.Errorf("check with a scope on a missing column: %q", got)
	}
	if got := check(f, strings.Replace(scoped, `role = "Managers"`, `role = "Nobody"`, 1)); !containsAll(got, []string{`roles: role "Nobody" is not in principals.lastname within roles.lookup.scope`}) {
		t.Errorf("check of a role outside the scope: %q", got)
	}
	id, key = f.user(t, "ann")
	f.group(t, "IdP Managers", id)
	var want int64
	if err := f.db.Get(&want, "SELECT id FROM principals WHERE lastname = 'Managers' AND type = 'Group'"); err != nil {
		t.Fatal(err)
	}
	if got := memberOf(f, key); len(got) != 1 || got[0] != want {
		t.Errorf("member_of: %v, want [%d] (the group row)", got, want)
	}
}

func TestRolesLookupScopeRefusesLists(t *testing.T) {
	var rc mapping.RolesConfig
	rc.Store, rc.Table, rc.User, rc.Role = "join", "t", "u", "r"
	rc.Lookup = &mapping.RoleLookup{Table: "p", Key: "id", Name: "n", Scope: map[string]any{"type": []any{"a"}}}
	rc.Rules = []mapping.RoleConfig{{Group: "g", Role: "r"}}
	if _, err := mapping.CompileRoles(&rc); err == nil || !strings.Contains(err.Error(), "roles.lookup.scope.type must be a string, number or boolean") {
		t.Errorf("a list in the scope: %v", err)
	}
}
