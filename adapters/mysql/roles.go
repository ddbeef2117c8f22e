package mysql

import (
	"context"
	"reflect"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// EventUserRolesChanged is emitted when a user's app roles change.
const EventUserRolesChanged = "user.roles_changed"

// RoleChange is the payload of user.roles_changed: the managed app roles a user had and has.
type RoleChange struct {
	Old []string `json:"old"`
	New []string `json:"new"`
}

// roleSync keeps the app's role storage in line with group memberships; nil when no [roles] are configured.
type roleSync struct {
	s *Store
	r *mapping.Roles
}

// roleBookRow is what a recompute reads of a user's bookkeeping row.
type roleBookRow struct {
	ID      string `db:"id"`
	Key     any    `db:"app"`
	Active  bool   `db:"active"`
	Deleted bool   `db:"deleted"`
}

// roleUser is one SCIM user whose roles are being recomputed.
type roleUser struct {
	id      string
	key     any // the app's key
	granted []string
}

// recompute brings the app roles of these SCIM users in line with their groups, inside tx.
func (rs *roleSync) recompute(ctx context.Context, tx *bookkeeping.Tx, userIDs []string) error {
	_, err := rs.recomputeCount(ctx, tx, userIDs)
	return err
}

// recomputeCount is recompute, returning how many users' roles changed.
func (rs *roleSync) recomputeCount(ctx context.Context, tx *bookkeeping.Tx, userIDs []string) (int, error) {
	changed := 0
	for start := 0; start < len(userIDs); start += memberBatch {
		users, err := rs.load(ctx, tx, dedupe(userIDs[start:min(start+memberBatch, len(userIDs))]))
		if err != nil {
			return changed, err
		}
		old, err := rs.current(ctx, tx, users)
		if err != nil {
			return changed, err
		}
		if err := rs.apply(ctx, tx, users, old); err != nil {
			return changed, err
		}
		var evs []subjectEvent
		for _, u := range users {
			before, after := old[keyString(u.key)].roles, rs.want(u)
			if sameRoles(before, after) {
				continue
			}
			changed++
			evs = append(evs, subjectEvent{userSubject(u.id), Event{Type: EventUserRolesChanged, AppKey: u.key,
				Roles: &RoleChange{Old: orEmpty(before), New: orEmpty(after)}, Resource: scim.Resource{"id": u.id}}})
		}
		if err := rs.s.emitAll(ctx, tx, evs); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// load reads the users' app keys, state and groups, and computes the roles they are granted.
func (rs *roleSync) load(ctx context.Context, tx *bookkeeping.Tx, ids []string) ([]*roleUser, error) {
	s := rs.s
	var rows []roleBookRow
	// The users are locked before their memberships are read: two transactions changing one user's
	// groups at once then recompute one after the other, the second seeing the first's membership.
	if err := tx.SelectContext(ctx, &rows, "SELECT id, "+s.joinKey+" AS app, active, deleted_at IS NOT NULL AS deleted FROM "+
		s.bookTable()+" WHERE id IN ("+placeholders(len(ids))+") ORDER BY id FOR UPDATE", anySlice(ids)...); err != nil {
		return nil, err
	}
	var memberships []struct {
		UserID     string  `db:"user_id"`
		Name       string  `db:"display_name"`
		ExternalID *string `db:"external_id"`
	}
	if err := tx.SelectContext(ctx, &memberships, "SELECT gm.user_id, g.display_name, g.external_id FROM "+s.memberTable()+
		" gm JOIN "+s.groupTable()+" g ON g.id = gm.group_id WHERE gm.user_id IN ("+placeholders(len(ids))+")", anySlice(ids)...); err != nil {
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
	present, err := rs.appRows(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	users := make([]*roleUser, 0, len(rows))
	for _, row := range rows {
		u := &roleUser{id: row.ID, key: normalizeKey(row.Key)}
		if !present[keyString(u.key)] {
			continue // the app deleted the row itself: there is nowhere to write roles
		}
		if !row.Deleted && (row.Active || !rs.r.ClearInactive) {
			u.granted = rs.r.Granted(groups[row.ID])
		}
		users = append(users, u)
	}
	return users, nil
}

// appRows returns which of the users' app keys still have a row in the app's users table.
func (rs *roleSync) appRows(ctx context.Context, tx *bookkeeping.Tx, rows []roleBookRow) (map[string]bool, error) {
	keys := make([]any, 0, len(rows))
	for _, r := range rows {
		if r.Key != nil {
			keys = append(keys, normalizeKey(r.Key))
		}
	}
	present := map[string]bool{}
	if len(keys) == 0 {
		return present, nil
	}
	table, key := rs.users()
	var found []any
	if err := tx.SelectContext(ctx, &found, "SELECT "+key+" FROM "+table+" WHERE "+key+" IN ("+placeholders(len(keys))+")", keys...); err != nil {
		return nil, err
	}
	for _, k := range found {
		present[keyString(normalizeKey(k))] = true
	}
	return present, nil
}

// UserRoles returns the app roles a user's groups grant under the role mapping (nil without one).
func (s *Store) UserRoles(ctx context.Context, id string) ([]string, error) {
	if s.roles == nil {
		return nil, nil
	}
	var roles []string
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		users, err := s.roles.load(ctx, tx, []string{id})
		if err == nil && len(users) == 1 {
			roles = users[0].granted
		}
		return err
	})
	return roles, err
}

// ReconcileRoles recomputes every user's roles, in batches of one transaction each: run at start so that
// rules changed in the configuration reach every user. It returns how many users it checked and changed.
func (s *Store) ReconcileRoles(ctx context.Context) (checked, changed int, err error) {
	if s.roles == nil {
		return 0, 0, nil
	}
	after := ""
	for {
		var ids []string
		if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM "+s.bookTable()+" WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?",
			after, memberBatch); err != nil {
			return checked, changed, s.classify(err)
		}
		if len(ids) == 0 {
			return checked, changed, nil
		}
		err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
			n, err := s.roles.recomputeCount(ctx, tx, ids)
			changed += n
			return err
		})
		if err != nil {
			return checked, changed, err
		}
		checked += len(ids)
		after = ids[len(ids)-1]
	}
}

func sameRoles(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func appKeys(users []*roleUser) []any {
	out := make([]any, 0, len(users))
	for _, u := range users {
		if u.key != nil {
			out = append(out, u.key)
		}
	}
	return out
}

// UserAccess returns what the SAML gate forwards for a user: the app's own key for the user's row, the
// displayNames of the user's groups, and the app roles those groups grant under the role mapping (none
// without one). Roles come from the IdP's groups only, never from a client-written "roles" attribute.
func (s *Store) UserAccess(ctx context.Context, id string) (appKey string, groups, roles []string, err error) {
	var key []any
	if err := s.db.SelectContext(ctx, &key, "SELECT "+s.joinKey+" FROM "+s.bookTable()+" WHERE id = ? AND deleted_at IS NULL", id); err != nil {
		return "", nil, nil, s.classify(err)
	}
	if len(key) == 0 {
		return "", nil, nil, scim.NotFound("User", id)
	}
	var rows []struct {
		Name       string  `db:"display_name"`
		ExternalID *string `db:"external_id"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT g.display_name, g.external_id FROM "+s.memberTable()+" gm JOIN "+
		s.groupTable()+" g ON g.id = gm.group_id WHERE gm.user_id = ? ORDER BY g.display_name", id); err != nil {
		return "", nil, nil, s.classify(err)
	}
	var all []mapping.Group
	for _, r := range rows {
		groups = append(groups, r.Name)
		g := mapping.Group{DisplayName: r.Name}
		if r.ExternalID != nil {
			g.ExternalID = *r.ExternalID
		}
		all = append(all, g)
	}
	if s.roles != nil {
		roles = s.roles.r.Granted(all)
	}
	return keyString(normalizeKey(key[0])), groups, roles, nil
}
