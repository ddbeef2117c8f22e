package agent_test

// Identity is exact: a userName or email that only looks like another (an accent, full width, ß for ss,
// a dotted capital İ, an IDN look-alike domain, a full-width at sign, a trailing space) never adopts,
// conflicts with, or is found as the plain ASCII user, although the app's column is utf8mb4_unicode_ci,
// whose comparisons call them equal. A genuine case difference still is the same user.

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

// identityAppSchema is e2eAppSchema with a plain (not unique) index on the login, in the collation most
// real schemas have, so that the app itself accepts look-alike logins side by side.
var identityAppSchema = strings.Replace(e2eAppSchema, "UNIQUE KEY email (email)\n) ENGINE=InnoDB;",
	"KEY email (email)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;", 1)

// identitySeed are accounts the app had before SCIM; bob is suspended (status 3).
const identitySeed = `INSERT INTO users (email, first_name, status, password_hash, created_at) VALUES
	('alice@example.com', 'Alice', 1, 'hash-alice', NOW()),
	('bob@example.com', 'Bob', 3, 'hash-bob', NOW()),
	('gross@example.com', 'Gross', 1, 'hash-gross', NOW()),
	('zoë.núñez@example.com', 'Zoë', 1, 'hash-zoe', NOW())`

// lookalikes of the seeded accounts (and of victim@example.com, provisioned through SCIM in the tests).
var lookalikes = []struct{ name, of string }{
	{"alicé@example.com", "alice@example.com"},         // accent
	{"ａlice@example.com", "alice@example.com"},         // full-width a
	{"alice＠example.com", "alice@example.com"},         // full-width at sign
	{"bob@exámple.com", "bob@example.com"},             // IDN look-alike domain
	{"groß@example.com", "gross@example.com"},          // ß for ss
	{"zoe.nunez@example.com", "zoë.núñez@example.com"}, // the accents the other way round
	{"VİCTIM@example.com", "victim@example.com"},       // dotted capital I
	{"vıctim@example.com", "victim@example.com"},       // dotless small i
	{"victim@exämple.com", "victim@example.com"},       // IDN look-alike domain
	{"ｖｉｃｔｉｍ@example.com", "victim@example.com"},       // full width
}

func newIdentityE2E(t *testing.T, extraTOML string) *e2eEnv {
	t.Helper()
	e := newE2E(t, e2eOptions{appSchema: identityAppSchema, extraTOML: extraTOML})
	if _, err := e.db.Exec(identitySeed); err != nil {
		t.Fatal(err)
	}
	e.createUser(`{"userName":"victim@example.com","name":{"givenName":"Vic"},"emails":[{"value":"victim@example.com","primary":true}]}`)
	return e
}

// exactRow reads the app row whose email is name byte for byte.
func (e *e2eEnv) exactRow(name string) e2eRow {
	e.t.Helper()
	return e.appRow("CAST(email AS BINARY) = CAST(? AS BINARY)", name)
}

func TestLookalikeUserNamesNeitherAdoptNorConflict(t *testing.T) {
	for _, mode := range []string{`on_existing = "adopt"`, `on_existing = "conflict"`} {
		t.Run(mode, func(t *testing.T) {
			e := newIdentityE2E(t, mode)
			before := map[string]e2eRow{}
			for _, l := range lookalikes {
				before[l.of] = e.exactRow(l.of)
			}
			for _, l := range lookalikes {
				r := e.do("POST", "/Users", map[string]any{"userName": l.name, "name": map[string]any{"givenName": "Mallory"},
					"emails": []any{map[string]any{"value": l.name, "primary": true}}})
				if r.Status != 201 {
					t.Errorf("POST %q (a look-alike of %s): %s, want 201 and a new account", l.name, l.of, r)
					continue
				}
				row := e.exactRow(l.name)
				if row.str("id") == before[l.of].str("id") || row.str("password_hash") != "!scim" {
					t.Errorf("POST %q took over %s's row: %v", l.name, l.of, row)
				}
			}
			for of, was := range before {
				now := e.exactRow(of)
				for _, col := range []string{"id", "email", "first_name", "status", "password_hash"} {
					if now.str(col) != was.str(col) {
						t.Errorf("%s's row changed: %s %q -> %q", of, col, was.str(col), now.str(col))
					}
				}
			}
			if bob := e.exactRow("bob@example.com"); bob.str("status") != "3" {
				t.Errorf("suspended bob reactivated: status %s", bob.str("status"))
			}
		})
	}
}

func TestCaseDifferenceIsTheSameUser(t *testing.T) {
	e := newIdentityE2E(t, `on_existing = "adopt"`)
	alice := e.exactRow("alice@example.com")
	created := e.createUser(`{"userName":"Alice@Example.COM","name":{"givenName":"Alice"}}`)
	if got := e.appRows("email = ?", "alice@example.com"); len(got) != 1 || got[0].str("id") != alice.str("id") ||
		got[0].str("password_hash") != "hash-alice" {
		t.Fatalf("Alice@Example.COM did not adopt alice's row: %v", got)
	}
	// The bookkeeping's unique key is case-insensitive too: the same name in other case is a duplicate.
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"VICTIM@EXAMPLE.COM"}`), 409, scim.TypeUniqueness)
	e2eWantError(t, e.do("POST", "/Users", `{"userName":"alice@example.com"}`), 409, scim.TypeUniqueness)
	for _, q := range []string{`userName eq "ALICE@example.com"`, `userName eq "alice@EXAMPLE.com"`} {
		r := e.want(e.list("filter", q), 200, q)
		if ids := listIDs(r); len(ids) != 1 || ids[0] != created["id"] {
			t.Errorf("%s: %v, want only %v", q, ids, created["id"])
		}
	}
}

func TestLookalikeFiltersFindOnlyThemselves(t *testing.T) {
	e := newIdentityE2E(t, `on_existing = "adopt"`)
	ids := map[string]string{}
	e.createUser(`{"userName":"alice@example.com","emails":[{"value":"alice@example.com","primary":true}]}`)
	for _, l := range lookalikes {
		ids[l.name] = e.createUser(`{"userName":"` + l.name + `","emails":[{"value":"` + l.name + `","primary":true}]}`)["id"].(string)
	}
	victim := e.want(e.list("filter", `userName eq "victim@example.com"`), 200, "victim")
	if got := listIDs(victim); len(got) != 1 {
		t.Fatalf("victim: %v", got)
	}
	for _, l := range lookalikes {
		for _, attr := range []string{"userName", "emails.value", `emails[primary eq true].value`} {
			q := attr + ` eq "` + l.name + `"`
			r := e.want(e.list("filter", q), 200, q)
			if got := listIDs(r); len(got) != 1 || got[0] != ids[l.name] || r.Body["totalResults"] != float64(1) {
				t.Errorf("%s: %v (total %v), want only %s", q, got, r.Body["totalResults"], ids[l.name])
			}
		}
		q := `userName ne "` + l.name + `"`
		if r := e.want(e.list("filter", q, "count", "100"), 200, q); contains(listIDs(r), ids[l.name]) {
			t.Errorf("%s lists %s", q, ids[l.name])
		}
	}
}

func TestIdentityWithEdgeWhitespaceRefused(t *testing.T) {
	e := newIdentityE2E(t, `on_existing = "adopt"`)
	var before int
	if err := e.db.Get(&before, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"userName":"bob@example.com "}`,
		`{"userName":" bob@example.com"}`,
		`{"userName":"bob@example.com\t"}`,
		`{"userName":"robert@example.com","emails":[{"value":"bob@example.com ","primary":true}]}`,
	} {
		e2eWantError(t, e.do("POST", "/Users", body), 400, scim.TypeInvalidValue)
	}
	var after int
	if err := e.db.Get(&after, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	if bob := e.exactRow("bob@example.com"); after != before || bob.str("status") != "3" {
		t.Errorf("rows %d -> %d, bob %v", before, after, bob)
	}
}

// TestIdentityLookupsUseTheAppIndex: the exact comparison keeps the app's index doing the lookup, for the
// filter and for adoption.
func TestIdentityLookupsUseTheAppIndex(t *testing.T) {
	e := newIdentityE2E(t, `on_existing = "adopt"`)
	// Enough provisioned users for the optimizer to prefer an index over reading a handful of rows.
	for _, q := range []string{
		`INSERT INTO users (email, status, password_hash, created_at)
			SELECT CONCAT('user', seq, '@example.com'), 1, '!scim', NOW() FROM seq_1_to_3000`,
		`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)
			SELECT UUID(), id, email, LOWER(email), 1, 1, NOW(), NOW(), '{}' FROM users WHERE email LIKE 'user%'`,
		`ANALYZE TABLE users, scim_users`,
	} {
		if _, err := e.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	f, err := scim.ParseFilter(`userName eq "alicé@example.com"`)
	if err != nil {
		t.Fatal(err)
	}
	_, page, args, err := e.store.ListUsersSQL(f, 10)
	if err != nil {
		t.Fatal(err)
	}
	plan := explain(t, e, page, args...)
	if p := plan["u"]; p.key != "email" || (p.typ != "ref" && p.typ != "range") {
		t.Errorf("users table read by %s on %q, want ref on the email index; plan %v", p.typ, p.key, plan)
	}
	q, qargs := e.store.AdoptionLookupSQL("email", "alicé@example.com")
	if p := explain(t, e, q, qargs...)["u"]; p.key != "email" {
		t.Errorf("adoption lookup reads users by %s on %q, want the email index", p.typ, p.key)
	}
}

type planRow struct{ typ, key string }

func explain(t *testing.T, e *e2eEnv, q string, args ...any) map[string]planRow {
	t.Helper()
	rows, err := e.db.QueryxContext(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]planRow{}
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			t.Fatal(err)
		}
		s := func(k string) string { b, _ := m[k].([]byte); return string(b) }
		out[s("table")] = planRow{typ: s("type"), key: s("key")}
	}
	return out
}

func listIDs(r *e2eResp) []string {
	var ids []string
	list, _ := r.Body["Resources"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
