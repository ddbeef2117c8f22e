package examples_test

// Tests of examples/mattermost: Mattermost's Users table, roles space-separated in Users.Roles, DeleteAt
// in epoch milliseconds. Assertions read the row as Mattermost does: an account is active while
// DeleteAt = 0, and its roles are strings.Fields(Roles).

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

func TestMMSuite(t *testing.T) { runSuite(t, mmSpec) }

// mmID is what Mattermost's model.NewId makes: 26 characters of its base32 alphabet.
var mmID = regexp.MustCompile(`^[ybndrfg8ejkmcpqxot1uwisza345h769]{26}$`)

func mmUser(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT * FROM Users WHERE Id = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("Users rows for %s: %v", key, rows)
	}
	return rows[0]
}

var mmColumns = map[string]string{pGiven: "FirstName", pFamily: "LastName", pTitle: "Position"}
var mmProps = map[string]string{pDept: "department", pPhone: "phone"}

var mmSpec = exampleSpec{
	dir: "mattermost",
	user: func(userName, given, family, title, dept string) map[string]any {
		u := kvUser(userName, given, family, title)
		if dept == "" {
			delete(u, enterprise)
		} else {
			u[enterprise] = map[string]any{"department": dept}
		}
		return u
	},
	value: func(e *example, key, path string) string {
		if c, ok := mmColumns[path]; ok {
			v := mmUser(e, key)[c]
			if v == "NULL" {
				e.t.Errorf("Users.%s of %s is NULL: Mattermost scans it into a string and cannot load the user", c, key)
				return ""
			}
			return v
		}
		rows := e.rows("SELECT COALESCE(JSON_UNQUOTE(JSON_EXTRACT(Props, CONCAT('$.', ?))), '') AS v FROM Users WHERE Id = ?", mmProps[path], key)
		return rows[0]["v"]
	},
	active: func(e *example, key string) bool { return mmUser(e, key)["DeleteAt"] == "0" },
	content: func(e *example, key string) string {
		u := mmUser(e, key)
		delete(u, "DeleteAt")
		delete(u, "UpdateAt")
		return fmt.Sprint(u)
	},
	seedApp: func(e *example, key string) {
		e.exec(`UPDATE Users SET NotifyProps = '{"push":"mention","email":"true"}', Timezone = '{"manualTimezone":"Europe/Oslo"}', Props = JSON_SET(COALESCE(Props, '{}'), '$.customStatus', 'at lunch') WHERE Id = ?`, key)
	},
	appData: func(e *example, key string) string {
		u := mmUser(e, key)
		rows := e.rows("SELECT JSON_EXTRACT(Props, '$.customStatus') AS s FROM Users WHERE Id = ?", key)
		return u["NotifyProps"] + u["Timezone"] + rows[0]["s"]
	},
	appWords: []string{"Europe/Oslo", "at lunch", "customStatus", "mention"},
	edit: func(e *example, key, path, value string) {
		if c, ok := mmColumns[path]; ok {
			var v any = value
			if value == "" {
				v = nil
			}
			e.exec("UPDATE Users SET "+c+" = ? WHERE Id = ?", v, key)
			return
		}
		if value == "" {
			e.exec("UPDATE Users SET Props = JSON_REMOVE(Props, CONCAT('$.', ?)) WHERE Id = ?", mmProps[path], key)
			return
		}
		e.exec("UPDATE Users SET Props = JSON_SET(COALESCE(Props, '{}'), CONCAT('$.', ?), ?) WHERE Id = ?", mmProps[path], value, key)
	},
	adopt: func(e *example, userName string) string {
		const id = "dana8ejkmcpqxot1uwisza345h"
		e.exec("INSERT INTO Users (Id, CreateAt, UpdateAt, DeleteAt, Username, Email, Roles, FirstName, LastName) VALUES (?, 1577836800000, 1577836800000, 1620284889000, 'dana', ?, 'system_user system_admin', 'Dana', '(app)')", id, userName)
		return id
	},
	// Users is the only table Mattermost's account lives in: a write fails at its first statement.
	failWrites: []string{
		"CREATE TRIGGER users_no_insert BEFORE INSERT ON Users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER users_no_update BEFORE UPDATE ON Users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}

// TestMMRoles: Mattermost Admins grants system_admin next to system_user; the break-glass admin given
// system_admin in the System Console survives a restart (a new store and reconcile on the same
// database) and losing the group; new accounts get a Mattermost id and system_user.
func TestMMRoles(t *testing.T) {
	t.Parallel()
	e := start(t, "mattermost")
	roles := func(key string) []string { t.Helper(); return strings.Fields(mmUser(e, key)["Roles"]) }
	ann, annKey := create(e, mmSpec.user("ann@example.com", "Ann", "Lee", "Engineer", ""))
	if !mmID.MatchString(annKey) {
		t.Errorf("Id %q is not a Mattermost id", annKey)
	}
	if got := roles(annKey); !slices.Equal(got, []string{"system_user"}) {
		t.Errorf("a new account's Roles: %v", got)
	}
	e.exec("INSERT INTO Users (Id, CreateAt, UpdateAt, DeleteAt, Username, Email, Roles) VALUES ('bossbndrfg8ejkmcpqxot1uwis', 0, 0, 0, 'boss', 'boss@example.com', 'system_user system_admin')")
	boss, bossKey := create(e, mmSpec.user("boss@example.com", "Bo", "Ss", "", ""))
	g := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Mattermost Admins", "members": []any{map[string]any{"value": ann}, map[string]any{"value": boss}}})
	admins, _ := g.Body["id"].(string)
	if got := roles(annKey); !slices.Equal(got, []string{"system_user", "system_admin"}) {
		t.Errorf("ann in Mattermost Admins: %v", got)
	}
	restarted := mysql.New(e.db, e.cfg.UsersMapping(), mysql.Options{Prefix: e.cfg.Database.BookkeepingPrefix, Log: testfix.Log(t),
		Roles: e.cfg.RolesMapping()})
	if _, _, err := restarted.ReconcileRoles(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := roles(bossKey); !slices.Equal(got, []string{"system_user", "system_admin"}) {
		t.Errorf("boss after the restart: %v", got)
	}
	e.must(204, "DELETE", "/Groups/"+admins, nil)
	if got := roles(bossKey); !slices.Equal(got, []string{"system_user", "system_admin"}) {
		t.Errorf("boss after Mattermost Admins deleted: %v, want the System Console's system_admin kept", got)
	}
	if got := roles(annKey); !slices.Equal(got, []string{"system_user"}) {
		t.Errorf("ann after Mattermost Admins deleted: %v", got)
	}
}

// TestMMUsername: Username is the email's local part as Mattermost allows it, Email the lower-cased
// address; GET answers the IdP's own spelling of userName (the same PUT twice is then no change), and an
// Email the System Console changed reads back as it is. Two addresses with one local part collide on
// Username's unique index: the second POST is a 409 that names it and writes nothing.
func TestMMUsername(t *testing.T) {
	t.Parallel()
	e := start(t, "mattermost")
	body := mmSpec.user("Ann.Lee@Example.com", "Ann", "Lee", "", "")
	id, key := create(e, body)
	if u := mmUser(e, key); u["Username"] != "ann.lee" || u["Email"] != "ann.lee@example.com" {
		t.Errorf("Username %q, Email %q; want ann.lee and ann.lee@example.com", u["Username"], u["Email"])
	}
	get := e.must(200, "GET", "/Users/"+id, nil)
	if got := at(get.Body, "userName"); got != "Ann.Lee@Example.com" {
		t.Errorf("userName on the wire: %#v, want the IdP's spelling", got)
	}
	first := e.must(200, "PUT", "/Users/"+id, body)
	if second := e.must(200, "PUT", "/Users/"+id, body); version(first) != version(get) || version(second) != version(get) {
		t.Errorf("versions %v, %v, %v: the same userName re-sent was a change", version(get), version(first), version(second))
	}
	wantFind(t, e, `userName eq "ann.lee@example.com"`, id)

	before := e.dumpAll()
	r := e.do("POST", "/Users", mmSpec.user("ann.lee@other.example", "Ann", "Other", "", ""))
	if r.Status != 409 || !strings.Contains(fmt.Sprint(r.Body["detail"]), "Username") {
		t.Errorf("POST of a second ann.lee: %s, want 409 naming Username", r)
	}
	if e.dumpAll() != before {
		t.Errorf("the refused POST changed the database")
	}

	e.exec("UPDATE Users SET Email = 'ann@new.example' WHERE Id = ?", key)
	if got := at(e.must(200, "GET", "/Users/"+id, nil).Body, "userName"); got != "ann@new.example" {
		t.Errorf("userName after the System Console changed Email: %#v", got)
	}
}
