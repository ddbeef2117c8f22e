package schemacheck_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/mapping"
)

func checkReport(t *testing.T, schema, usersTOML string) schemacheck.Report {
	t.Helper()
	db := testfix.Open(t, testdb.New(t, schema), 2)
	rep, err := schemacheck.Check(context.Background(), db, testfix.Users(t, usersTOML), "scim_")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckReportsEverythingAtOnce(t *testing.T) {
	schema := `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  status TINYINT NOT NULL DEFAULT 1,
  created_at VARCHAR(20) NULL,
  deleted_ms INT NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  tenant_id INT NOT NULL
) ENGINE=InnoDB;`
	rep := checkReport(t, schema, `
table = "users"
match_existing_by = "email"
[columns]
email = "userName"
first_name = "name.givenName"
status = { from = "active", map = { true = 1, false = 3 } }
created_at = { on_insert = "now" }
deleted_ms = { from = "nickName" }
archived = { from = "active", when_true = 0, when_false = "now_unix_ms" }
`)
	want := []string{
		"users.columns.first_name: column users.first_name does not exist",
		"users.columns.created_at: users.created_at is varchar, but the mapping writes a date-time",
		"users.columns.archived: column users.archived does not exist",
		"users.password_hash is NOT NULL without a default and nothing maps it",
		"users.tenant_id is NOT NULL without a default and nothing maps it",
		"users.columns.deleted_ms: users.deleted_ms is NOT NULL without a default, but nickName is optional",
	}
	all := strings.Join(rep.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("report lacks %q; it says:\n%s", w, all)
		}
	}
	if len(rep.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(rep.Problems), len(want), all)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "users.match_existing_by: users.email has no unique index: scimbridge keeps userNames unique itself") {
		t.Errorf("no warning about the adoption key without a unique index: %v", rep.Warnings)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "scim_users") {
		t.Errorf("no warning about unmigrated bookkeeping tables: %v", rep.Warnings)
	}
}

func TestCheckPassesTheExampleSchema(t *testing.T) {
	var cfg struct {
		Users mapping.UsersConfig `toml:"users"`
	}
	if _, err := toml.DecodeFile("../../../config.example.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(cfg.Users)
	if err != nil {
		t.Fatal(err)
	}
	_, db := testfix.DB(t, 2, "", readFile(t, "../../../examples/legacy-app/schema.sql"))
	rep, err := schemacheck.Check(context.Background(), db, m, "scim_")
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("the example schema fails its own check: %v %v", rep.Problems, err)
	}
}

func TestCheckKeyGenerationMismatch(t *testing.T) {
	rep := checkReport(t, "CREATE TABLE u (id CHAR(20) NOT NULL PRIMARY KEY, login VARCHAR(50) NOT NULL UNIQUE, active TINYINT NOT NULL) ENGINE=InnoDB;", `
table = "u"
key_generation = "uuid"
[columns]
login = "userName"
active = "active"
`)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "holds 20 characters but generated keys have 36") {
		t.Fatalf("problems = %v", rep.Problems)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
