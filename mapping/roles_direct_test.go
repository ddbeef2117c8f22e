package mapping_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/mapping"
)

const listRolesDirect = `
store = "list"
column = "roles"
%s
[[rules]]
group = "Admins"
role = "admin"
priority = 10
[[rules]]
group = "Editors"
role = "editor"
priority = 5
[[rules]]
group = "Staff"
role = "viewer"
`

func withDirect(mode string) string {
	line := ""
	if mode != "" {
		line = `direct = "` + mode + `"`
	}
	return strings.Replace(listRolesDirect, "%s", line, 1)
}

// Direct assignments and group rules combine by [roles] direct: union by default, in the rules' order
// (priority), and a direct role the store does not manage is not written by it.
func TestCombineDirectAndGroupRoles(t *testing.T) {
	staff := []mapping.Group{{DisplayName: "staff"}}
	for _, c := range []struct {
		mode   string
		groups []mapping.Group
		direct []string
		want   []string
	}{
		{"", staff, []string{"admin"}, []string{"admin", "viewer"}},
		{"union", staff, []string{"viewer"}, []string{"viewer"}},
		{"union", nil, []string{"editor", "admin", "other-store-role"}, []string{"admin", "editor"}},
		{"union", staff, nil, []string{"viewer"}},
		{"direct_only", staff, []string{"editor"}, []string{"editor"}},
		{"direct_only", staff, nil, nil},
		{"groups_only", staff, []string{"admin"}, []string{"viewer"}},
	} {
		r := mustRoles(t, withDirect(c.mode))
		got := r.Combine(r.Granted(c.groups), c.direct)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("direct = %q, groups %v, direct roles %v: got %v, want %v", c.mode, c.groups, c.direct, got, c.want)
		}
	}
}

func TestDirectModeValidated(t *testing.T) {
	if _, err := compileRolesTOML(t, withDirect("both")); err == nil || !strings.Contains(err.Error(), `roles.direct must be "union", "direct_only" or "groups_only", got "both"`) {
		t.Fatalf("err = %v", err)
	}
	if r := mustRoles(t, withDirect("")); r.Direct != mapping.DirectUnion {
		t.Fatalf("default direct = %q, want union", r.Direct)
	}
}

// A client's value names a published role exactly or in another letter case; a store with
// groups_only does not take direct assignments; a value no rule names is unknown.
func TestDirectRoleLookup(t *testing.T) {
	union := mustRoles(t, withDirect(""))
	groupsOnly := mustRoles(t, strings.ReplaceAll(withDirect("groups_only"), `"roles"`, `"flags_list"`))
	stores := []*mapping.Roles{union}
	for _, c := range []struct {
		value, name      string
		assignable, isOK bool
	}{
		{"admin", "admin", true, true},
		{"Admin", "admin", true, true},
		{"superuser", "", false, false},
	} {
		name, assignable, ok := mapping.DirectRole(stores, c.value)
		if name != c.name || assignable != c.assignable || ok != c.isOK {
			t.Errorf("%q: got %q %v %v, want %q %v %v", c.value, name, assignable, ok, c.name, c.assignable, c.isOK)
		}
	}
	if name, assignable, ok := mapping.DirectRole([]*mapping.Roles{groupsOnly}, "editor"); name != "editor" || assignable || !ok {
		t.Errorf("groups_only store: got %q %v %v, want editor, not assignable", name, assignable, ok)
	}
	if got := mapping.PublishedRoles([]*mapping.Roles{union, groupsOnly}); !reflect.DeepEqual(got, []string{"admin", "editor", "viewer"}) {
		t.Errorf("published = %v", got)
	}
}
