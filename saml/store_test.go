package saml_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/scim"
)

// newStore is the legacy app (internal/legacyapp) with its role column, migrated, and a store on it that
// grants roles from groups: the gate forwards what it grants, whatever the IdP wrote elsewhere.
func newStore(t *testing.T) (*mysql.Store, func() int, *sqlx.DB) {
	t.Helper()
	store, db, _ := testfix.Store(t, 5, legacyapp.UsersTable(legacyapp.RoleColumn), legacyapp.UsersTOML,
		mysql.Options{Roles: testfix.Roles(t, legacyapp.ColumnRolesTOML)})
	rows := func() int {
		var n int
		if err := db.Get(&n, "SELECT COUNT(*) FROM users"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return store, rows, db
}

// TestStoreDirectoryOnMariaDB runs the gate on a real store: users are created and deactivated through
// the store, as the SCIM API does for the IdP, and the gate follows.
func TestStoreDirectoryOnMariaDB(t *testing.T) {
	store, rows, db := newStore(t)
	ctx := context.Background()
	// userName is the corporate login; the IdP's NameID is the work email, hence match = "email".
	carol, err := store.CreateUser(ctx, scim.Resource{
		"userName": "carol@corp.example", "displayName": "Carol Jones", "active": true,
		"name":   map[string]any{"givenName": "Carol", "familyName": "Jones"},
		"emails": []any{map[string]any{"value": "carol@example.com", "type": "work", "primary": true}},
		// A role assigned on the user itself (Okta's entitlements, Entra's app roles) is forwarded with
		// the roles its groups grant; a role no rule names is refused at the write (agent e2e tests).
		"roles": []any{map[string]any{"value": "support"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateGroup(ctx, scim.Resource{"displayName": "Admins"}, []scim.Member{{Value: carol["id"].(string)}}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *saml.Options) {
		o.Directory = saml.StoreDirectory{Users: store, Access: store, Match: "email"}
	})
	e.addIdPUser(t, "carol", "carol@example.com")
	e.addIdPUser(t, "dan", "dan@example.com") // never provisioned
	before := rows()

	c := browser(t)
	resp, body := e.login(t, c, "carol", "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s\n%s\n%s", resp.Status, body, e.logs)
	}
	got := e.app.last(t)
	if got.Get("X-Forwarded-User") != "carol@corp.example" || got.Get("X-Forwarded-Email") != "carol@example.com" ||
		got.Get("X-Forwarded-User-Id") != carol["id"] {
		t.Errorf("headers: user %q email %q id %q", got.Get("X-Forwarded-User"), got.Get("X-Forwarded-Email"), got.Get("X-Forwarded-User-Id"))
	}
	var appID string
	if err := db.Get(&appID, "SELECT CAST(id AS CHAR) FROM users WHERE email = 'carol@corp.example'"); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Forwarded-Roles") != "admin,support" || got.Get("X-Forwarded-Groups") != "Admins" || got.Get("X-Forwarded-User-Key") != appID {
		t.Errorf("roles %q groups %q app key %q; want admin,support, Admins, %s", got.Get("X-Forwarded-Roles"),
			got.Get("X-Forwarded-Groups"), got.Get("X-Forwarded-User-Key"), appID)
	}

	resp, body = e.login(t, browser(t), "dan", "/")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "has not been provisioned") {
		t.Errorf("unprovisioned: %s\n%s", resp.Status, body)
	}
	if n := rows(); n != before {
		t.Errorf("logins changed the users table: %d rows, had %d", n, before)
	}

	// Deactivated through the store (Okta's PATCH active=false): refused once recheck_every has passed.
	if _, err := store.UpdateUser(ctx, carol["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["active"] = false
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5*time.Second + time.Millisecond)
	resp, body = e.do(t, c, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "deactivated") {
		t.Errorf("after deactivation: %s\n%s", resp.Status, body)
	}
}

func TestStoreDirectoryMatching(t *testing.T) {
	store, _, _ := newStore(t)
	ctx := context.Background()
	for _, r := range []scim.Resource{
		{"userName": "ann@example.com", "emails": []any{map[string]any{"value": "ann.lee@example.com", "primary": true}}},
		{"userName": "ann.lee@example.com"}, // one user's email is another's userName
		{"userName": `quote"o@example.com`},
	} {
		if _, err := store.CreateUser(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	byName := saml.StoreDirectory{Users: store}
	byEmail := saml.StoreDirectory{Users: store, Match: "email"}
	for _, tc := range []struct {
		dir      saml.StoreDirectory
		identity string
		want     string // userName found; "" for ErrNotFound
	}{
		{byName, "ANN@example.com", "ann@example.com"}, // userName is compared case-insensitively
		{byName, "ann.lee@example.com", "ann.lee@example.com"},
		{byEmail, "ann.lee@example.com", "ann.lee@example.com"}, // two matches: the exact userName wins
		{byEmail, "ann@example.com", "ann@example.com"},
		{byName, `quote"o@example.com`, `quote"o@example.com`},
		{byName, `x" or userName pr or userName eq "y`, ""}, // a value, not filter text
		{byName, "nobody@example.com", ""},
		{byName, "", ""},
	} {
		u, err := tc.dir.FindUser(ctx, tc.identity)
		switch {
		case tc.want == "" && !errors.Is(err, saml.ErrNotFound):
			t.Errorf("%s %q: %+v, %v; want ErrNotFound", tc.dir.Match, tc.identity, u, err)
		case tc.want != "" && (err != nil || u.UserName != tc.want || !u.Active || u.ID == ""):
			t.Errorf("%s %q: %+v, %v; want %s", tc.dir.Match, tc.identity, u, err, tc.want)
		}
	}
}
