package mysql_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// A list filtered by one userName keeps, in Go, the rows the column's collation finds that are the
// identity (identityPage); it must answer what the SQL comparison answers: the same users, in the same
// order, the same totals, for look-alike logins the collation takes for one another (accents, widths,
// ß and ss, trailing spaces), a deleted and an inactive one among them, at any startIndex and count.
func TestIdentityLookupIsTheSQLComparison(t *testing.T) {
	// No unique login in the app, so that look-alikes that the collation calls equal can all be there.
	schema := strings.Replace(legacyapp.UsersTable(), "UNIQUE KEY email (email)", "KEY email (email)", 1)
	ctx := context.Background()
	fast, db, _ := testfix.Store(t, 4, schema, usersTOML, mysql.Options{})
	if _, err := db.Exec("ALTER TABLE users MODIFY email VARCHAR(190) COLLATE utf8mb4_unicode_ci NOT NULL"); err != nil {
		t.Fatal(err)
	}
	slow := mysql.New(db, testfix.Users(t, usersTOML), mysql.Options{})
	mysql.SQLIdentity(slow)
	names := []string{"alice@example.com", "alicé@example.com", "ａlice@example.com", "alicè@example.com", "gross@example.com",
		"groß@example.com", "bob@example.com", "carol@example.com"}
	ids := map[string]string{}
	for _, n := range names {
		u, err := fast.CreateUser(ctx, resource(t, fmt.Sprintf(`{"userName":%q,"name":{"givenName":"A","familyName":"B"}}`, n)))
		if err != nil {
			t.Logf("%q not created: %v", n, err)
			continue
		}
		ids[n] = u["id"].(string)
	}
	if len(ids) < len(names) {
		t.Fatalf("only %d of the look-alikes were created: the comparison would see too little", len(ids))
	}
	if err := fast.DeleteUser(ctx, ids["alicé@example.com"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.UpdateUser(ctx, ids["alicè@example.com"], func(cur scim.Resource) (scim.Resource, error) {
		cur["active"] = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The app changed logins behind scimbridge's back: the filter reads the app's column.
	for _, q := range []string{"UPDATE users SET email = 'Alice@Example.com' WHERE email = 'bob@example.com'",
		"UPDATE users SET email = 'alice@example.com ' WHERE email = 'carol@example.com'"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	list := func(s *mysql.Store, filter string, start, count int) string {
		f, err := scim.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.ListUsers(ctx, scim.ListQuery{Filter: f, StartIndex: start, Count: count})
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		var got []string
		for _, r := range p.Resources {
			got = append(got, fmt.Sprintf("%s %v %v", r["id"], r["userName"], r["active"]))
		}
		return fmt.Sprintf("total %d: %s", p.Total, strings.Join(got, ", "))
	}
	matched := 0
	for _, v := range append(names, "ALICE@EXAMPLE.COM", "Alice@Example.com", "ALICÉ@example.com", "GROSS@example.com", "alice@example.com ",
		"nobody@example.com") {
		for _, page := range [][2]int{{1, 100}, {1, 1}, {2, 1}, {3, 10}} {
			filter := fmt.Sprintf("userName eq %q", v)
			got, want := list(fast, filter, page[0], page[1]), list(slow, filter, page[0], page[1])
			if got != want {
				t.Errorf("%s, startIndex %d, count %d:\n got %s\nwant %s", filter, page[0], page[1], got, want)
			}
			if !strings.HasPrefix(want, "total 0") {
				matched++
			}
		}
	}
	if matched < 20 {
		t.Errorf("only %d lookups found anyone: the comparison saw too little", matched)
	}
	// Both found what they found by the same rule: the app row changed to Alice@Example.com is alice's
	// identity, and alicé, alicè, ａlice and the trailing space are not.
	if got := list(fast, `userName eq "alice@example.com"`, 1, 100); !strings.HasPrefix(got, "total 2:") {
		t.Errorf("alice@example.com: %s; want alice and the row the app renamed", got)
	}
}

// An adoption lookup reads the rows the column's collation takes for the login and keeps the identity
// among them; where more rows than it reads are such look-alikes (trailing spaces, which PAD SPACE
// ignores), it asks again with the identity compared in SQL, and still adopts the one row that is the
// login itself, which here comes after all the look-alikes on the index.
func TestAdoptionPastManyLookAlikes(t *testing.T) {
	schema := strings.Replace(legacyapp.UsersTable(), "UNIQUE KEY email (email)", "KEY email (email)", 1)
	store, db, _ := testfix.Store(t, 4, schema, usersTOML, mysql.Options{})
	if _, err := db.Exec("ALTER TABLE users MODIFY email VARCHAR(190) COLLATE utf8mb4_unicode_ci NOT NULL"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 105; i++ {
		if _, err := db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES (?, 'x', NOW())", "bob@example.com"+strings.Repeat(" ", i)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Exec("INSERT INTO users (email, password_hash, created_at) VALUES ('bob@example.com', 'x', NOW())")
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := res.LastInsertId()
	if _, err := store.CreateUser(context.Background(), resource(t, `{"userName":"bob@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	var appID, rows int64
	if err := db.Get(&appID, "SELECT app_id FROM scim_users WHERE user_name_lc = 'bob@example.com'"); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&rows, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	if appID != bob || rows != 106 {
		t.Errorf("bob@example.com was given app row %d of %d rows; want the existing row %d of 106", appID, rows, bob)
	}
}
