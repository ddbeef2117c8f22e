package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// MariaDB names the column of errors 1366, 1265 and 1406 in several ways (`db`.`table`.`col`, 'col'):
// the 400 must name it.
func TestColumnErrorsNameTheColumn(t *testing.T) {
	t.Parallel()
	schema := `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login VARCHAR(20) NOT NULL,
  badge_no INT NULL,
  kind ENUM('a', 'b') NULL,
  UNIQUE KEY login (login)
) ENGINE=InnoDB`
	toml := `
table = "users"
on_delete = "delete"
[columns]
login = "userName"
badge_no = "title"
kind = "nickName"
`
	store, _, _ := testfix.Store(t, 4, schema, toml, mysql.Options{Log: testfix.Log(t)})
	for _, c := range []struct {
		r    scim.Resource
		want string
	}{
		{scim.Resource{"userName": strings.Repeat("x", 21)}, `"login"`},   // 1406
		{scim.Resource{"userName": "a", "title": "twelve"}, `"badge_no"`}, // 1366
		{scim.Resource{"userName": "b", "nickName": "zzz"}, `"kind"`},     // 1265
	} {
		_, err := store.CreateUser(context.Background(), c.r)
		if se := scim.AsError(err); se == nil || se.Status != 400 || !strings.Contains(se.Detail, c.want) {
			t.Errorf("%v: got %v, want 400 naming %s", c.r, err, c.want)
		}
	}
}
