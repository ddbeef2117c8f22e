// Package mirror copies scimbridge's groups into the app's own groups and group-members tables
// ([groups.mirror]), in the transaction of every group change.
package mirror

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// Mirror touches only what it mirrors: the app group rows of SCIM groups (their key is kept in
// <prefix>groups.app_key), and in those groups only the member rows of SCIM users. Rows of other groups,
// and rows of users SCIM does not manage, stay.
type Mirror struct {
	m *mapping.GroupMirror
	// The app's users table and key column (quoted), and the bookkeeping column holding a user's app key.
	usersTable, usersKey, joinKey string
	newUUID                       func() string
	onInsert                      []string // the on_insert columns, sorted
}

// New builds the mirror of a [groups.mirror] mapping. newUUID makes the app keys of key_generation = "uuid".
func New(m *mapping.GroupMirror, usersTable, usersKey, joinKey string, newUUID func() string) *Mirror {
	onInsert := make([]string, 0, len(m.OnInsert))
	for c := range m.OnInsert {
		onInsert = append(onInsert, c)
	}
	sort.Strings(onInsert)
	return &Mirror{m: m, usersTable: usersTable, usersKey: usersKey, joinKey: joinKey, newUUID: newUUID, onInsert: onInsert}
}

// batch is how many member rows one statement writes.
const batch = 1000

func quoteIdent(name string) string { return bookkeeping.MySQL.Quote(name) }

func externalID(r scim.Resource) sql.NullString {
	s, ok := r["externalId"].(string)
	return sql.NullString{String: s, Valid: ok && s != ""}
}

// keyArg turns an app group key as the bookkeeping keeps it (text) into the type of the app's column,
// so that comparisons use the column's index.
func (gm *Mirror) keyArg(k string) any {
	if gm.m.KeyGen == mapping.KeyAutoIncrement {
		if n, err := strconv.ParseInt(k, 10, 64); err == nil {
			return n
		}
	}
	return k
}

// AppKey returns the app's key of a group; ok is false while the group is not mirrored.
func (gm *Mirror) AppKey(ctx context.Context, tx *bookkeeping.Tx, groupID string) (key any, ok bool, err error) {
	var k sql.NullString
	if err := tx.GetContext(ctx, &k, "SELECT app_key FROM "+tx.Tables.Groups()+" WHERE id = ?", groupID); err != nil {
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

// Create inserts the app's row of a group and records its key in the bookkeeping.
func (gm *Mirror) Create(ctx context.Context, tx *bookkeeping.Tx, groupID string, r scim.Resource) (any, error) {
	name, _ := r["displayName"].(string)
	cols, args := []string{quoteIdent(gm.m.Name)}, []any{name}
	if gm.m.ExternalID != "" {
		cols, args = append(cols, quoteIdent(gm.m.ExternalID)), append(args, externalID(r))
	}
	consts := gm.m.InsertValues(tx.Now, gm.newUUID)
	for _, c := range gm.onInsert {
		cols, args = append(cols, quoteIdent(c)), append(args, consts[c])
	}
	var key string
	if gm.m.KeyGen == mapping.KeyUUID {
		key = gm.newUUID()
		cols, args = append(cols, quoteIdent(gm.m.Key)), append(args, key)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+quoteIdent(gm.m.Table)+" ("+strings.Join(cols, ", ")+") VALUES ("+
		bookkeeping.Placeholders(len(cols))+")", args...)
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
	if _, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Groups()+" SET app_key = NULL WHERE app_key = ? AND id <> ?", key, groupID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Groups()+" SET app_key = ? WHERE id = ?", key, groupID); err != nil {
		return nil, err
	}
	return gm.keyArg(key), nil
}

// Ensure makes sure a group that is about to change has its app row: a group created before the mirror
// was configured, or whose row the app deleted, gets one now, with its current SCIM members.
func (gm *Mirror) Ensure(ctx context.Context, tx *bookkeeping.Tx, groupID string, cur scim.Resource) error {
	key, ok, err := gm.AppKey(ctx, tx, groupID)
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
	if key, err = gm.Create(ctx, tx, groupID, cur); err != nil {
		return err
	}
	var members []string
	if err := tx.SelectContext(ctx, &members, "SELECT user_id FROM "+tx.Tables.Members()+" WHERE group_id = ? ORDER BY user_id", groupID); err != nil {
		return err
	}
	return gm.apply(ctx, tx, key, members, nil)
}

// Update writes a renamed group's displayName (and externalId) to its app row.
func (gm *Mirror) Update(ctx context.Context, tx *bookkeeping.Tx, groupID string, r scim.Resource) error {
	key, ok, err := gm.AppKey(ctx, tx, groupID)
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

// Delete removes a deleted group's app row, by the key AppKey read before the group went, and every
// member row of it (the group is gone from the app). A nil key (the group was not mirrored) does nothing.
func (gm *Mirror) Delete(ctx context.Context, tx *bookkeeping.Tx, key any) error {
	if key == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(gm.m.MembersTable)+" WHERE "+quoteIdent(gm.m.MemberGroup)+" = ?", key); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM "+quoteIdent(gm.m.Table)+" WHERE "+quoteIdent(gm.m.Key)+" = ?", key)
	if kind, _ := bookkeeping.MySQL.Classify(err); kind == bookkeeping.ErrReferenced {
		return &scim.Error{Status: 409, Detail: fmt.Sprintf("the app still has rows that refer to this group's row in its table %q; it cannot be deleted", gm.m.Table), Err: err}
	}
	return err
}

// Members mirrors a change of a group's members (SCIM user ids); nothing when the group is not mirrored.
func (gm *Mirror) Members(ctx context.Context, tx *bookkeeping.Tx, groupID string, added, removed []string) error {
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	key, ok, err := gm.AppKey(ctx, tx, groupID)
	if err != nil || !ok {
		return err
	}
	return gm.apply(ctx, tx, key, added, removed)
}

// apply inserts the app member rows of the added users and deletes those of the removed ones, up to
// batch rows a statement. A row already there is not inserted twice (the app may have added it by
// hand); users whose app row is gone are skipped.
func (gm *Mirror) apply(ctx context.Context, tx *bookkeeping.Tx, key any, added, removed []string) error {
	mt, mg, mu := quoteIdent(gm.m.MembersTable), quoteIdent(gm.m.MemberGroup), quoteIdent(gm.m.MemberUser)
	for start := 0; start < len(added); start += batch {
		batch := added[start:min(start+batch, len(added))]
		var users []any
		if err := tx.SelectContext(ctx, &users, "SELECT b."+gm.joinKey+" FROM "+tx.Tables.Users()+" b JOIN "+gm.usersTable+
			" u ON u."+gm.usersKey+" = b."+gm.joinKey+" WHERE b.id IN ("+bookkeeping.Placeholders(len(batch))+") ORDER BY b."+gm.joinKey,
			bookkeeping.Args(batch)...); err != nil {
			return err
		}
		if len(users) == 0 {
			continue
		}
		for i := range users {
			users[i] = bookkeeping.NormalizeKey(users[i])
		}
		var present []any
		if err := tx.SelectContext(ctx, &present, "SELECT "+mu+" FROM "+mt+" WHERE "+mg+" = ? AND "+mu+" IN ("+
			bookkeeping.Placeholders(len(users))+") FOR UPDATE", append([]any{key}, users...)...); err != nil {
			return err
		}
		have := make(map[string]bool, len(present))
		for _, p := range present {
			have[bookkeeping.KeyString(bookkeeping.NormalizeKey(p))] = true
		}
		args := make([]any, 0, 2*len(users))
		for _, u := range users {
			if !have[bookkeeping.KeyString(u)] {
				have[bookkeeping.KeyString(u)] = true
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
	for start := 0; start < len(removed); start += batch {
		batch := removed[start:min(start+batch, len(removed))]
		var users []any
		if err := tx.SelectContext(ctx, &users, "SELECT "+gm.joinKey+" FROM "+tx.Tables.Users()+" WHERE id IN ("+
			bookkeeping.Placeholders(len(batch))+") AND "+gm.joinKey+" IS NOT NULL ORDER BY "+gm.joinKey, bookkeeping.Args(batch)...); err != nil {
			return err
		}
		if len(users) == 0 {
			continue
		}
		for i := range users {
			users[i] = bookkeeping.NormalizeKey(users[i])
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+mt+" WHERE "+mg+" = ? AND "+mu+" IN ("+bookkeeping.Placeholders(len(users))+")",
			append([]any{key}, users...)...); err != nil {
			return err
		}
	}
	return nil
}

// explain turns a duplicate key on the app's groups table into a 409 that says so (the generic message
// speaks of users).
func (gm *Mirror) explain(err error, name string) error {
	if kind, key := bookkeeping.MySQL.Classify(err); kind == bookkeeping.ErrDuplicate {
		return &scim.Error{Status: 409, ScimType: scim.TypeUniqueness, Err: err,
			Detail: fmt.Sprintf("the app's table %q already has a group with the same value for its unique key %q (group %q)", gm.m.Table, key, name)}
	}
	return err
}
