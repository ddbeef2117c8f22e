package schemacheck_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/mapping"
)

// check names the app columns that filters read but no index serves, with the CREATE INDEX that would;
// run as printed, the statement makes the warning go, and EXPLAIN of a filter's lookup then uses it.
func TestCheckNamesUnindexedFilterColumns(t *testing.T) {
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(`
table = "users"
[columns]
email = "userName"
last_name = "name.familyName"
bio = "title"
active = { from = "active", when_true = 1, when_false = 0 }
`, &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := mysql.Open(testdb.New(t, `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  last_name VARCHAR(100) NULL,
  bio TEXT NULL,
  active TINYINT NOT NULL DEFAULT 1,
  KEY active (active),
  UNIQUE KEY email (email)
) ENGINE=InnoDB;`), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rep, err := schemacheck.Check(ctx, db, m, "scim_")
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile("CREATE INDEX .*$")
	var stmts []string
	for _, w := range rep.Warnings {
		if strings.Contains(w, "has no index: a filter on") {
			stmts = append(stmts, create.FindString(w))
		}
	}
	want := []string{"CREATE INDEX `scim_bio` ON `users` (`bio`(191))", "CREATE INDEX `scim_last_name` ON `users` (`last_name`)"}
	if strings.Join(stmts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("suggested indexes:\n%s\nwant (not the key, userName or the indexed active):\n%s", strings.Join(stmts, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if rep, err = schemacheck.Check(ctx, db, m, "scim_"); err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "has no index: a filter on") {
			t.Errorf("after the suggested CREATE INDEX: %s", w)
		}
	}
	r := db.QueryRowxContext(ctx, "EXPLAIN SELECT id FROM users WHERE last_name = 'Lee'")
	cols := map[string]any{}
	if err := r.MapScan(cols); err != nil {
		t.Fatal(err)
	}
	if k, _ := cols["key"].([]byte); string(k) != "scim_last_name" {
		t.Fatalf("EXPLAIN key = %v; want scim_last_name", cols["key"])
	}
}
