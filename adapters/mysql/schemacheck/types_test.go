package schemacheck_test

import (
	"strings"
	"testing"
)

// A text constant or value map into an INT column, a constant longer than its column and a VARCHAR
// shorter than ordinary values are problems that say what happens and how to fix it; a mapping that
// fits has none of them.
func TestCheckTypesOfWhatTheMappingWrites(t *testing.T) {
	schema := `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(20) NOT NULL,
  first_name VARCHAR(100) NULL,
  status INT NOT NULL DEFAULT 1,
  kind INT NOT NULL,
  source CHAR(3) NOT NULL,
  UNIQUE KEY email (email)
) ENGINE=InnoDB;`
	rep := checkReport(t, schema, `
table = "users"
[columns]
email = "userName"
first_name = "name.givenName"
status = { from = "active", map = { true = "on", false = "off" } }
kind = { on_insert = "!disabled" }
source = { on_insert = "scim" }
`)
	all := strings.Join(rep.Problems, "\n")
	for _, want := range []string{
		`users.columns.status: the mapping writes the text "on" into users.status, which is INT`,
		`users.columns.kind: the mapping writes the text "!disabled" into users.kind, which is INT`,
		`users.columns.source: the mapping writes "scim" (4 characters) into users.source, which holds 3`,
		`users.columns.email: users.email holds 20 characters, but userName values commonly reach 50: scimbridge refuses a longer value with 400 invalidValue`,
		"Fix: ALTER TABLE `users` MODIFY `email` VARCHAR(100)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "first_name") {
		t.Errorf("first_name fits:\n%s", all)
	}

	fits := checkReport(t, strings.ReplaceAll(strings.ReplaceAll(schema, "VARCHAR(20)", "VARCHAR(190)"), "CHAR(3)", "CHAR(8)"), `
table = "users"
[columns]
email = "userName"
first_name = "name.givenName"
status = { from = "active", map = { true = 1, false = "3" } }
kind = { on_insert = 0 }
source = { on_insert = "scim" }
`)
	if len(fits.Problems) > 0 {
		t.Errorf("a mapping that fits: %v", fits.Problems)
	}
}
