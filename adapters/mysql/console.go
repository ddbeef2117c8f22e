package mysql

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/scim"
)

// RoleGrant is a role a user's groups give under the role mapping, with the rule and group that give it.
type RoleGrant = approles.Grant

// UserDetail is what the admin console shows of a user beyond the SCIM resource: the app's own row as
// it is now (secret columns redacted as in the audit trail), and which rule of which group grants each
// role.
type UserDetail struct {
	AppKey string
	AppRow map[string]any // nil when the app's row is gone
	Grants []RoleGrant
}

// ConsoleUser reads the detail of a live user; scim.NotFound when there is none.
func (s *Store) ConsoleUser(ctx context.Context, id string) (UserDetail, error) {
	var key []any
	if err := s.db.SelectContext(ctx, &key, "SELECT "+s.joinKey+" FROM "+s.bookTable()+" WHERE id = ? AND deleted_at IS NULL", id); err != nil {
		return UserDetail{}, s.classify(err)
	}
	if len(key) == 0 {
		return UserDetail{}, scim.NotFound("User", id)
	}
	d := UserDetail{AppKey: keyString(normalizeKey(key[0]))}
	row := map[string]any{}
	err := s.db.QueryRowxContext(ctx, "SELECT * FROM "+quoteIdent(s.m.Table)+" WHERE "+quoteIdent(s.m.Key)+" = ?", normalizeKey(key[0])).MapScan(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return UserDetail{}, s.classify(err)
	default:
		d.AppRow = make(map[string]any, len(row))
		for col, v := range row {
			switch b := v.(type) {
			case []byte:
				v = string(b)
			}
			if audit.IsSecret(col) || s.redactedColumn(col) {
				v = audit.Redacted
			}
			d.AppRow[col] = v
		}
	}
	byUser, err := approles.Groups(ctx, s.db, s.t, []string{id})
	if err != nil {
		return UserDetail{}, s.classify(err)
	}
	d.Grants = s.roles.Explain(byUser[id])
	return d, nil
}

func (s *Store) redactedColumn(col string) bool {
	for _, r := range s.redact {
		if r == col {
			return true
		}
	}
	return false
}

// UserIDByAppKey returns the SCIM id of the live user whose app row has this key, or "" when none has.
func (s *Store) UserIDByAppKey(ctx context.Context, key string) (string, error) {
	var arg any = key
	if s.joinKey == "app_id" {
		// A number column: MariaDB would compare "12abc" as 12.
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return "", nil
		}
		arg = n
	}
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM "+s.bookTable()+" WHERE "+s.joinKey+" = ? AND deleted_at IS NULL LIMIT 1", arg); err != nil {
		return "", s.classify(err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// BrowseUsers returns the first n live users the filter (nil for all) selects, oldest first, without
// the total ListUsers counts: the admin console's lists show a page, and counting the matches of a
// join over every user costs more than the page itself on a large table.
func (s *Store) BrowseUsers(ctx context.Context, filter scim.Expr, n int) ([]scim.Resource, error) {
	cond, args, err := s.listCondition(filter)
	if err != nil {
		return nil, err
	}
	rows, err := s.queryUserRows(ctx, s.db, s.pageSQL(cond, "b.created, b.id", 0), true, s.pageArgs(args, n, 0)...)
	if err != nil {
		return nil, s.classify(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	users, err := s.readUsers(ctx, s.db, rows)
	if err != nil {
		return nil, s.classify(err)
	}
	return users, s.classify(s.setGroups(ctx, s.db, users, rows))
}

// CountUsers counts the live users in scimbridge's bookkeeping (one index read; the app's rows are not
// joined, so a user whose app row is gone still counts).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+s.bookTable()+" WHERE deleted_at IS NULL")
	return n, s.classify(err)
}
