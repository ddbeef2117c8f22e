package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// Users and organisations in one table, as Gitea keeps them; the app left type NULL on old user rows.
const sharedSchema = `CREATE TABLE user (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  lower_name VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  type INT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 0,
  UNIQUE KEY UQE_user_lower_name (lower_name),
  UNIQUE KEY UQE_user_name (name)
) ENGINE=InnoDB;
INSERT INTO user (lower_name, name, type, is_active) VALUES ('acme', 'acme', 1, 1), ('legacy', 'legacy', NULL, 1);`

const sharedTOML = `
table = "user"
scope = { type = [0, "null"] }
[columns]
name = "userName"
lower_name = { from = "userName", transform = "lower" }
is_active = "active"
`

func TestScopeWithSeveralValuesAndNull(t *testing.T) {
	t.Parallel()
	store, db, _ := testfix.Store(t, 4, sharedSchema, sharedTOML, mysql.Options{Log: testfix.Log(t)})
	ctx := context.Background()
	if _, err := store.CreateUser(ctx, scim.Resource{"userName": "legacy"}); err != nil {
		t.Fatalf("adopting the type NULL row: %v", err)
	}
	_, err := store.CreateUser(ctx, scim.Resource{"userName": "Acme"})
	if se := scim.AsError(err); se == nil || se.Status != 409 {
		t.Errorf("a user named like the organisation: %v, want 409", err)
	}
	if _, err := store.CreateUser(ctx, scim.Resource{"userName": "newbie"}); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Name string `db:"name"`
		Type *int   `db:"type"`
	}
	if err := db.Select(&rows, "SELECT name, type FROM user ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range rows {
		typ := "NULL"
		if r.Type != nil {
			typ = itoa(int64(*r.Type))
		}
		got = append(got, r.Name+"/"+typ)
	}
	if strings.Join(got, " ") != "acme/1 legacy/NULL newbie/0" {
		t.Errorf("rows = %v", got)
	}
	page, err := store.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 10})
	if err != nil || page.Total != 2 {
		t.Errorf("list: %d users, %v", page.Total, err)
	}

	rep, err := schemacheck.Check(ctx, db, testfix.Users(t, sharedTOML), "scim_")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "1 rows of user are outside users.scope") {
		t.Errorf("check does not count the organisation outside the scope:\n%s", w)
	}
}
