package mysql

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// CreateUser stores a new SCIM user. The app row is, in order of preference: the row of a user that was
// deleted through SCIM with the same userName (re-linked and reactivated), an existing row that matches
// the mapping's match_existing_by column (adopted, when on_existing = "adopt"), or a new row.
func (s *Store) CreateUser(ctx context.Context, r scim.Resource) (scim.Resource, error) {
	var direct []string
	if s.roles != nil {
		r = copyResource(r)
		var err error
		if direct, err = s.takeDirect(r); err != nil {
			return nil, err
		}
	}
	var out scim.Resource
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		prev, appKey, err := s.findExisting(ctx, tx, r)
		if err != nil {
			return err
		}
		var before map[string]any // the adopted or re-linked app row, for the audit trail
		if appKey != nil {
			if before, err = s.appSnapshot(ctx, tx, appKey); err != nil {
				return err
			}
		}
		var cols map[string]any
		var old scim.Resource // the attributes as they were; nil when they are written for the first time
		var side *mapping.Side
		switch {
		case prev != nil:
			// A user deleted through SCIM comes back as the IdP now describes it, as a PUT would write
			// it: attributes it no longer sends are cleared, not left from before the deletion.
			if old, side, err = s.tombstone(ctx, tx, *prev); err == nil {
				cols, err = s.m.UpdateColumns(old, mapping.WithCreateDefaults(r), s.env(tx))
			}
		case appKey != nil:
			if cols, err = s.m.AdoptColumns(r, s.env(tx)); err == nil {
				side, err = s.lockedSide(ctx, tx, appKey)
			}
		default:
			var inserted map[string]any
			if appKey, inserted, err = s.insertApp(ctx, tx, r); err == nil {
				side = s.m.NewRowSide(inserted)
			}
		}
		if err != nil {
			return err
		}
		if err := s.updateApp(ctx, tx, appKey, cols); err != nil {
			return err
		}
		if err := s.writeSide(ctx, tx, appKey, old, side, mapping.WithCreateDefaults(r)); err != nil {
			return err
		}
		id := s.idFor(ctx)
		if err := s.writeBook(ctx, tx, id, prev, appKey, r); err != nil {
			return err
		}
		if err := s.writeOurs(ctx, tx, id, old, side, mapping.WithCreateDefaults(r)); err != nil {
			return err
		}
		// The read-back (what the app's defaults and triggers made of the row) gives the audit's after.
		b, err := s.oneUserSnap(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if out, _, err = s.readUser(ctx, tx, b, false); err != nil {
			return err
		}
		after := b.snap
		c := &change{}
		c.event(userSubject(id), Event{Type: EventUserCreated, AppKey: b.key(), Resource: out})
		c.user(&userWrite{id: id, name: userName(out), appKey: b.key(), before: before, after: after})
		if len(direct) > 0 {
			if _, err := s.writeDirect(ctx, tx, id, nil, direct); err != nil {
				return err
			}
			c.rolesOf(id)
			c.direct = map[string]bool{id: true}
		}
		if s.roles != nil && s.roles.OnCreate() {
			// A new user is in no group: the column store gives it the default role, and an
			// authoritative mapping takes away the roles an adopted row was given by hand. Otherwise
			// the stores hold only granted roles, so there is nothing to write (and nothing to look up).
			c.rolesOf(id)
			c.fresh = id
		}
		if len(direct) > 0 { // a new user is in no group: its roles are its direct ones
			out["roles"] = directEntries(direct)
		}
		if err := s.afterChange(ctx, tx, c); err != nil {
			return err
		}
		// Last, so that it goes with the COMMIT: the 16 rows of user_counts are every create's, and a
		// row's lock is held from this write to the commit.
		return bookkeeping.CountUser(ctx, tx, id, 1)
	})
	return out, err
}

// findExisting looks for an app row this POST should take over; prev is the id of a bookkeeping
// tombstone to revive, appKey the app row's key. Both nil means a new row.
func (s *Store) findExisting(ctx context.Context, tx *bookkeeping.Tx, r scim.Resource) (prev *string, appKey any, err error) {
	// Two creates of one login at once, even without a unique index on the app's login column: both may
	// find nothing below and insert an app row, but only one bookkeeping row takes the login
	// (live_user_name's unique index, on the folded userName): the other waits for it, fails, and its
	// transaction, app row and all, is rolled back as a 409. An existing app row or tombstone is locked
	// by the reads below, so the second create waits and then finds it taken.
	tomb, err := s.latestTombstone(ctx, tx, scim.FoldIdentity(userName(r)))
	switch {
	case err == nil:
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
	case !errors.Is(err, sql.ErrNoRows):
		return nil, nil, err
	}

	// The adoption key, then the login: the app row that already holds this userName is the same
	// account whatever match_existing_by says, so "conflict" answers 409 and "adopt" adopts it rather
	// than writing a second row with the same login.
	var found any
	var foundCol, foundVal string
	for _, col := range s.existingColumns() {
		val, ok := s.m.ExtractString(r, col)
		if !ok {
			continue
		}
		prev, key, err := s.existingBy(ctx, tx, col, val)
		switch {
		case err != nil || prev != nil:
			return prev, key, err
		case key == nil:
		case found == nil:
			found, foundCol, foundVal = key, col, val
		case found != key:
			return nil, nil, scim.Conflict("the app user with %s %q is not the one with %s %q; resolve it in the app first", foundCol, foundVal, col, val)
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

// latestTombstone locks the users deleted through SCIM with this folded userName and returns the one
// deleted last (sql.ErrNoRows for none). The latest is picked here rather than by ORDER BY: on the
// user_name_lc index MariaDB sorted the (nearly always no) rows with a filesort, a third of the cost
// of the statement in every POST. The lock is the same: a sorted locking read locks every row it reads.
func (s *Store) latestTombstone(ctx context.Context, tx *bookkeeping.Tx, nameLC string) (tombstoneRow, error) {
	var rows []tombstoneRow
	if err := tx.SelectContext(ctx, &rows, "SELECT id, app_id, app_key, deleted_at FROM "+s.bookTable()+
		" WHERE user_name_lc = ? AND deleted_at IS NOT NULL FOR UPDATE", nameLC); err != nil {
		return tombstoneRow{}, err
	}
	if len(rows) == 0 {
		return tombstoneRow{}, sql.ErrNoRows
	}
	latest := rows[0]
	for _, r := range rows[1:] {
		if r.Deleted.After(latest.Deleted) || (r.Deleted.Equal(latest.Deleted) && r.ID > latest.ID) {
			latest = r
		}
	}
	return latest, nil
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

// existingBy looks for the app row whose column col holds val: prev is a SCIM user deleted earlier to
// re-link, key an unmanaged row to adopt; a conflict is an error.
func (s *Store) existingBy(ctx context.Context, tx *bookkeeping.Tx, col, val string) (prev *string, appKey any, err error) {
	if err := scim.CheckIdentity(col, val); err != nil {
		return nil, nil, err
	}
	keys, err := s.sameIdentityRows(ctx, tx, col, val)
	if err != nil {
		return nil, nil, err
	}
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

// sameIdentityRows locks and returns the keys of the app rows (in scope) whose column col holds the
// identity val, as scim.SameIdentity compares: not as the column's collation does, which would hand
// alice's row to alicé. At most two keys: more than one is a conflict either way.
func (s *Store) sameIdentityRows(ctx context.Context, tx *bookkeeping.Tx, col, val string) ([]any, error) {
	q, args := s.AdoptionLookupSQL(col, val)
	rows, err := tx.QueryxContext(ctx, q+" FOR UPDATE", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []any
	for rows.Next() {
		var key any
		var have sql.NullString
		if err := rows.Scan(&key, &have); err != nil {
			return nil, err
		}
		// The SQL already compares exactly; this keeps the rule in one place should a server's case
		// tables ever disagree with Go's.
		if have.Valid && scim.SameIdentity(have.String, val) && len(keys) < 2 {
			keys = append(keys, key)
		}
	}
	return keys, rows.Err()
}

// AdoptionLookupSQL is the query (without its FOR UPDATE) that finds the app rows whose column col holds
// the identity val, for EXPLAIN in tests and investigations.
func (s *Store) AdoptionLookupSQL(col, val string) (string, []any) {
	c := "u." + quoteIdent(col)
	return "SELECT u." + quoteIdent(s.m.Key) + ", " + c + " FROM " + quoteIdent(s.m.Table) + " u WHERE " + identityMatch(c) +
		s.scopeSQL() + " LIMIT 100", append([]any{val, val, val}, s.scopeArgs()...)
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

// lockedSide reads and locks what the app row with this key has in the side placements.
func (s *Store) lockedSide(ctx context.Context, tx *bookkeeping.Tx, key any) (*mapping.Side, error) {
	sides, err := s.loadSide(ctx, tx, []any{key}, true)
	return sides.of(key), err
}

// insertApp inserts the app row and returns its key and the columns it was inserted with.
func (s *Store) insertApp(ctx context.Context, tx *bookkeeping.Tx, r scim.Resource) (any, map[string]any, error) {
	cols, err := s.m.InsertColumns(r, s.env(tx))
	if err != nil {
		return nil, nil, err
	}
	var key any
	if s.m.KeyGen.Kind != mapping.KeyAutoIncrement {
		k, err := s.newAppKey()
		if err != nil {
			return nil, nil, err
		}
		cols[s.m.Key], key = k, k
	}
	names := slices.Sorted(maps.Keys(cols))
	args := make([]any, len(names))
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i], args[i] = quoteIdent(n), cols[n]
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+quoteIdent(s.m.Table)+" ("+strings.Join(quoted, ", ")+") VALUES ("+
		placeholders(len(names))+")", args...)
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		id, err := res.LastInsertId()
		if err != nil {
			return nil, nil, err
		}
		key = id
	}
	return key, cols, nil
}

// writeBook inserts the bookkeeping row, or revives the tombstone prev under the new id.
func (s *Store) writeBook(ctx context.Context, tx *bookkeeping.Tx, id string, prev *string, appKey any, r scim.Resource) error {
	doc, err := s.bookDoc(r)
	if err != nil {
		return err
	}
	now := tx.Now
	if prev != nil {
		if err := bookkeeping.MoveUser(ctx, tx, tx.Tables, *prev, id); err != nil {
			return err
		}
		err = tx.Later(ctx, "UPDATE "+s.bookTable()+` SET id = ?, user_name = ?, user_name_lc = ?, external_id = ?,
			active = ?, version = version + 1, created = ?, last_modified = ?, deleted_at = NULL, doc = ? WHERE id = ?`,
			id, userName(r), scim.FoldIdentity(userName(r)), externalID(r), isActive(r), now, now, doc, *prev)
		if err != nil {
			return err
		}
		return bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, id, doc, false)
	}
	// Deferred, as the writes after it: a second create of this login fails on live_user_name with the
	// statement that carries it, and is answered 409 the same.
	err = tx.Later(ctx, "INSERT INTO "+s.bookTable()+" (id, "+s.joinKey+`, user_name, user_name_lc, external_id,
		active, version, created, last_modified, doc) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
		id, appKey, userName(r), scim.FoldIdentity(userName(r)), externalID(r), isActive(r), now, now, doc)
	if err != nil {
		return err
	}
	return bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, id, doc, true)
}
