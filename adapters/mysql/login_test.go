package mysql_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// A login column without a unique index, as Redmine's users.login and WordPress's user_login.
const loginSchema = `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  login VARCHAR(255) NOT NULL DEFAULT '',
  mail VARCHAR(255) NOT NULL DEFAULT '',
  status INT NOT NULL DEFAULT 1,
  KEY index_users_on_login (login)
) ENGINE=InnoDB;
INSERT INTO users (login, mail) VALUES ('admin', 'root@example.com');`

const loginTOML = `
table = "users"
%s
[columns]
login = "userName"
mail = "emails[primary].value"
status = { from = "active", map = { true = 1, false = 3 } }
`

func TestLoginLookedUpWhateverMatchExistingBy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ top, wantStatus string }{
		{`on_existing = "conflict"`, "409"},
		{`on_existing = "conflict"` + "\nmatch_existing_by = \"mail\"", "409"},
		{`on_existing = "adopt"`, "adopted"},
		{`match_existing_by = "mail"`, "adopted"},
	} {
		t.Run(c.top, func(t *testing.T) {
			t.Parallel()
			store, db, _ := testfix.Store(t, 4, loginSchema, fmt.Sprintf(loginTOML, c.top), mysql.Options{Log: testfix.Log(t)})
			_, err := store.CreateUser(context.Background(), scim.Resource{"userName": "ADMIN",
				"emails": []any{map[string]any{"value": "new@example.com", "primary": true}}})
			var n int
			if err := db.Get(&n, "SELECT COUNT(*) FROM users WHERE login IN ('admin', 'ADMIN')"); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%d rows with the login admin, want 1", n)
			}
			switch c.wantStatus {
			case "409":
				if se := scim.AsError(err); se == nil || se.Status != 409 {
					t.Errorf("got %v, want 409", err)
				}
			default:
				var mail string
				if err != nil || db.Get(&mail, "SELECT mail FROM users WHERE login IN ('admin', 'ADMIN')") != nil || mail != "new@example.com" {
					t.Errorf("adoption: %v, mail %q", err, mail)
				}
			}
		})
	}
}

func TestConcurrentCreatesOfOneLoginWithoutUniqueIndex(t *testing.T) {
	t.Parallel()
	store, db, _ := testfix.Store(t, 20, loginSchema, fmt.Sprintf(loginTOML, `on_existing = "conflict"`), mysql.Options{Log: testfix.Log(t)})
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "newbie"
			if i%2 == 1 {
				name = "NewBie" // the same login in another case
			}
			_, err := store.CreateUser(context.Background(), scim.Resource{"userName": name})
			if err == nil {
				codes <- 201
				return
			}
			codes <- scim.AsError(err).Status
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != 49 {
		t.Errorf("answers %v, want one 201 and 49 409", count)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM users WHERE login IN ('newbie', 'NewBie')"); err != nil || n != 1 {
		t.Errorf("%d rows with the login newbie (%v), want 1", n, err)
	}
}
