package config

import (
	"strings"
	"testing"
)

// [roles] as one table keeps working; [[roles]] gives several stores; two stores writing the same place
// and unknown keys in either form are refused with their line.
func TestRoleStoresForms(t *testing.T) {
	one := minimal + `
[roles]
store = "flags"
[[roles.rules]]
group = "Admins"
column = "is_admin"
`
	cfg, err := Parse([]byte(one), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.RoleStores()); got != 1 || cfg.RolesMapping() == nil || cfg.MoreRoleStores() != nil {
		t.Errorf("[roles]: %d stores", got)
	}
	two := minimal + `
[[roles]]
store = "flags"
[[roles.rules]]
group = "Admins"
column = "is_admin"

[[roles]]
store = "join"
table = "user_roles"
user = "user_id"
role = "role_id"
lookup = { table = "roles", key = "id", name = "name" }
[[roles.rules]]
group = "Admins"
role = "admin"
`
	cfg, err = Parse([]byte(two), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.RoleStores(); len(got) != 2 || got[0].Store != "flags" || got[1].Store != "join" || len(cfg.MoreRoleStores()) != 1 {
		t.Errorf("[[roles]]: %+v", got)
	}
	for name, tc := range map[string]struct{ toml, want string }{
		"same place twice": {minimal + `
[[roles]]
store = "list"
column = "roles"
[[roles.rules]]
group = "A"
role = "a"
[[roles]]
store = "list"
column = "roles"
[[roles.rules]]
group = "B"
role = "b"
`, "roles[1]: writes the same place as roles[0] (list:roles)"},
		"unknown key in [[roles]]": {strings.Replace(two, `store = "join"`, "store = \"join\"\nseperator = \",\"", 1), "seperator"},
		"unknown key in [roles]":   {strings.Replace(one, `store = "flags"`, "store = \"flags\"\nauthoritive = true", 1), "authoritive"},
		"error in the second store": {strings.Replace(two, `lookup = { table = "roles", key = "id", name = "name" }`, "", 1),
			"roles[1]: roles.lookup = { table, key, name } is required"},
	} {
		_, err := Parse([]byte(tc.toml), "c.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
