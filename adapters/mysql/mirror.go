package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// groupMirror copies scimbridge's groups into the app's own groups and group-members tables
// ([groups.mirror]), in the transaction of every group change. It touches only what it mirrors: the app
// group rows of SCIM groups (their key is kept in <prefix>groups.app_key), and in those groups only the
// member rows of SCIM users. Rows of other groups, and rows of users SCIM does not manage, stay.
type groupMirror struct {
	s *Store
	m *mapping.GroupMirror
}

// keyArg turns an app group key as the bookkeeping keeps it (text) into the type of the app's column,
// so that comparisons use the column's index.
func (gm *groupMirror) keyArg(k string) any {
	if gm.m.KeyGen == mapping.KeyAutoIncrement {
		if n, err := strconv.ParseInt(k, 10, 64); err == nil {
			return n
		}
	}
	return k
}

// appKey returns the app's key of a group; ok is false while the group is not mirrored.
func (gm *groupMirror) appKey(ctx context.Context, tx *bookkeeping.Tx, groupID string) (key any, ok bool, err error) {
	var k sql.NullString
	if err := tx.GetContext(ctx, &k, "SELECT app_key FROM "+gm.s.groupTable()+" WHERE id = ?", groupID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if !k.Valid {
		return nil, false, nil
	}
	return gm.keyArg(k.String), true, nil
}

// create inserts the app's row of a group and records its key in the bookkeeping.
func (gm *groupMirror) create(ctx context.Context, tx *bookkeeping.Tx, groupID string, r scim.Resource) (any, error) {
	name, _ := r["displayName"].(string)
	cols, args := []string{quoteIdent(gm.m.Name)}, []any{name}
	if gm.m.ExternalID != "" {
		cols, args = append(cols, quoteIdent(gm.m.ExternalID)), append(args, externalID(r))
	}
	var key string
	if gm.m.KeyGen == mapping.KeyUUID {
		key = gm.s.newUUID()
		cols, args = append(cols, quoteIdent(gm.m.Key)), append(args, key)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+quoteIdent(gm.m.Table)+" ("+strings.Join(cols, ", ")+") VALUES ("+
		placeholders(len(cols))+")", args...)
	if err != nil {
		return nil, gm.explain(err, name)
	}
	if key == "" {
		id, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		key = strconv.FormatInt(id, 10)
	}
	// The app may hand out a key again that a SCIM group whose app row the app deleted still records:
	// that record is stale, since the key now belongs to the new row.
	if _, err := tx.ExecContext(ctx, "UPDATE "+gm.s.groupTable()+" SET app_key = NULL WHERE app_key = ? AND id <> ?", key, groupID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+gm.s.groupTable()+" SET app_key = ? WHERE id = ?", key, groupID); err != nil {
		return nil, err
	}
	return gm.keyArg(key), nil
}

// ensure makes sure a group that is about to change has its app row: a group created before the mirror
// was configured, or whose row the app deleted, gets one now, with its current SCIM members.
func (gm *groupMirror) ensure(ctx context.Context, tx *bookkeeping.Tx, groupID string, cur scim.Resource) error {
	key, ok, err := gm.appKey(ctx, tx, groupID)
	if err != nil {
		return err
	}
	if ok {
		var found []any
		if err := tx.SelectContext(ctx, &found, "SELECT "+quoteIdent(gm.m.Key)+" FROM "+quoteIdent(gm.m.Table)+" WHERE "+
			quoteIdent(gm.m.Key)+" = ? FOR UPDATE", key); err != nil {
			return err
		}
		if len(found) > 0 {
			return nil
		}
	}
	if key, err = gm.create(ctx, tx, groupID, cur); err != nil {
		return err
	}
	var members []string
	if err := tx.SelectContext(ctx, &members, "SELECT user_id FROM "+gm.s.memberTable()+" WHERE group_id = ? ORDER BY user_id", groupID); err != nil {
		return err
	}
	return gm.apply(ctx, tx, key, members, nil)
}

// update writes a renamed group's displayName (and externalId) to its app row.
func (gm *groupMirror) update(ctx context.Context, tx *bookkeeping.Tx, groupID string, r scim.Resource) error {
	key, ok, err := gm.appKey(ctx, tx, groupID)
	if err != nil || !ok {
		return err
	}
	name, _ := r["displayName"].(string)
	sets, args := []string{quoteIdent(gm.m.Name) + " = ?"}, []any{name}
	if gm.m.ExternalID != "" {
		sets, args = append(sets, quoteIdent(gm.m.ExternalID)+" = ?"), append(args, externalID(r))
	}
	_, err = tx.ExecContext(ctx, "UPDATE "+quoteIdent(gm.m.Table)+" SET "+strings.Join(sets, ", ")+" WHERE "+
		quoteIdent(gm.m.Key)+" = ?", append(args, key)...)
	return gm.explain(err, name)
}

// delete removes a deleted group's app row and every member row of it (the group is gone from the app).
func (gm *groupMirror) delete(ctx context.Context, tx *bookkeeping.Tx, groupID string) error {
	key, ok, err := gm.appKey(ctx, tx, groupID)
	if err != nil || !ok {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(gm.m.MembersTable)+" WHERE "+quoteIdent(gm.m.MemberGroup)+" = ?", key); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(gm.m.Table)+" WHERE "+quoteIdent(gm.m.Key)+" = ?", key)
	if kind, _ := dialect.Classify(err); kind == bookkeeping.ErrReferenced {
		return &scim.Error{Status: 409, Detail: fmt.Sprintf("the app still has rows that refer to this group's row in its table %q; it cannot be deleted", gm.m.Table), Err: err}
	}
	return err
}

// members mirrors a change of a group's members (SCIM user ids); nothing when the group is not mirrored.
func (gm *groupMirror) members(ctx context.Context, tx *bookkeeping.Tx, groupID string, added, removed []string) error {
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	key, ok, err := gm.appKey(ctx, tx, groupID)
	if err != nil || !ok {
		return err
	}
	return gm.apply(ctx, tx, key, added, removed)
}

// apply inserts the app member rows of the added users and deletes those of the removed ones, up to
// memberBatch rows a statement. A row already there is not inserted twice (the app may have added it by
// hand); users whose app row is gone are skipped.
func (gm *groupMirror) apply(ctx context.Context, tx *bookkeeping.Tx, key any, added, removed []string) error {
	mt, mg, mu := quoteIdent(gm.m.MembersTable), quoteIdent(gm.m.MemberGroup), quoteIdent(gm.m.MemberUser)
	s := gm.s
	for start := 0; start < len(added); start += memberBatch {
		batch := added[start:min(start+memberBatch, len(added))]
		var users []any
		if err := tx.SelectContext(ctx, &users, "SELECT b."+s.joinKey+" FROM "+s.bookTable()+" b JOIN "+quoteIdent(s.m.Table)+
			" u ON u."+quoteIdent(s.m.Key)+" = b."+s.joinKey+" WHERE b.id IN ("+placeholders(len(batch))+") ORDER BY b."+s.joinKey,
			anySlice(batch)...); err != nil {
			return err
		}
		if len(users) == 0 {
			continue
		}
		for i := range users {
			users[i] = normalizeKey(users[i])
		}
		var present []any
		if err := tx.SelectContext(ctx, &present, "SELECT "+mu+" FROM "+mt+" WHERE "+mg+" = ? AND "+mu+" IN ("+
			placeholders(len(users))+") FOR UPDATE", append([]any{key}, users...)...); err != nil {
			return err
		}
		have := make(map[string]bool, len(present))
		for _, p := range present {
			have[keyString(normalizeKey(p))] = true
		}
		args := make([]any, 0, 2*len(users))
		for _, u := range users {
			if !have[keyString(u)] {
				have[keyString(u)] = true
				args = append(args, key, u)
			}
		}
		if len(args) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+mt+" ("+mg+", "+mu+") VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(args)/2), ", "), args...); err != nil {
			return err
		}
	}
	for start := 0; start < len(removed); start += memberBatch {
		batch := removed[start:min(start+memberBatch, len(removed))]
		var users []any
		if err := tx.SelectContext(ctx, &users, "SELECT "+s.joinKey+" FROM "+s.bookTable()+" WHERE id IN ("+
			placeholders(len(batch))+") AND "+s.joinKey+" IS NOT NULL ORDER BY "+s.joinKey, anySlice(batch)...); err != nil {
			return err
		}
		if len(users) == 0 {
			continue
		}
		for i := range users {
			users[i] = normalizeKey(users[i])
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+mt+" WHERE "+mg+" = ? AND "+mu+" IN ("+placeholders(len(users))+")",
			append([]any{key}, users...)...); err != nil {
			return err
		}
	}
	return nil
}

// explain turns a duplicate key on the app's groups table into a 409 that says so (the generic message
// speaks of users).
func (gm *groupMirror) explain(err error, name string) error {
	if kind, key := dialect.Classify(err); kind == bookkeeping.ErrDuplicate {
		return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Err: err,
			Detail: fmt.Sprintf("the app's table %q already has a group with the same value for its unique key %q (group %q)", gm.m.Table, key, name)}
	}
	return err
}
