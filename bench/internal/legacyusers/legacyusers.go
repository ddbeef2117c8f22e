// Package legacyusers is internal/legacyapp's users table as the load tools use it: scimbridge's
// configuration for it, and seeding it straight through SQL with the rows mysql.Store would write, since a table of
// 100,000 users takes minutes through the store and seconds this way. It is one place, so that the tools
// that seed it write the same rows.
package legacyusers

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

// Config is scimbridge's configuration file for the load tools, parsed by the real loader:
// legacyapp.UsersTOML as its [users] section, then extra (a [roles] section, ...).
func Config(extra string) (*config.Config, error) {
	users := strings.Replace(legacyapp.UsersTOML, "\n[columns]\n", "\n[users.columns]\n", 1)
	return config.Parse([]byte("[users]"+users+extra), "legacyusers.toml")
}

// User is one seeded user: userName and work email, name, and the bookkeeping doc (what no column
// holds, as the store keeps it; "{}" for none).
type User struct {
	Email, Given, Family, Doc string
}

// Seed writes users in one transaction as mysql.Store would for a POST of them under Mapping: the app
// row (status 1, password "!scim", timestamps now) and the bookkeeping row in scim_users (a random UUID
// id, app_id, userName, active, version 1) linked to it.
func Seed(ctx context.Context, db *sqlx.DB, users []User) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	nowSec := now.Truncate(time.Second)
	app := make([][]any, 0, len(users))
	emails := make([]string, 0, len(users))
	for _, u := range users {
		app = append(app, []any{u.Email, strings.ToLower(u.Email), u.Given, u.Family, u.Given + " " + u.Family, 1, "!scim", nowSec, nowSec})
		emails = append(emails, u.Email)
	}
	if err := benchsql.Insert(ctx, tx, "users (email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at)", app); err != nil {
		return err
	}
	ids, err := benchsql.IDs(ctx, tx, "users", "email", emails)
	if err != nil {
		return err
	}
	book := make([][]any, 0, len(users))
	for _, u := range users {
		book = append(book, []any{uuid.NewString(), ids[u.Email], u.Email, strings.ToLower(u.Email), 1, 1, now, now, u.Doc})
	}
	if err := benchsql.Insert(ctx, tx, "scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)", book); err != nil {
		return err
	}
	return tx.Commit()
}
