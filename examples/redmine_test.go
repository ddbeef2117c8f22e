package examples_test

// Tests of examples/redmine: Redmine's users table (people, groups and built-in principals by single
// table inheritance), email_addresses and groups_users. Assertions read the rows as Redmine's models do:
// a person is a row of type 'User', active while status = 1, an administrator while admin = 1, mailed at
// its is_default address (User#mail); a group is a row of type 'Group' named by lastname, its members
// the groups_users rows. Redmine has no column for title, department or phone numbers: scimbridge keeps
// them in its bookkeeping document.

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedmineSuite(t *testing.T) { runSuite(t, redmineSpec) }

// redmineStrings are the users columns Redmine needs as strings (NOT NULL in its schema).
var redmineStrings = []string{"login", "hashed_password", "firstname", "lastname", "mail_notification"}

func redmineUser(e *example, key string) map[string]string {
	e.t.Helper()
	rows := e.rows("SELECT * FROM users WHERE id = ?", key)
	if len(rows) != 1 {
		e.t.Fatalf("users rows for %s: %v", key, rows)
	}
	u := rows[0]
	if u["type"] != "User" {
		e.t.Errorf("users row %s has type %q, want User", key, u["type"])
	}
	return u
}

// redmineMail is User#mail: the is_default address ("" when there is none).
func redmineMail(e *example, key string) string {
	e.t.Helper()
	rows := e.rows("SELECT address FROM email_addresses WHERE user_id = ? AND is_default = 1", key)
	if len(rows) > 1 {
		e.t.Errorf("user %s has %d default addresses: %v", key, len(rows), rows)
	}
	if len(rows) == 0 {
		return ""
	}
	return rows[0]["address"]
}

// redmineAddresses are the user's email_addresses rows as "address default notify", by address.
func redmineAddresses(e *example, key string) string {
	e.t.Helper()
	var out []string
	for _, r := range e.rows("SELECT address, is_default, notify, created_on, updated_on FROM email_addresses WHERE user_id = ? ORDER BY address", key) {
		if r["created_on"] == "NULL" || r["updated_on"] == "NULL" {
			e.t.Errorf("email_addresses row without timestamps: %v", r)
		}
		out = append(out, r["address"]+" "+r["is_default"]+" "+r["notify"])
	}
	return strings.Join(out, ", ")
}

var redmineSpec = exampleSpec{
	dir: "redmine",
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
		u := redmineUser(e, key)
		for _, c := range redmineStrings {
			if u[c] == "NULL" {
				e.t.Errorf("users.%s of %s is NULL", c, key)
			}
		}
		switch path {
		case pGiven:
			return u["firstname"]
		case pFamily:
			return u["lastname"]
		}
		return giteaDoc(e, key, path) // scimbridge's document, read the same way for every example
	},
	active: func(e *example, key string) bool { return redmineUser(e, key)["status"] == "1" },
	content: func(e *example, key string) string {
		u := redmineUser(e, key)
		delete(u, "status")
		delete(u, "updated_on")
		return fmt.Sprint(u, redmineAddresses(e, key))
	},
	seedApp: func(e *example, key string) {
		e.exec("UPDATE users SET language = 'nb', mail_notification = 'selected', twofa_scheme = 'totp', last_login_on = '2026-11-30 08:00:00' WHERE id = ?", key)
		e.exec("INSERT INTO email_addresses (user_id, address, is_default, notify, created_on, updated_on) VALUES (?, 'private@home.example', 0, 0, NOW(), NOW())", key)
	},
	appData: func(e *example, key string) string {
		u := redmineUser(e, key)
		return strings.Join([]string{u["language"], u["mail_notification"], u["twofa_scheme"], u["last_login_on"]}, " ") +
			fmt.Sprint(e.rows("SELECT address, is_default, notify FROM email_addresses WHERE user_id = ? AND address LIKE '%home.example'", key))
	},
	appWords: []string{"selected", "totp", "2026-11-30"},
	kept:     []string{pTitle, pDept, pPhone},
	edit: func(e *example, key, path, value string) {
		e.t.Fatalf("Redmine has no column for %s", path)
	},
	adopt: func(e *example, userName string) string {
		e.exec("INSERT INTO users (login, firstname, lastname, status, type, mail_notification, created_on, updated_on) VALUES (?, 'Dana', '(app)', 3, 'User', 'all', '2020-01-01', '2020-01-01')", userName)
		key := e.rows("SELECT id FROM users WHERE login = ?", userName)[0]["id"]
		e.exec("INSERT INTO email_addresses (user_id, address, is_default, notify, created_on, updated_on) VALUES (?, ?, 1, 1, '2020-01-01', '2020-01-01')", key, userName)
		return key
	},
	// The users row and the address rows: a request fails after it wrote (or would have written) either.
	failWrites: []string{
		"CREATE TRIGGER users_no_update BEFORE UPDATE ON users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER email_no_insert BEFORE INSERT ON email_addresses FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
		"CREATE TRIGGER scim_users_no_update BEFORE UPDATE ON scim_users FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'",
	},
}
