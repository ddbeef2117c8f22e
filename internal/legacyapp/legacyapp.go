// Package legacyapp is the small legacy users table, and scimbridge's mapping onto it, that the tests and
// benchmarks of several packages share, so that they exercise the same thing and change together.
// (examples/legacy-app is the full, documented example; this is its minimal core.)
package legacyapp

import "strings"

// UsersTable is the CREATE TABLE of a legacy app's users table: an AUTO_INCREMENT key, a unique login
// email, a status code and NOT NULL columns the IdP never sends. extra columns ("role VARCHAR(32) NULL")
// are added before the keys.
func UsersTable(extra ...string) string {
	var cols strings.Builder
	for _, c := range extra {
		cols.WriteString("  " + c + ",\n")
	}
	return `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  email_lower VARCHAR(190) NULL,
  first_name VARCHAR(100) NULL,
  last_name VARCHAR(100) NULL,
  display_name VARCHAR(200) NULL,
  status TINYINT NOT NULL DEFAULT 1,
  password_hash VARCHAR(255) NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NULL,
` + cols.String() + `  UNIQUE KEY email (email)
) ENGINE=InnoDB;
`
}

// UsersTOML is the [users] mapping onto UsersTable, as TOML (decode it into a mapping.UsersConfig).
const UsersTOML = `
table = "users"
key = "id"
match_existing_by = "email"
[columns]
email = "userName"
email_lower = { from = "userName", transform = "lower" }
first_name = "name.givenName"
last_name = "name.familyName"
display_name = { from = "displayName", default = "{name.givenName} {name.familyName}" }
status = { from = "active", map = { true = 1, false = [3, 2] } }
password_hash = { on_insert = "!scim" }
created_at = { on_insert = "now" }
updated_at = { on_write = "now" }
`

// UsersMapping is UsersTOML with top-level keys (`on_existing = "conflict"`, or "") put before it and
// extra column mappings (`job_title = "title"`) added to its [columns].
func UsersMapping(topLevel string, extraColumns ...string) string {
	var cols strings.Builder
	for _, c := range extraColumns {
		cols.WriteString(c + "\n")
	}
	return topLevel + "\n" + UsersTOML + cols.String()
}

// RoleRules are the [[rules]] of a role mapping onto UsersTable: the group Admins grants admin, Support
// grants support, and admin wins when a user is in both.
const RoleRules = `
[[rules]]
group = "Admins"
role = "admin"
priority = 100
[[rules]]
group = "Support"
role = "support"
priority = 50
`

// RoleColumn is the extra column of UsersTable that ColumnRolesTOML writes the role into.
const RoleColumn = "role VARCHAR(32) NULL"

// ColumnRolesTOML is a [roles] section's body (decode it into a mapping.RolesConfig) that keeps one role
// per user in RoleColumn, by RoleRules, and "viewer" for a user in neither group.
const ColumnRolesTOML = `
store = "column"
column = "role"
default = "viewer"
` + RoleRules
