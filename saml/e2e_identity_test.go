package saml_test

// The gate on a real store, with look-alike identities in the assertion: each is a different person, who
// is not provisioned, and gets 403 rather than the account it resembles. A status value the mapping does
// not know reads as deactivated.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/scim"
)

func provisionVia(t *testing.T, store *mysql.Store, userName, email string) string {
	t.Helper()
	r := scim.Resource{"userName": userName, "active": true}
	if email != "" {
		r["emails"] = []any{map[string]any{"value": email, "primary": true}}
	}
	u, err := store.CreateUser(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return u["id"].(string)
}

func TestLookalikeNameIDsDoNotLogInAsTheUser(t *testing.T) {
	store, _, _ := newStore(t)
	victim := provisionVia(t, store, "victim@example.com", "")
	provisionVia(t, store, "strasse@example.com", "")
	e := newEnv(t, func(o *saml.Options) { o.Directory = saml.StoreDirectory{Users: store, Access: store} })
	for i, nameID := range []string{
		"victím@example.com",   // accent
		"ｖｉｃｔｉｍ@example.com",   // full width
		"VİCTIM@example.com",   // dotted capital I
		"victim@exämple.com",   // IDN look-alike domain
		"victim＠example.com",   // full-width at sign
		"victim@example.com ",  // trailing space
		"straße@example.com",   // ß for ss
		"victim@example.com\t", // trailing tab
	} {
		idpUser := "u" + strconv.Itoa(i)
		e.addIdPUser(t, idpUser, nameID)
		resp, body := e.login(t, browser(t), idpUser, "/")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "has not been provisioned") {
			t.Errorf("NameID %q: %s, want 403 not provisioned\n%s", nameID, resp.Status, body)
		}
	}
	if n := e.app.hits.Load(); n != 0 {
		t.Fatalf("look-alikes reached the app %d times; last headers %v", n, e.app.last(t))
	}
	e.addIdPUser(t, "real", "VICTIM@Example.COM") // a genuine case difference is the same user
	resp, body := e.login(t, browser(t), "real", "/")
	if resp.StatusCode != http.StatusOK || e.app.last(t).Get("X-Forwarded-User-Id") != victim {
		t.Fatalf("VICTIM@Example.COM: %s, user id %q\n%s", resp.Status, e.app.last(t).Get("X-Forwarded-User-Id"), body)
	}
}

func TestLookalikeEmailDoesNotLogInAsTheUser(t *testing.T) {
	store, _, _ := newStore(t)
	ivan := provisionVia(t, store, "ivan", "ivan@example.com")
	e := newEnv(t, func(o *saml.Options) {
		o.Directory = saml.StoreDirectory{Users: store, Access: store, Match: "email"}
	})
	e.addIdPUser(t, "ivaen", "ivän@example.com")
	if resp, body := e.login(t, browser(t), "ivaen", "/"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("ivän@: %s, want 403\n%s", resp.Status, body)
	}
	e.addIdPUser(t, "ivan", "Ivan@Example.com")
	if resp, body := e.login(t, browser(t), "ivan", "/"); resp.StatusCode != http.StatusOK ||
		e.app.last(t).Get("X-Forwarded-User-Id") != ivan {
		t.Errorf("Ivan@Example.com: %s\n%s", resp.Status, body)
	}
}

// TestUnknownStatusValuesFailClosed: the app sets users.status to values the active map (1 active; 2, 3
// inactive) does not list. SCIM reads the user as inactive, and the gate refuses new logins and live
// sessions alike.
func TestUnknownStatusValuesFailClosed(t *testing.T) {
	store, _, db := newStore(t)
	id := provisionVia(t, store, "ursula@example.com", "")
	e := newEnv(t, func(o *saml.Options) { o.Directory = saml.StoreDirectory{Users: store, Access: store} })
	e.addIdPUser(t, "ursula", "ursula@example.com")
	for _, status := range []int{0, 4, -1, 7} {
		live := browser(t)
		if resp, body := e.login(t, live, "ursula", "/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("login while status 1: %s\n%s", resp.Status, body)
		}
		setStatus(t, db, "ursula@example.com", status)
		u, err := store.GetUser(context.Background(), id)
		if err != nil || u["active"] != false {
			t.Errorf("status %d: SCIM active = %#v (%v), want false", status, u["active"], err)
		}
		e.clock.Advance(6 * time.Second) // past recheck_every
		if resp, _ := e.do(t, live, http.MethodGet, "/", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d: live session got %s, want 403", status, resp.Status)
		}
		if resp, _ := e.login(t, browser(t), "ursula", "/"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d: new login got %s, want 403", status, resp.Status)
		}
		setStatus(t, db, "ursula@example.com", 1)
		e.clock.Advance(6 * time.Second)
	}
}

func setStatus(t *testing.T, db *sqlx.DB, email string, status int) {
	t.Helper()
	if _, err := db.Exec("UPDATE users SET status = ? WHERE email = ?", status, email); err != nil {
		t.Fatal(err)
	}
}
