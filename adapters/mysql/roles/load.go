package roles

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// bookRow is what a recompute reads of a user's bookkeeping row.
type bookRow struct {
	ID      string `db:"id"`
	Key     any    `db:"app"`
	Active  bool   `db:"active"`
	Deleted bool   `db:"deleted"`
	// Untracked: the user existed before scimbridge recorded the roles it grants (see handGiven).
	Untracked bool `db:"roles_untracked"`
	// InGroups and HasDirect: the user may be in a group, may have direct roles (set by the writes that
	// add them, which lock this row as this read does): the others' memberships and direct roles are
	// not read.
	InGroups  bool `db:"in_groups"`
	HasDirect bool `db:"has_direct"`
}

// Known is a user whose recompute needs nothing read: one a create inserted the bookkeeping row of in this
// transaction (tracked, in no group, holding no grants under its new SCIM id), with its app row inserted
// or adopted, and locked, by that create. Key is the app's key, Active the user's, Direct the roles
// assigned to it directly.
type Known struct {
	Key    any
	Active bool
	Direct []string
}

// known is the user k describes, as load would read it.
func (s *Sync) known(id string, k Known) *user {
	u := &user{id: id, key: bookkeeping.NormalizeKey(k.Key), direct: k.Direct}
	if k.Active || !s.Rules.ClearInactive {
		u.granted = s.Rules.Combine(s.Rules.Granted(nil), u.direct)
	}
	return u
}

// load reads the users' app keys, state and groups, and computes the roles they are granted.
func (s *Sync) load(ctx context.Context, tx *bookkeeping.Tx, ids []string) ([]*user, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []bookRow
	// The users are locked before their memberships are read: two transactions changing one user's
	// groups at once then recompute one after the other, the second seeing the first's membership.
	if err := tx.SelectContext(ctx, &rows, "SELECT id, "+s.joinKey+" AS app, active, deleted_at IS NOT NULL AS deleted, roles_untracked, in_groups, has_direct FROM "+
		tx.Tables.Users()+" WHERE id IN ("+bookkeeping.Placeholders(len(ids))+") ORDER BY id FOR UPDATE", bookkeeping.Args(ids)...); err != nil {
		return nil, err
	}
	var members, assigned []string
	for _, r := range rows {
		if r.InGroups {
			members = append(members, r.ID)
		}
		if r.HasDirect {
			assigned = append(assigned, r.ID)
		}
	}
	groups, err := Groups(ctx, tx, tx.Tables, members)
	if err != nil {
		return nil, err
	}
	present, err := s.appRows(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	direct, err := Direct(ctx, tx, tx.Tables, assigned)
	if err != nil {
		return nil, err
	}
	users := make([]*user, 0, len(rows))
	for _, row := range rows {
		u := &user{id: row.ID, key: bookkeeping.NormalizeKey(row.Key), untracked: row.Untracked, direct: direct[row.ID]}
		if !present[bookkeeping.KeyString(u.key)] {
			continue // the app deleted the row itself: there is nowhere to write roles
		}
		if !row.Deleted && (row.Active || !s.Rules.ClearInactive) {
			u.granted = s.Rules.Combine(s.Rules.Granted(groups[row.ID]), u.direct)
		}
		users = append(users, u)
	}
	return users, nil
}

// Groups reads the groups of these SCIM users, as the role rules match them (displayName, externalId),
// ordered by displayName.
func Groups(ctx context.Context, q bookkeeping.Queryer, tables bookkeeping.Tables, ids []string) (map[string][]mapping.Group, error) {
	if len(ids) == 0 {
		return map[string][]mapping.Group{}, nil
	}
	var memberships []struct {
		UserID     string  `db:"user_id"`
		Name       string  `db:"display_name"`
		ExternalID *string `db:"external_id"`
	}
	if err := q.SelectContext(ctx, &memberships, "SELECT gm.user_id, g.display_name, g.external_id FROM "+tables.Members()+
		" gm JOIN "+tables.Groups()+" g ON g.id = gm.group_id WHERE gm.user_id IN ("+bookkeeping.Placeholders(len(ids))+
		") ORDER BY g.display_name", bookkeeping.Args(ids)...); err != nil {
		return nil, err
	}
	groups := map[string][]mapping.Group{}
	for _, m := range memberships {
		g := mapping.Group{DisplayName: m.Name}
		if m.ExternalID != nil {
			g.ExternalID = *m.ExternalID
		}
		groups[m.UserID] = append(groups[m.UserID], g)
	}
	return groups, nil
}

// Direct reads the roles assigned directly to these SCIM users (SCIM "roles"), by SCIM id, by name.
func Direct(ctx context.Context, q bookkeeping.Queryer, tables bookkeeping.Tables, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID string `db:"user_id"`
		Role   string `db:"role"`
	}
	if err := q.SelectContext(ctx, &rows, "SELECT user_id, role FROM "+tables.RoleDirect()+" WHERE user_id IN ("+
		bookkeeping.Placeholders(len(ids))+") ORDER BY user_id, role", bookkeeping.Args(ids)...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.UserID] = append(out[r.UserID], r.Role)
	}
	return out, nil
}

// appRows returns which of the users' app keys still have a row in the app's users table.
func (s *Sync) appRows(ctx context.Context, tx *bookkeeping.Tx, rows []bookRow) (map[string]bool, error) {
	keys := make([]any, 0, len(rows))
	for _, r := range rows {
		if r.Key != nil {
			keys = append(keys, bookkeeping.NormalizeKey(r.Key))
		}
	}
	present := map[string]bool{}
	if len(keys) == 0 {
		return present, nil
	}
	var found []any
	if err := tx.SelectContext(ctx, &found, "SELECT "+s.key+" FROM "+s.table+" WHERE "+s.key+" IN ("+
		bookkeeping.Placeholders(len(keys))+")", keys...); err != nil {
		return nil, err
	}
	for _, k := range found {
		present[bookkeeping.KeyString(bookkeeping.NormalizeKey(k))] = true
	}
	return present, nil
}
