package mysql

// What a create takes over rather than writes anew: a user deleted through SCIM with the same userName
// (its tombstone, revived), or an app row that already holds the user's adoption key or login (adopted,
// or a conflict).

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// findExisting looks for an app row this POST should take over; prev is the id of a bookkeeping
// tombstone to revive, appKey the app row's key. Both nil means a new row.
func (s *Store) findExisting(ctx context.Context, tx *bookkeeping.Tx, r scim.Resource) (prev *string, appKey any, err error) {
	// Two creates of one login at once, even without a unique index on the app's login column: both may
	// find nothing below and insert an app row, but only one bookkeeping row takes the login
	// (live_user_name's unique index, on the folded userName): the other waits for it, fails, and its
	// transaction, app row and all, is rolled back as a 409. An existing app row or tombstone is locked
	// by the reads below, so the second create waits and then finds it taken.
	look, err := s.lookUpExisting(ctx, tx, r)
	if err != nil {
		return nil, nil, err
	}
	if tomb := look.tombstone; tomb != nil {
		key := keyOf(tomb.AppID, tomb.AppKey)
		exists, err := s.appRowExists(ctx, tx, key)
		if err != nil || exists {
			return &tomb.ID, key, err
		}
		// The app deleted the row itself: forget the tombstone and provision afresh.
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.bookTable()+" WHERE id = ?", tomb.ID); err != nil {
			return nil, nil, err
		}
		if err := bookkeeping.ForgetUser(ctx, tx, tx.Tables, tomb.ID); err != nil {
			return nil, nil, err
		}
	}

	// The adoption key, then the login: the app row that already holds this userName is the same
	// account whatever match_existing_by says, so "conflict" answers 409 and "adopt" adopts it rather
	// than writing a second row with the same login.
	var found any
	var foundCol, foundVal string
	for _, c := range look.columns {
		if c.invalid != nil {
			return nil, nil, c.invalid
		}
		if c.overflow {
			if c.keys, err = s.exactIdentityRows(ctx, tx, c.col, c.val); err != nil {
				return nil, nil, err
			}
		}
		prev, key, err := s.existingBy(ctx, tx, c.col, c.val, c.keys)
		switch {
		case err != nil || prev != nil:
			return prev, key, err
		case key == nil:
		case found == nil:
			found, foundCol, foundVal = key, c.col, c.val
		case found != key:
			return nil, nil, scim.Conflict("the app user with %s %q is not the one with %s %q; resolve it in the app first", foundCol, foundVal, c.col, c.val)
		}
	}
	return nil, found, nil
}

// tombstoneRow is a user deleted through SCIM.
type tombstoneRow struct {
	ID      string         `db:"id"`
	AppID   sql.NullInt64  `db:"app_id"`
	AppKey  sql.NullString `db:"app_key"`
	Deleted time.Time      `db:"deleted_at"`
}

// existingLookup is what lookUpExisting found: the tombstone deleted last with this folded userName
// (nil for none) and, for each column an existing app row is looked for by, the rows holding the value.
type existingLookup struct {
	tombstone *tombstoneRow
	columns   []existingColumn
}

type existingColumn struct {
	col, val string
	keys     []any // the app rows (in scope) whose col holds val as scim.SameIdentity compares, at most two
	overflow bool  // the lookup found more candidates than it reads: keys are to be asked exactly
	invalid  error // val is no identity (scim.CheckIdentity): not looked up
}

// lookUpExisting locks the users deleted through SCIM with this POST's folded userName and the app rows
// that hold its adoption key or login, in one round trip: the statements are one multi-statement query
// whose result sets come in turn. The lookups by column are nearly always empty and almost as often
// needed (no tombstone), so they go with the tombstone's rather than after it.
func (s *Store) lookUpExisting(ctx context.Context, tx *bookkeeping.Tx, r scim.Resource) (existingLookup, error) {
	var look existingLookup
	queries := []string{"SELECT id, app_id, app_key, deleted_at FROM " + s.bookTable() + " WHERE user_name_lc = ? AND deleted_at IS NOT NULL FOR UPDATE"}
	args := []any{scim.FoldIdentity(userName(r))}
	for _, col := range s.existingColumns() {
		val, ok := s.m.ExtractString(r, col)
		if !ok {
			continue
		}
		c := existingColumn{col: col, val: val, invalid: scim.CheckIdentity(col, val)}
		if c.invalid == nil {
			q, a := s.AdoptionLookupSQL(col, val)
			queries, args = append(queries, q+" FOR UPDATE"), append(args, a...)
		}
		look.columns = append(look.columns, c)
	}
	rows, err := tx.QueryxContext(ctx, strings.Join(queries, ";\n"), args...)
	if err != nil {
		return look, err
	}
	defer rows.Close()
	if look.tombstone, err = latestTombstone(rows); err != nil {
		return look, err
	}
	for i := range look.columns {
		c := &look.columns[i]
		if c.invalid != nil {
			continue
		}
		if !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				return look, err // the lookup's own error: a lock wait, a deadlock
			}
			return look, errors.New("adoption lookup: the server sent no result set")
		}
		var read int
		if c.keys, read, err = sameIdentityRows(rows, c.val); err != nil {
			return look, err
		}
		c.overflow = read > maxAdoptionCandidates
	}
	return look, rows.Err()
}

// latestTombstone reads the tombstones' result set and returns the one deleted last (nil for none). The
// latest is picked here rather than by ORDER BY: on the user_name_lc index MariaDB sorted the (nearly
// always no) rows with a filesort, a third of the cost of the statement in every POST. The lock is the
// same: a sorted locking read locks every row it reads.
func latestTombstone(rows *sqlx.Rows) (*tombstoneRow, error) {
	var latest *tombstoneRow
	for rows.Next() {
		var r tombstoneRow
		if err := rows.Scan(&r.ID, &r.AppID, &r.AppKey, &r.Deleted); err != nil {
			return nil, err
		}
		if latest == nil || r.Deleted.After(latest.Deleted) || (r.Deleted.Equal(latest.Deleted) && r.ID > latest.ID) {
			latest = &r
		}
	}
	return latest, rows.Err()
}

// existingColumns are the columns an existing app row is looked for by: match_existing_by, then the
// userName column when it is another.
func (s *Store) existingColumns() []string {
	var cols []string
	if s.m.MatchExistingBy != "" {
		cols = append(cols, s.m.MatchExistingBy)
	}
	if c := s.m.Column("userName"); c != nil && !strings.EqualFold(c.Name, s.m.MatchExistingBy) {
		cols = append(cols, c.Name)
	}
	return cols
}

// existingBy decides what the app rows whose column col holds val (keys, from lookUpExisting) are to
// this POST: prev is a SCIM user deleted earlier to re-link, key an unmanaged row to adopt; a conflict
// is an error.
func (s *Store) existingBy(ctx context.Context, tx *bookkeeping.Tx, col, val string, keys []any) (prev *string, appKey any, err error) {
	switch len(keys) {
	case 0:
		return nil, nil, nil
	case 2:
		return nil, nil, scim.Conflict("several app users have %s %q; resolve the duplicate in the app first", col, val)
	}
	key := normalizeKey(keys[0])
	var link struct {
		ID      string       `db:"id"`
		Deleted sql.NullTime `db:"deleted_at"`
	}
	err = tx.GetContext(ctx, &link, "SELECT id, deleted_at FROM "+s.bookTable()+" WHERE "+s.joinKey+" = ? FOR UPDATE", key)
	switch {
	case err == nil && !link.Deleted.Valid:
		return nil, nil, scim.Conflict("the app user with %s %q is already provisioned as SCIM user %s", col, val, link.ID)
	case err == nil:
		return &link.ID, key, nil // deleted through SCIM under another userName: re-link it
	case !errors.Is(err, sql.ErrNoRows):
		return nil, nil, err
	case s.m.OnExisting == "conflict":
		return nil, nil, scim.Conflict("the app already has a user with %s %q (on_existing = \"conflict\")", col, val)
	}
	return nil, key, nil
}

// sameIdentityRows reads an adoption lookup's result set (AdoptionLookupSQL): the keys of the app rows
// whose column holds the identity val, as scim.SameIdentity compares: not as the column's collation
// does, which would hand alice's row to alicé. At most two keys: more than one is a conflict either way.
// read is how many rows the result set had.
func sameIdentityRows(rows *sqlx.Rows, val string) (keys []any, read int, err error) {
	for rows.Next() {
		read++
		var key any
		var have sql.NullString
		if err := rows.Scan(&key, &have); err != nil {
			return nil, read, err
		}
		if have.Valid && scim.SameIdentity(have.String, val) && len(keys) < 2 {
			keys = append(keys, key)
		}
	}
	return keys, read, rows.Err()
}

// AdoptionLookupSQL is the query (without its FOR UPDATE) that finds the app rows whose column col may
// hold the identity val, for EXPLAIN in tests and investigations: the rows equal to it under the column's
// collation, on the column's index, a superset (alicé for alice) that sameIdentityRows narrows to the
// identity as scim.SameIdentity compares. In SQL that narrowing (identityMatch) cost the server more
// than the lookup itself; the rows it would drop are nearly always none. More candidates than
// maxAdoptionCandidates and the exact query (adoptionExactSQL) is asked instead.
func (s *Store) AdoptionLookupSQL(col, val string) (string, []any) {
	c := "u." + quoteIdent(col)
	return s.adoptionSQL(c, c+" = ?", maxAdoptionCandidates+1), append([]any{val}, s.scopeArgs()...)
}

// adoptionSQL selects the key and the column c of the app rows (in scope) where cond holds, at most limit.
func (s *Store) adoptionSQL(c, cond string, limit int) string {
	return "SELECT u." + quoteIdent(s.m.Key) + ", " + c + " FROM " + quoteIdent(s.m.Table) + " u WHERE " + cond +
		s.scopeSQL() + " LIMIT " + strconv.Itoa(limit)
}

// maxAdoptionCandidates bounds the app rows an adoption lookup reads (see AdoptionLookupSQL).
const maxAdoptionCandidates = 100

// adoptionExactSQL is AdoptionLookupSQL with the identity compared in SQL (identityMatch): for a value
// that more than maxAdoptionCandidates rows equal under the collation.
func (s *Store) adoptionExactSQL(col, val string) (string, []any) {
	c := "u." + quoteIdent(col)
	return s.adoptionSQL(c, identityMatch(c), 100), append([]any{val, val, val}, s.scopeArgs()...)
}

// exactIdentityRows locks and returns the app rows whose column col holds the identity val, by
// adoptionExactSQL.
func (s *Store) exactIdentityRows(ctx context.Context, tx *bookkeeping.Tx, col, val string) ([]any, error) {
	q, args := s.adoptionExactSQL(col, val)
	rows, err := tx.QueryxContext(ctx, q+" FOR UPDATE", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys, _, err := sameIdentityRows(rows, val)
	return keys, err
}

func keyOf(id sql.NullInt64, key sql.NullString) any {
	if id.Valid {
		return id.Int64
	}
	return key.String
}

// normalizeKey turns a scanned key into the type the bookkeeping column holds.
func normalizeKey(k any) any { return bookkeeping.NormalizeKey(k) }

func (s *Store) appRowExists(ctx context.Context, tx *bookkeeping.Tx, key any) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+quoteIdent(s.m.Table)+" WHERE "+quoteIdent(s.m.Key)+" = ? FOR UPDATE", key)
	return n > 0, err
}
