package schemacheck_test

import (
	"strings"
	"testing"
)

func TestCheckReportsIdentityCollationsAndUnknownStatuses(t *testing.T) {
	schema := `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) COLLATE utf8mb4_unicode_ci NOT NULL,
  work_email VARCHAR(190) COLLATE utf8mb4_bin NULL,
  status TINYINT NOT NULL DEFAULT 1,
  UNIQUE KEY email (email)
) ENGINE=InnoDB;
INSERT INTO users (email, status) VALUES ('a@x', 1), ('b@x', 7), ('c@x', 7), ('d@x', 0), ('e@x', 3);`
	rep := checkReport(t, schema, `
table = "users"
match_existing_by = "email"
[columns]
email = "userName"
work_email = "emails[type eq \"work\"].value"
status = { from = "active", map = { true = 1, false = [3, 2] } }
`)
	if len(rep.Problems) > 0 {
		t.Errorf("problems: %v", rep.Problems)
	}
	all := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{
		"users.email (userName) has the collation utf8mb4_unicode_ci, which ignores accents (é = e), width (ａ = a), ß = ss",
		"then keeps only values that differ in letter case alone",
		"the column's unique index still makes the app refuse a look-alike of an existing value",
		"users.status holds values the active map does not list: 7 (2 rows), 0 (1 rows). scimbridge reads those users as inactive",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	for _, w := range rep.Warnings {
		if strings.Contains(w, "work_email") && strings.Contains(w, "collation") {
			t.Errorf("a utf8mb4_bin column was reported: %s", w)
		}
	}
}
