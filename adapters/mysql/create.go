package mysql

import (
	"context"
	"maps"
	"slices"
	"strings"

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
