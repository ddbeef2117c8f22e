// Package legacyusers is internal/legacyapp's users table as the load tools use it: scimbridge's
// configuration for it, and seeding it straight through SQL with the rows mysql.Store would write, since a table of
// 100,000 users takes minutes through the store and seconds this way. It is one place, so that the tools
// that seed it write the same rows.
package legacyusers

import (
	"context"
	"fmt"
	"strconv"
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

// SeedSeq writes users 1..n with SQL from MariaDB's seq_1_to_n (1,000,000 in well under a minute), as
// the store writes them: app rows user<i>@bench.example.com (status 3, inactive, for every 20th), then
// their bookkeeping rows (emails in the doc, externalId ext-<i>, three users per created second so that
// the list order falls back to the id), every 100th deleted through SCIM (a tombstone: deleted_at set,
// the app row left inactive). A table that already holds n users or more (a kept -db) is left as it is:
// seeded tells which. The values table and user_counts are not written: mysql.Reindex does both.
func SeedSeq(ctx context.Context, db *sqlx.DB, n int) (seeded bool, err error) {
	var have int
	if err := db.GetContext(ctx, &have, "SELECT COUNT(*) FROM scim_users"); err != nil {
		return false, err
	}
	if have >= n {
		return false, nil
	}
	if have > 0 {
		return false, fmt.Errorf("the database holds %d users, fewer than the %d asked: drop it or use another -db", have, n)
	}
	seq := "seq_1_to_" + strconv.Itoa(n)
	for _, stmt := range []string{
		`INSERT INTO users (email, email_lower, first_name, last_name, display_name, status, password_hash, created_at, updated_at)
		 SELECT CONCAT('user', seq, '@bench.example.com'), CONCAT('user', seq, '@bench.example.com'), 'Ann', CONCAT('Lee', seq % 1000),
		        CONCAT('Ann Lee', seq % 1000), IF(seq % 20 = 0 OR seq % 100 = 0, 3, 1), '!scim', NOW(), NOW() FROM ` + seq,
		`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, external_id, active, version, created, last_modified, deleted_at, doc)
		 SELECT UUID(), u.id, u.email, u.email_lower, CONCAT('ext-', u.id), u.status = 1, 1,
		        TIMESTAMP('2026-01-01') + INTERVAL (u.id DIV 3) SECOND, NOW(6), IF(u.id % 100 = 0, NOW(6), NULL),
		        JSON_OBJECT('emails', JSON_ARRAY(JSON_OBJECT('primary', true, 'type', 'work', 'value', u.email)))
		 FROM users u`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("seed: %w", err)
		}
	}
	return true, benchsql.Analyze(ctx, db, "users", "scim_users")
}
