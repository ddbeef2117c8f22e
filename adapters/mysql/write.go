package mysql

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// writeSide writes the side placements' part of a change (see mapping.Users.SideOps).
func (s *Store) writeSide(ctx context.Context, tx *bookkeeping.Tx, key any, old scim.Resource, side *mapping.Side, new scim.Resource) error {
	if !s.m.HasSide() {
		return nil
	}
	ops, err := s.m.SideOps(key, old, side, new, s.env(tx))
	if err != nil {
		return err
	}
	return execOps(ctx, tx, ops)
}

func (s *Store) updateApp(ctx context.Context, tx *bookkeeping.Tx, key any, cols map[string]any) error {
	if len(cols) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(cols))
	sets := make([]string, len(names))
	args := make([]any, 0, len(names)+1)
	for i, n := range names {
		if cols[n] == mapping.ColumnDefault {
			sets[i] = quoteIdent(n) + " = DEFAULT"
			continue
		}
		sets[i] = quoteIdent(n) + " = ?"
		args = append(args, cols[n])
	}
	// Deferred (with the next statement): an error of the app's (a value too long for its column) fails
	// that statement instead, and is answered the same.
	return tx.Later(ctx, "UPDATE "+quoteIdent(s.m.Table)+" SET "+strings.Join(sets, ", ")+" WHERE "+
		quoteIdent(s.m.Key)+" = ?", append(args, key)...)
}

// UpdateUser applies fn to the current resource inside one transaction, with the user's rows locked,
// and writes what changed. fn returning an error changes nothing. This is how PUT and PATCH stay atomic.
// fn may be called more than once: a transaction that meets a lock conflict runs again from the start.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(cur scim.Resource) (scim.Resource, error)) (scim.Resource, error) {
	var out scim.Resource
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		// The locked read gives the audit's before too: the row is locked from then on, and nothing in
		// between (the side placements' locked reads) writes it.
		b, err := s.liveUser(ctx, tx, s.selectReadSnap, true, id, true)
		if err != nil {
			return err
		}
		cur, side, err := s.readUser(ctx, tx, b, true)
		if err != nil {
			return err
		}
		before := b.snap
		// fn starts from the user without the attributes a template rendered, so that a PATCH of the
		// names renders displayName again while a displayName the IdP set stays. With a role mapping
		// its "roles" are the direct assignments (role_direct), which fn may change.
		in := s.m.WithoutDerived(copyResource(cur), b.derived)
		var haveDirect, wantDirect []string
		if s.roles != nil {
			delete(cur, "roles")
			// A user without has_direct has none: its row, locked above, is locked by every write of them.
			if b.hasDirect {
				if haveDirect, err = s.readDirect(ctx, tx, id); err != nil {
					return err
				}
			}
			if delete(in, "roles"); len(haveDirect) > 0 {
				in["roles"] = directEntries(haveDirect)
			}
		}
		next, err := fn(in)
		if err != nil {
			return err
		}
		if s.roles != nil {
			next = copyResource(next) // fn's result is its own: takeDirect removes "roles" from a copy
			if wantDirect, err = s.takeDirect(next); err != nil {
				return err
			}
		}
		if isActive(cur) && !isActive(next) {
			if err := s.admitDeactivation(ctx, tx, id, cur, "deactivate"); err != nil {
				return err
			}
		}
		rules, err := s.updateRules(ctx, tx)
		if err != nil {
			return err
		}
		w, changed, err := s.writeUpdateOf(ctx, tx, b, cur, side, next, false)
		if err != nil {
			return err
		}
		directChanged := false
		if s.roles != nil {
			if directChanged, err = s.writeDirect(ctx, tx, id, haveDirect, wantDirect); err != nil {
				return err
			}
		}
		if directChanged && !changed { // the user's roles are part of it: a new version, a new ETag
			if _, err := tx.ExecContext(ctx, "UPDATE "+s.bookTable()+" SET version = version + 1, last_modified = ? WHERE id = ?",
				tx.Now, id); err != nil {
				return err
			}
			changed = true
		}
		if !changed {
			out = cur
			return s.attachGroups(ctx, tx, out)
		}
		// The row as the writes left it gives the audit's after too: every write of the app row is done
		// (ending the gate sessions writes only scimbridge's table). It is known from the locked read and
		// the writes where the server's rules for the columns are (updatedUser), else read back.
		if known, ok := s.updatedUser(rules, tx.Now, b, w, next, directChanged); ok {
			b = known
		} else if b, err = s.liveUser(ctx, tx, s.selectReadSnap, true, id, false); err != nil {
			return err
		}
		if out, _, err = s.readUser(ctx, tx, b, false); err != nil {
			return err
		}
		if err := s.endGateSessions(ctx, tx, id, out); err != nil {
			return err
		}
		after := b.snap
		c := &change{}
		for _, ev := range userUpdateEvents(b.key(), cur, out) {
			c.event(userSubject(id), ev)
		}
		attrs := changedAttributes(cur, out)
		diff := s.attributeDiff(cur, out, attrs)
		if directChanged {
			attrs = append(attrs, "roles")
			if diff == nil {
				diff = map[string]audit.Diff{}
			}
			diff["roles"] = audit.Diff{Before: orNone(haveDirect), After: orNone(wantDirect)}
			c.rolesOf(id)
			c.direct = map[string]bool{id: true}
		}
		c.user(&userWrite{id: id, name: userName(out), appKey: b.key(), before: before, after: after, changed: attrs, attrs: diff})
		// while_inactive = "clear" takes roles away and gives them back; with "keep" a change of active alone
		// changes no role, and the recompute (a dozen statements) is skipped.
		if isActive(cur) != isActive(out) && s.roles != nil && s.roles.OnActivity() {
			c.rolesOf(id)
		}
		if err := s.afterChange(ctx, tx, c); err != nil {
			return err
		}
		// After the change's events and audit, which do not carry the readOnly groups.
		return s.setGroups(ctx, tx, []scim.Resource{out}, []*bookRow{b})
	})
	return out, s.settleDeactivation(ctx, err)
}

// writeUpdate writes the difference between cur and next; it reports false when there was none, so an
// IdP re-sending the same values does not bump the version (and the ETag stays valid).
func (s *Store) writeUpdate(ctx context.Context, tx *bookkeeping.Tx, b *bookRow, cur scim.Resource, side *mapping.Side, next scim.Resource, deleting bool) (bool, error) {
	_, changed, err := s.writeUpdateOf(ctx, tx, b, cur, side, next, deleting)
	return changed, err
}

// updateWrite is what writeUpdateOf wrote: the app columns and the bookkeeping document.
type updateWrite struct {
	cols  map[string]any
	doc   []byte
	sides bool // side placements were written too
}

// writeUpdateOf is writeUpdate, also telling what it wrote (updatedUser predicts the row from it).
func (s *Store) writeUpdateOf(ctx context.Context, tx *bookkeeping.Tx, b *bookRow, cur scim.Resource, side *mapping.Side, next scim.Resource, deleting bool) (updateWrite, bool, error) {
	var w updateWrite
	cols, err := s.m.UpdateColumns(cur, next, s.env(tx))
	if err != nil {
		return w, false, err
	}
	w.cols = cols
	var ops []mapping.Op
	if s.m.HasSide() {
		if ops, err = s.m.SideOps(b.key(), cur, side, next, s.env(tx)); err != nil {
			return w, false, err
		}
	}
	oldDoc, err := s.docJSON(cur)
	if err != nil {
		return w, false, err
	}
	newMap := s.docOf(next)
	newDoc, err := json.Marshal(newMap)
	if err != nil {
		return w, false, err
	}
	// Which attributes a template rendered is a note, not a change: it alone writes nothing.
	same := len(cols) == 0 && len(ops) == 0 && string(oldDoc) == string(newDoc) && userName(cur) == userName(next) &&
		externalID(cur) == externalID(next)
	if same && !deleting {
		return w, false, nil
	}
	if err := s.updateApp(ctx, tx, b.key(), cols); err != nil {
		return w, false, err
	}
	if err := execOps(ctx, tx, ops); err != nil {
		return w, false, err
	}
	doc, err := s.bookDocOf(next, newMap, newDoc)
	if err != nil {
		return w, false, err
	}
	w.doc, w.sides = doc, len(ops) > 0
	now := tx.Now
	var deletedAt any
	if deleting {
		deletedAt = now
	}
	err = tx.Later(ctx, "UPDATE "+s.bookTable()+` SET user_name = ?, user_name_lc = ?, external_id = ?, active = ?,
		version = version + 1, last_modified = ?, doc = ?, deleted_at = ? WHERE id = ?`,
		userName(next), scim.FoldIdentity(userName(next)), externalID(next), isActive(next), now, doc, deletedAt, b.id)
	if err != nil {
		return w, true, err
	}
	if err := s.writeOurs(ctx, tx, b.id, cur, side, next); err != nil {
		return w, true, err
	}
	// A deleted user is filtered by nobody: its values go. A write that kept the document keeps them.
	switch {
	case deleting:
		return w, true, bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, b.id, nil, false)
	case string(oldDoc) != string(newDoc):
		return w, true, bookkeeping.WriteValues(ctx, tx.Deferred(), tx.Tables, b.id, doc, false)
	}
	return w, true, nil
}

// DeleteUser ends a SCIM user. With on_delete = "deactivate" the app row is deactivated and kept (a later
// POST with the same userName re-links it); with "delete" the app row is deleted. check, when not nil,
// sees the locked current resource first (If-Match) and can refuse; it may be called more than once.
func (s *Store) DeleteUser(ctx context.Context, id string, check func(cur scim.Resource) error) error {
	return s.settleDeactivation(ctx, s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		b, err := s.oneUser(ctx, tx, id, true)
		if err != nil {
			return err
		}
		// The user mark, after the user's row is locked and before its memberships are read
		// (bookkeeping.MarkUsers): an add of this user to a group through another Galera node then
		// conflicts with this DELETE, or this DELETE sees the member row it wrote, instead of leaving a
		// member row of a deleted user.
		if err := bookkeeping.MarkUsers(ctx, tx, tx.Tables, []string{id}); err != nil {
			return err
		}
		cur, side, err := s.readUser(ctx, tx, b, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur); err != nil {
				return err
			}
		}
		if err := s.dropDirect(ctx, tx, id); err != nil {
			return err
		}
		// Deleting an inactive user's row also destroys an account: with on_delete = "delete" it counts.
		if isActive(cur) || s.m.OnDelete == "delete" {
			if err := s.admitDeactivation(ctx, tx, id, cur, "delete"); err != nil {
				return err
			}
		}
		if err := s.leaveGroups(ctx, tx, id); err != nil {
			return err
		}
		if err := s.endGateSessions(ctx, tx, id, nil); err != nil {
			return err
		}
		// After leaving the groups, whose role changes have audit rows of their own.
		before, err := s.appSnapshot(ctx, tx, b.key())
		if err != nil {
			return err
		}
		deleted := Event{Type: EventUserDeleted, AppKey: b.key(), Resource: cur}
		if s.m.OnDelete == "delete" {
			if err := execOps(ctx, tx, s.m.DeleteOps(b.key())); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(s.m.Table)+" WHERE "+quoteIdent(s.m.Key)+" = ?", b.key()); err != nil {
				return err
			}
			if _, err = tx.ExecContext(ctx, "DELETE FROM "+s.bookTable()+" WHERE id = ?", id); err != nil {
				return err
			}
			if err := bookkeeping.ForgetUser(ctx, tx, tx.Tables, id); err != nil {
				return err
			}
			c := &change{}
			c.event(userSubject(id), deleted)
			c.user(&userWrite{id: id, name: userName(cur), appKey: b.key(), before: before})
			if err := s.afterChange(ctx, tx, c); err != nil {
				return err
			}
			return bookkeeping.CountUser(ctx, tx, id, -1) // last, as CreateUser's

		}
		next := s.m.WithoutDerived(copyResource(cur), b.derived)
		next["active"] = false
		if _, err = s.writeUpdate(ctx, tx, b, cur, side, next, true); err != nil {
			return err
		}
		deleted.Resource = next
		after, err := s.appSnapshot(ctx, tx, b.key())
		if err != nil {
			return err
		}
		c := &change{}
		c.event(userSubject(id), deleted)
		changed := changedAttributes(cur, next)
		c.user(&userWrite{id: id, name: userName(cur), appKey: b.key(), before: before, after: after, changed: changed,
			attrs: s.attributeDiff(cur, next, changed)})
		if err := s.afterChange(ctx, tx, c); err != nil {
			return err
		}
		return bookkeeping.CountUser(ctx, tx, id, -1) // last, as CreateUser's
	}))
}

func placeholders(n int) string { return bookkeeping.Placeholders(n) }
