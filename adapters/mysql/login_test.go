package mysql_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
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

// Concurrent POSTs of one login that an unmanaged app row already holds (adopted) or that a user
// deleted through SCIM held (its tombstone revived): one 201, the rest 409, one app row, one live user.
// The reads lock the row or tombstone they find, so the second create waits for the first and then
// finds it taken.
func TestConcurrentAdoptionsAndRevivalsOfOneLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	race := func(t *testing.T, store *mysql.Store, login string) map[int]int {
		t.Helper()
		var wg sync.WaitGroup
		codes := make(chan int, 40)
		for i := range 40 {
			wg.Go(func() {
				name := login
				if i%2 == 1 {
					name = strings.ToUpper(login)
				}
				_, err := store.CreateUser(ctx, scim.Resource{"userName": name})
				if err == nil {
					codes <- 201
					return
				}
				if se := scim.AsError(err); se != nil {
					codes <- se.Status
					return
				}
				t.Errorf("create: %v", err)
				codes <- 0
			})
		}
		wg.Wait()
		close(codes)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		return count
	}
	rows := func(t *testing.T, db *sqlx.DB, login string) (app, live int) {
		t.Helper()
		if err := db.Get(&app, "SELECT COUNT(*) FROM users WHERE login = ?", login); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(&live, "SELECT COUNT(*) FROM scim_users WHERE user_name_lc = ? AND deleted_at IS NULL", login); err != nil {
			t.Fatal(err)
		}
		return app, live
	}
	t.Run("adopt", func(t *testing.T) {
		t.Parallel()
		store, db, _ := testfix.Store(t, 20, loginSchema, fmt.Sprintf(loginTOML, `on_existing = "adopt"`), mysql.Options{Log: testfix.Log(t)})
		if got := race(t, store, "admin"); got[201] != 1 || got[409] != 39 {
			t.Errorf("answers %v, want one 201 and 39 409", got)
		}
		if app, live := rows(t, db, "admin"); app != 1 || live != 1 {
			t.Errorf("%d app rows and %d live users with the login admin, want 1 and 1", app, live)
		}
	})
	t.Run("revive", func(t *testing.T) {
		t.Parallel()
		store, db, _ := testfix.Store(t, 20, loginSchema, fmt.Sprintf(loginTOML, `on_existing = "conflict"`), mysql.Options{Log: testfix.Log(t)})
		u, err := store.CreateUser(ctx, scim.Resource{"userName": "ghost"})
		if err != nil {
			t.Fatal(err)
		}
		var key int64
		if err := db.Get(&key, "SELECT app_id FROM scim_users WHERE id = ?", u["id"]); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteUser(ctx, u["id"].(string), nil); err != nil {
			t.Fatal(err)
		}
		if got := race(t, store, "ghost"); got[201] != 1 || got[409] != 39 {
			t.Errorf("answers %v, want one 201 and 39 409", got)
		}
		if app, live := rows(t, db, "ghost"); app != 1 || live != 1 {
			t.Errorf("%d app rows and %d live users with the login ghost, want 1 and 1", app, live)
		}
		var now int64
		if err := db.Get(&now, "SELECT app_id FROM scim_users WHERE user_name_lc = 'ghost' AND deleted_at IS NULL"); err != nil || now != key {
			t.Errorf("the live ghost is app row %d (%v), want the deleted user's row %d revived", now, err, key)
		}
	})
}
