package schemacheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// wantAll fails the test for every fragment no message of got contains, and when got has another
// number of messages than want.
func wantAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s lack %q; they are:\n%s", what, w, all)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d %s, want %d:\n%s", len(got), what, len(want), all)
	}
}

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

func TestCheckSidePlacementsPass(t *testing.T) {
	// The key-value table and its columns are reserved words: `keys`, `key`, `value`.
	schema := "CREATE TABLE users (\n" +
		"  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,\n" +
		"  login VARCHAR(191) NOT NULL UNIQUE,\n" +
		"  status TINYINT NOT NULL DEFAULT 1,\n" +
		"  profile JSON NOT NULL,\n" +
		"  created_at DATETIME NOT NULL\n" +
		") ENGINE=InnoDB;\n" +
		"CREATE TABLE profiles (user_id INT UNSIGNED NOT NULL PRIMARY KEY, title VARCHAR(100) NULL, department VARCHAR(100) NULL,\n" +
		"  updated_at DATETIME NULL, note TEXT NULL, KEY department (department)) ENGINE=InnoDB;\n" +
		"CREATE TABLE emails (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id INT UNSIGNED NOT NULL,\n" +
		"  source VARCHAR(10) NOT NULL, address VARCHAR(191) NOT NULL, kind VARCHAR(10) NULL, is_primary TINYINT(1) NOT NULL DEFAULT 0,\n" +
		"  KEY user_source (user_id, source), KEY address (address)) ENGINE=InnoDB;\n" +
		"CREATE TABLE phones (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, number VARCHAR(40) NOT NULL,\n" +
		"  KEY user_id (user_id)) ENGINE=InnoDB;\n" +
		"CREATE TABLE `keys` (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id INT UNSIGNED NOT NULL,\n" +
		"  `key` VARCHAR(64) NOT NULL, `value` TEXT NULL, UNIQUE KEY user_key (user_id, `key`), KEY `key` (`key`)) ENGINE=InnoDB;\n"
	rep := checkReport(t, schema, `
table = "users"
match_existing_by = "login"
[columns]
login = "userName"
status = { from = "active", map = { true = 1, false = 3 } }
created_at = { on_insert = "now" }

[[tables]]
table = "profiles"
foreign_key = "user_id"
columns = { title = "title", department = "`+enterprise+`department", updated_at = { on_write = "now" } }

[[lists]]
attribute = "emails"
table = "emails"
foreign_key = "user_id"
scope = { source = "scim" }
columns = { address = "value", kind = "type", is_primary = "primary" }

[[lists]]
attribute = "phoneNumbers"
table = "phones"
foreign_key = "user_id"
columns = { number = "value" }

[[keyvalue]]
table = "keys"
foreign_key = "user_id"
key_column = "key"
value_column = "value"
keys = { locale = "locale", nick = "nickName" }

[json.profile]
"$.name.first" = "name.givenName"
"$.manager" = "`+enterprise+`manager.value"
`)
	if len(rep.Problems) > 0 {
		t.Errorf("problems in a correct schema:\n%s", strings.Join(rep.Problems, "\n"))
	}
	wantAll(t, "warnings", rep.Warnings, []string{
		"users.login (userName) has the collation utf8mb4_unicode_ci, which ignores accents (é = e), width (ａ = a), ß = ss",
		"emails.address (emails.value) has the collation utf8mb4_unicode_ci",
		"users.status (active) has no index: a filter on active scans the table; this would serve it: CREATE INDEX `scim_status` ON `users` (`status`)",
		"users.tables[0]: filters on title scan the whole table profiles: no index starts with title",
		"users.lists[1]: no index of phones starts with number: filters such as `phoneNumbers.value eq \"...\"`",
		"users.json.profile: filters on " + enterprise + "manager.value, name.givenName scan the whole table users",
		"scim_users",
	})
}

func TestCheckSidePlacementsReportEverythingAtOnce(t *testing.T) {
	schema := "CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, login VARCHAR(191) NOT NULL UNIQUE,\n" +
		"  active TINYINT NOT NULL DEFAULT 1, settings INT NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE profiles (user_id VARCHAR(20) NOT NULL, department DATETIME NULL, cost_center VARCHAR(20) NOT NULL,\n" +
		"  badge VARCHAR(10) NOT NULL, KEY user_id (user_id)) ENGINE=InnoDB;\n" +
		"CREATE TABLE emails (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, owner INT NOT NULL, address VARCHAR(191) NULL,\n" +
		"  kind VARCHAR(10) NOT NULL, verified_flag TINYINT NOT NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE phones (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, number VARCHAR(40) NULL,\n" +
		"  is_main DATETIME NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE `order` (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, `key` INT NOT NULL,\n" +
		"  note VARCHAR(10) NOT NULL) ENGINE=InnoDB;\n" +
		"CREATE TABLE meta (user_id INT NOT NULL, k VARCHAR(4) NOT NULL, v TEXT NULL, PRIMARY KEY (user_id, k), KEY k (k)) ENGINE=InnoDB;\n"
	rep := checkReport(t, schema, `
table = "users"
[columns]
login = "userName"
active = "active"

[[tables]]
table = "nope_profiles"
foreign_key = "user_id"
columns = { title = "title" }

[[tables]]
table = "profiles"
foreign_key = "user_id"
columns = { title = "title", department = "`+enterprise+`department", cost_center = "`+enterprise+`costCenter" }

[[lists]]
attribute = "emails"
table = "emails"
foreign_key = "user_id"
scope = { origin = "scim" }
columns = { address = "value", kind = "type" }

[[lists]]
attribute = "phoneNumbers"
table = "phones"
foreign_key = "user_id"
columns = { number = "value", is_main = "primary" }

[[keyvalue]]
table = "order"
foreign_key = "user_id"
key_column = "key"
value_column = "value"
keys = { nick = "nickName" }

[[keyvalue]]
table = "meta"
foreign_key = "user_id"
key_column = "k"
value_column = "v"
keys = { locale = "locale" }

[json.doc]
"$.x" = "displayName"

[json.settings]
"$.y" = "profileUrl"
`)
	wantAll(t, "problems", rep.Problems, []string{
		`users.tables[0]: table "nope_profiles" does not exist in this database`,
		"users.tables[1].foreign_key: profiles.user_id is varchar but the users key users.id is int: both must be numbers or both text",
		"users.tables[1].foreign_key: profiles.user_id is neither the primary key nor a single-column unique key of profiles, so a user could have two rows there",
		"users.tables[1].columns.title: column profiles.title does not exist",
		"users.tables[1].columns.department: profiles.department is datetime, but the mapping writes text",
		"users.tables[1]: profiles.badge is NOT NULL without a default and scimbridge does not write it",
		"users.lists[0].foreign_key: column emails.user_id does not exist",
		"users.lists[0].scope: column emails.origin does not exist",
		"users.lists[0]: emails.owner is NOT NULL without a default",
		"users.lists[0]: emails.verified_flag is NOT NULL without a default",
		"users.lists[1].columns.is_main: phones.is_main is datetime, but the mapping writes a boolean",
		"users.keyvalue[0].key_column: order.key is int, but scimbridge keeps text in it",
		"users.keyvalue[0].value_column: column order.value does not exist",
		"users.keyvalue[0]: order.note is NOT NULL without a default",
		`users.keyvalue[1].keys.locale: meta.k holds 4 characters, too few for the key "locale"`,
		"users.json.doc: column users.doc does not exist",
		"users.json.settings: users.settings is int, but it must hold a JSON document",
	})
	wantAll(t, "warnings", rep.Warnings, []string{
		"users.login (userName) has the collation utf8mb4_unicode_ci",
		"emails.address (emails.value) has the collation utf8mb4_unicode_ci",
		"users.active (active) has no index: a filter on active scans the table; this would serve it: CREATE INDEX `scim_active` ON `users` (`active`)",
		"users.tables[1]: profiles.cost_center holds " + enterprise + "costCenter but is NOT NULL without a default",
		"users.tables[1]: filters on " + enterprise + "costCenter, " + enterprise + "department scan the whole table profiles: no index starts with cost_center, department",
		"users.lists[0]: emails.kind holds emails.type but is NOT NULL without a default: an element the IdP sends without type is refused",
		"users.lists[0]: no index of emails starts with address",
		"users.lists[1]: no index of phones starts with user_id: reading any user's phoneNumbers scans the whole table",
		"users.lists[1]: no index of phones starts with number",
		"users.keyvalue[0]: no index of order starts with user_id",
		"users.keyvalue[0]: filters on nickName scan the whole table order: no index starts with key",
		"users.json.settings: filters on profileUrl scan the whole table users",
		"scim_users",
	})
}

// The shipped examples pass their own check.
func TestCheckPassesTheReachExamples(t *testing.T) {
	for _, name := range []string{"helpdesk", "kv-meta", "json-profile"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "..", "examples", name)
			data, err := os.ReadFile(filepath.Join(dir, "scimbridge.toml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(data, filepath.Join(dir, "scimbridge.toml"))
			if err != nil {
				t.Fatal(err)
			}
			_, db := testfix.DB(t, 2, "", readFile(t, filepath.Join(dir, "schema.sql")))
			ctx := context.Background()
			rep, err := schemacheck.Check(ctx, db, cfg.UsersMapping(), "scim_")
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) > 0 {
				t.Errorf("examples/%s fails its own check:\n%s", name, strings.Join(rep.Problems, "\n"))
			}
			for _, w := range rep.Warnings {
				t.Logf("warning: %s", w)
			}
		})
	}
}

func TestCheckSideForeignKeyAgainstTextKeys(t *testing.T) {
	schema := "CREATE TABLE m (k CHAR(24) NOT NULL PRIMARY KEY, email VARCHAR(191) NOT NULL UNIQUE) ENGINE=InnoDB;\n" +
		"CREATE TABLE short_fk (k VARCHAR(10) NOT NULL PRIMARY KEY, title VARCHAR(50) NULL, KEY title (title)) ENGINE=InnoDB;\n" +
		"CREATE TABLE num_fk (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, number VARCHAR(40) NULL,\n" +
		"  KEY k (k), KEY number (number)) ENGINE=InnoDB;\n"
	rep := checkReport(t, schema, `
table = "m"
key = "k"
key_generation = { random_length = 24 }
on_delete = "delete"
[columns]
email = "userName"

[[tables]]
table = "short_fk"
foreign_key = "k"
columns = { title = "title" }

[[lists]]
attribute = "phoneNumbers"
table = "num_fk"
foreign_key = "k"
columns = { number = "value" }
`)
	wantAll(t, "problems", rep.Problems, []string{
		"users.lists[0].foreign_key: num_fk.k is int but the users key m.k is char: both must be numbers or both text",
	})
	wantAll(t, "warnings", rep.Warnings, []string{
		"m.email (userName) has the collation utf8mb4_unicode_ci",
		"users.tables[0].foreign_key: short_fk.k holds 10 characters but the users key m.k holds 24: longer keys will not fit",
		"scim_users",
	})
}
