package examples_test

// Tests of examples/wordpress: WordPress's own wp_users and wp_usermeta, the roles in the PHP-serialized
// meta row wp_capabilities. Assertions read the rows as WordPress does: get_user_meta($id, $key, true)
// is the first row of the key, and maybe_unserialize() of wp_capabilities gives the role map.

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

func TestWPSuite(t *testing.T) { runSuite(t, wpSpec) }

var wpMetaKeys = map[string]string{pGiven: "first_name", pFamily: "last_name", pTitle: "job_title", pDept: "department",
	pPhone: "phone", "locale": "locale"}

// wpMeta is WordPress's get_user_meta($id, $key, true): the first row's value, "" when there is none.
func wpMeta(e *example, key, metaKey string) string {
	e.t.Helper()
	rows := e.rows("SELECT meta_value FROM wp_usermeta WHERE user_id = ? AND meta_key = ? ORDER BY umeta_id LIMIT 1", key, metaKey)
	if len(rows) == 0 {
		return ""
	}
	return rows[0]["meta_value"]
}

var wpSpec = exampleSpec{
	dir: "wordpress",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := kvUser(userName, given, family, title)
		u["locale"] = "en_GB"
		if dept == "" {
			delete(u, enterprise)
		} else {
			u[enterprise] = map[string]any{"department": dept}
		}
		return u
	},
	attrs: []suiteAttr{{"locale", []string{"locale"}, "en_GB"}},
	value: func(e *example, key, path string) string { return wpMeta(e, key, wpMetaKeys[path]) },
	active: func(e *example, key string) bool {
		return e.rows("SELECT user_status FROM wp_users WHERE ID = ?", key)[0]["user_status"] == "0"
	},
	content: func(e *example, key string) string {
		return fmt.Sprint(e.rows("SELECT ID, user_login, user_email, user_nicename, display_name, user_registered FROM wp_users WHERE ID = ?", key),
			e.rows("SELECT umeta_id, meta_key, meta_value FROM wp_usermeta WHERE user_id = ? AND meta_key <> 'wp_capabilities' ORDER BY umeta_id", key))
	},
	seedApp: func(e *example, key string) {
		e.exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'admin_color', 'ectoplasm'), (?, 'session_tokens', 'a:1:{s:5:\"tok-1\";a:0:{}}')", key, key)
	},
	appData: func(e *example, key string) string {
		return wpMeta(e, key, "admin_color") + " " + wpMeta(e, key, "session_tokens")
	},
	appWords: []string{"ectoplasm", "tok-1", "admin_color", "session_tokens"},
	edit: func(e *example, key, path, value string) {
		e.exec("DELETE FROM wp_usermeta WHERE user_id = ? AND meta_key = ?", key, wpMetaKeys[path])
		if value != "" {
			e.exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, ?, ?)", key, wpMetaKeys[path], value)
		}
	},
	adopt: func(e *example, userName string) string {
		e.exec("INSERT INTO wp_users (user_login, user_email, user_nicename, display_name, user_registered, user_status) VALUES ('dana', ?, 'dana', 'Dana (app)', '2020-01-01 00:00:00', 1)", userName)
		key := e.rows("SELECT ID FROM wp_users WHERE user_email = ?", userName)[0]["ID"]
		e.exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'wp_capabilities', 'a:1:{s:6:\"author\";b:1;}')", key)
		return key
	},
	failWrites: []string{
		"CREATE TRIGGER meta_no_insert BEFORE INSERT ON wp_usermeta FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER meta_no_update BEFORE UPDATE ON wp_usermeta FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}

// TestWPRoles: IdP groups grant WordPress roles in wp_capabilities; the break-glass administrator given
// by hand in WordPress survives a restart (a new store and reconcile on the same database), the app's
// other meta rows are untouched, and a deactivation takes the granted roles away.
func TestWPRoles(t *testing.T) {
	t.Parallel()
	e := start(t, "wordpress")
	caps := func(key string) string { t.Helper(); return wpMeta(e, key, "wp_capabilities") }
	ann, annKey := create(e, wpSpec.user("ann@example.com", "Ann", "Lee", "Engineer", ""))
	if got := wpMeta(e, annKey, "wp_user_level"); got != "0" {
		t.Errorf("wp_user_level of a new user: %q, want 0", got)
	}
	if got := caps(annKey); got != "" {
		t.Errorf("wp_capabilities of a user in no group: %q, want no row", got)
	}
	// boss exists in WordPress as administrator, with a custom capability, before the IdP pushes it.
	e.exec("INSERT INTO wp_users (user_login, user_email, user_nicename, display_name, user_registered) VALUES ('boss', 'boss@example.com', 'boss', 'Boss', NOW())")
	bossKey := e.rows("SELECT ID FROM wp_users WHERE user_login = 'boss'")[0]["ID"]
	const bossCaps = `a:2:{s:13:"administrator";b:1;s:14:"manage_widgets";b:1;}`
	e.exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'wp_capabilities', ?), (?, 'admin_color', 'midnight')", bossKey, bossCaps, bossKey)
	boss, _ := create(e, wpSpec.user("boss@example.com", "Bo", "Ss", "", ""))

	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "WordPress Editors", "members": []any{map[string]any{"value": ann}, map[string]any{"value": boss}}})
	editors, _ := g.Body["id"].(string)
	if got := caps(annKey); got != `a:1:{s:6:"editor";b:1;}` {
		t.Errorf("ann in WordPress Editors: %s", got)
	}
	if got := caps(bossKey); got != `a:3:{s:13:"administrator";b:1;s:14:"manage_widgets";b:1;s:6:"editor";b:1;}` {
		t.Errorf("boss in WordPress Editors: %s", got)
	}

	// A restart: a new store on the same database reconciles every user.
	restarted := mysql.New(e.db, e.cfg.UsersMapping(), mysql.Options{Prefix: e.cfg.Database.BookkeepingPrefix, Log: testfix.Log(t),
		Roles: e.cfg.RolesMapping(), MoreRoles: e.cfg.MoreRoleStores()})
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.must(204, "DELETE", "/Groups/"+editors, nil)
	if got := caps(bossKey); got != bossCaps {
		t.Errorf("boss after the restart and WordPress Editors deleted: %s, want the hand-given %s", got, bossCaps)
	}
	if got := caps(annKey); got != "a:0:{}" {
		t.Errorf("ann after WordPress Editors deleted: %s, want a:0:{}", got)
	}
	if got := wpMeta(e, bossKey, "admin_color"); got != "midnight" {
		t.Errorf("boss's admin_color: %q", got)
	}

	// Deactivation clears the roles IdP groups granted, and reactivation gives them back.
	e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "WordPress Administrators", "members": []any{map[string]any{"value": ann}}})
	if got := caps(annKey); got != `a:1:{s:13:"administrator";b:1;}` {
		t.Errorf("ann in WordPress Administrators: %s", got)
	}
	mustPatch(e, ann, op("replace", "active", false))
	if got := caps(annKey); got != "a:0:{}" {
		t.Errorf("ann deactivated: %s", got)
	}
	mustPatch(e, ann, op("replace", "active", true))
	if got := caps(annKey); got != `a:1:{s:13:"administrator";b:1;}` {
		t.Errorf("ann reactivated: %s", got)
	}

	// A wp_capabilities value that is not PHP-serialized (a plugin broke it) is not overwritten: the
	// change that would rewrite it fails and leaves everything as it was.
	const broken = `a:2:{s:13:"administrator";b:1;}`
	e.exec("UPDATE wp_usermeta SET meta_value = ? WHERE user_id = ? AND meta_key = 'wp_capabilities'", broken, annKey)
	if r := e.do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "WordPress Editors", "members": []any{map[string]any{"value": ann}}}); r.Status < 500 {
		t.Errorf("a group change rewriting a broken wp_capabilities: %s, want a server error", r)
	}
	if got := caps(annKey); got != broken {
		t.Errorf("the broken value after the refused change: %s", got)
	}
	if r := e.must(200, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "WordPress Editors"`), nil); r.Body["totalResults"] != float64(0) {
		t.Errorf("the refused group exists: %s", r)
	}
}

// TestWPUserLevel: wp_user_level, a column role store in its own meta row, is the highest level the
// user's groups give (10 administrator, 7 editor) and 0 otherwise, 0 while deactivated; a level given in
// WordPress survives a restart and the groups going away. user_nicename is the login as
// sanitize_title leaves it: lower-case, without '@' and '.'.
func TestWPUserLevel(t *testing.T) {
	t.Parallel()
	e := start(t, "wordpress")
	level := func(key string) string { t.Helper(); return wpMeta(e, key, "wp_user_level") }
	ann, annKey := create(e, wpSpec.user("Ann.Lee@Example.com", "Ann", "Lee", "", ""))
	if got := e.rows("SELECT user_nicename FROM wp_users WHERE ID = ?", annKey)[0]["user_nicename"]; got != "annleeexamplecom" {
		t.Errorf("user_nicename %q", got)
	}
	if n := len(e.rows("SELECT 1 FROM wp_usermeta WHERE user_id = ? AND meta_key = 'wp_user_level'", annKey)); n != 1 || level(annKey) != "0" {
		t.Errorf("a new user's wp_user_level: %d rows, %q; want one row, 0", n, level(annKey))
	}
	e.exec("INSERT INTO wp_users (user_login, user_email, user_nicename, display_name, user_registered) VALUES ('boss', 'boss@example.com', 'boss', 'Boss', NOW())")
	bossKey := e.rows("SELECT ID FROM wp_users WHERE user_login = 'boss'")[0]["ID"]
	e.exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'wp_user_level', '10')", bossKey)
	boss, _ := create(e, wpSpec.user("boss@example.com", "Bo", "Ss", "", ""))

	group := func(name string, members ...string) string {
		var ms []any
		for _, m := range members {
			ms = append(ms, map[string]any{"value": m})
		}
		g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": name, "members": ms})
		id, _ := g.Body["id"].(string)
		return id
	}
	editors := group("WordPress Editors", ann, boss)
	if level(annKey) != "7" || level(bossKey) != "10" {
		t.Errorf("in WordPress Editors: ann %s, boss %s; want 7 and the hand-given 10", level(annKey), level(bossKey))
	}
	admins := group("WordPress Administrators", ann)
	if level(annKey) != "10" {
		t.Errorf("ann in both groups: %s, want 10", level(annKey))
	}
	mustPatch(e, ann, op("replace", "active", false))
	if level(annKey) != "0" {
		t.Errorf("ann deactivated: %s, want 0", level(annKey))
	}
	mustPatch(e, ann, op("replace", "active", true))
	restarted := mysql.New(e.db, e.cfg.UsersMapping(), mysql.Options{Prefix: e.cfg.Database.BookkeepingPrefix, Log: testfix.Log(t),
		Roles: e.cfg.RolesMapping(), MoreRoles: e.cfg.MoreRoleStores()})
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.must(204, "DELETE", "/Groups/"+admins, nil)
	if level(annKey) != "7" {
		t.Errorf("ann after WordPress Administrators deleted: %s, want 7", level(annKey))
	}
	e.must(204, "DELETE", "/Groups/"+editors, nil)
	if level(annKey) != "0" || level(bossKey) != "10" {
		t.Errorf("after both groups went: ann %s, boss %s; want 0 and 10", level(annKey), level(bossKey))
	}
	if n := len(e.rows("SELECT 1 FROM wp_usermeta WHERE meta_key = 'wp_user_level'")); n != 2 {
		t.Errorf("%d wp_user_level rows, want one per user", n)
	}
}
