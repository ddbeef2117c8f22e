package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
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
		var stored *storedRow // the new app row as the INSERT returned it; nil when it is read back below
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
			if appKey, inserted, stored, err = s.insertApp(ctx, tx, r); err == nil {
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
		doc, err := s.writeBook(ctx, tx, id, prev, appKey, r)
		if err != nil {
			return err
		}
		if err := s.writeOurs(ctx, tx, id, old, side, mapping.WithCreateDefaults(r)); err != nil {
			return err
		}
		// What the app's defaults and triggers made of the row gives the response and the audit's
		// after: the row the INSERT returned, or a read-back.
		var b *bookRow
		if stored != nil {
			b = s.createdUser(id, appKey, r, doc, tx.Now, stored)
		} else if b, err = s.oneUserSnap(ctx, tx, id, false); err != nil {
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
			// Its bookkeeping row is this create's, under an id nobody had: tracked, in no group, no
			// grants. Not so for a revived tombstone, or an id go-live brings (WithID).
			if _, preset := ctx.Value(presetID{}).(string); prev == nil && !preset {
				c.known = &approles.Known{Key: appKey, Active: isActive(r), Direct: direct}
			}
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
	return "SELECT u." + quoteIdent(s.m.Key) + ", " + c + " FROM " + quoteIdent(s.m.Table) + " u WHERE " + c + " = ?" +
		s.scopeSQL() + " LIMIT " + strconv.Itoa(maxAdoptionCandidates+1), append([]any{val}, s.scopeArgs()...)
}

// maxAdoptionCandidates bounds the app rows an adoption lookup reads (see AdoptionLookupSQL).
const maxAdoptionCandidates = 100

// adoptionExactSQL is AdoptionLookupSQL with the identity compared in SQL (identityMatch): for a value
// that more than maxAdoptionCandidates rows equal under the collation.
func (s *Store) adoptionExactSQL(col, val string) (string, []any) {
	c := "u." + quoteIdent(col)
	return "SELECT u." + quoteIdent(s.m.Key) + ", " + c + " FROM " + quoteIdent(s.m.Table) + " u WHERE " + identityMatch(c) +
		s.scopeSQL() + " LIMIT 100", append([]any{val, val, val}, s.scopeArgs()...)
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

// lockedSide reads and locks what the app row with this key has in the side placements.
func (s *Store) lockedSide(ctx context.Context, tx *bookkeeping.Tx, key any) (*mapping.Side, error) {
	sides, err := s.loadSide(ctx, tx, []any{key}, true)
	return sides.of(key), err
}

// insertApp inserts the app row and returns its key, the columns it was inserted with and, where the
// server answers INSERT ... RETURNING (bookkeeping.InsertReturns), the row as stored: the app's
// defaults and the column types' own rounding included, what a read-back would read. stored is nil on
// other servers.
func (s *Store) insertApp(ctx context.Context, tx *bookkeeping.Tx, r scim.Resource) (key any, cols map[string]any, stored *storedRow, err error) {
	if cols, err = s.m.InsertColumns(r, s.env(tx)); err != nil {
		return nil, nil, nil, err
	}
	if s.m.KeyGen.Kind != mapping.KeyAutoIncrement {
		k, err := s.newAppKey()
		if err != nil {
			return nil, nil, nil, err
		}
		cols[s.m.Key], key = k, k
	}
	names := slices.Sorted(maps.Keys(cols))
	args := make([]any, len(names))
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i], args[i] = quoteIdent(n), cols[n]
	}
	q := "INSERT INTO " + quoteIdent(s.m.Table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + placeholders(len(names)) + ")"
	if !s.readBack && bookkeeping.InsertReturns(ctx, s.db) {
		if stored, err = s.insertReturning(ctx, tx, q+" RETURNING *", args); err != nil {
			return nil, nil, nil, err
		}
		if key == nil {
			if key, err = autoIncrementKey(stored.get(s.m.Key)); err != nil {
				return nil, nil, nil, err
			}
		}
		return key, cols, stored, nil
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, nil, nil, err
	}
	if key == nil {
		id, err := res.LastInsertId()
		if err != nil {
			return nil, nil, nil, err
		}
		key = id
	}
	return key, cols, nil, nil
}

// autoIncrementKey is an AUTO_INCREMENT key as RETURNING gave it, as LastInsertId gives it: an int64.
func autoIncrementKey(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("INSERT ... RETURNING: the key is %T, not a number", v)
}

// storedRow is an app row as the server returned it: its columns' names and values.
type storedRow struct {
	names []string
	vals  []any
}

// get is the value of the column named name (as MySQL compares names: without case); nil for none.
func (r *storedRow) get(name string) any {
	for i, n := range r.names {
		if strings.EqualFold(n, name) {
			return r.vals[i]
		}
	}
	return nil
}

func (s *Store) insertReturning(ctx context.Context, tx *bookkeeping.Tx, q string, args []any) (*storedRow, error) {
	rows, err := tx.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("INSERT ... RETURNING returned no row")
	}
	vals := make([]any, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	return &storedRow{names: names, vals: vals}, rows.Close()
}

// createdUser is the user a create just wrote, as the read-back (oneUserSnap) would read it: the
// bookkeeping row from what the transaction wrote, the app columns from the row as stored.
func (s *Store) createdUser(id string, appKey any, r scim.Resource, doc []byte, now time.Time, stored *storedRow) *bookRow {
	b := &bookRow{id: id, externalID: externalID(r), version: 1, created: now, lastModified: now, doc: doc,
		userName: userName(r), app: make(map[string]any, len(s.scimCols))}
	if s.joinKey == "app_id" {
		b.appID.Int64, b.appID.Valid = appKey.(int64)
	} else {
		b.appKey.String, b.appKey.Valid = appKey.(string)
	}
	for _, c := range s.scimCols {
		b.app[c] = stored.get(c)
	}
	b.snap = audit.Row(stored.names, stored.vals)
	return b
}

// writeBook inserts the bookkeeping row, or revives the tombstone prev under the new id, and returns the
// document it wrote.
func (s *Store) writeBook(ctx context.Context, tx *bookkeeping.Tx, id string, prev *string, appKey any, r scim.Resource) ([]byte, error) {
	doc, err := s.bookDoc(r)
	if err != nil {
		return nil, err
	}
	now := tx.Now
	if prev != nil {
		if err := bookkeeping.MoveUser(ctx, tx, tx.Tables, *prev, id); err != nil {
			return nil, err
		}
		err = tx.Later(ctx, "UPDATE "+s.bookTable()+` SET id = ?, user_name = ?, user_name_lc = ?, external_id = ?,
			active = ?, version = version + 1, created = ?, last_modified = ?, deleted_at = NULL, doc = ? WHERE id = ?`,
			id, userName(r), scim.FoldIdentity(userName(r)), externalID(r), isActive(r), now, now, doc, *prev)
		if err != nil {
			return nil, err
		}
		return doc, bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, id, doc, false)
	}
	// Deferred, as the writes after it: a second create of this login fails on live_user_name with the
	// statement that carries it, and is answered 409 the same.
	err = tx.Later(ctx, "INSERT INTO "+s.bookTable()+" (id, "+s.joinKey+`, user_name, user_name_lc, external_id,
		active, version, created, last_modified, doc) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
		id, appKey, userName(r), scim.FoldIdentity(userName(r)), externalID(r), isActive(r), now, now, doc)
	if err != nil {
		return nil, err
	}
	return doc, bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, id, doc, true)
}
