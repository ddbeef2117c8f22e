package mysql

import (
	"context"
	"errors"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/scim"
)

// EventUserRolesChanged is emitted when a user's app roles change.
const EventUserRolesChanged = "user.roles_changed"

// RoleChange is the payload of user.roles_changed: the managed app roles a user had and has, and which
// of the roles are assigned to the user directly (SCIM "roles"): the others come from its groups.
type RoleChange struct {
	Old    []string `json:"old"`
	New    []string `json:"new"`
	Direct []string `json:"direct"`
}

// recomputeRoles brings the app roles of these SCIM users in line with their groups and direct
// assignments, inside tx, and returns the user.roles_changed events of those whose roles changed, or
// whose direct assignments did (always). The users of marked (all of them but one just created) get
// their role mark first; those of known (just created) are not read (approles.Known).
func (s *Store) recomputeRoles(ctx context.Context, tx *bookkeeping.Tx, userIDs, marked []string, always map[string]bool, known map[string]approles.Known) ([]subjectEvent, error) {
	if s.roles == nil || len(userIDs) == 0 {
		return nil, nil
	}
	if err := bookkeeping.MarkRoles(ctx, tx, tx.Tables, marked); err != nil {
		return nil, err
	}
	if s.readBack {
		known = nil // tests compare the recompute that reads everything
	}
	changes, err := s.roles.Recompute(ctx, tx, userIDs, always, known)
	evs := make([]subjectEvent, 0, len(changes))
	for _, c := range changes {
		evs = append(evs, subjectEvent{userSubject(c.UserID), Event{Type: EventUserRolesChanged, AppKey: c.AppKey,
			Roles: &RoleChange{Old: c.Old, New: c.New, Direct: c.Direct}, Resource: scim.Resource{"id": c.UserID}}})
	}
	return evs, err
}

// UserRoles returns the app roles a user's groups grant under the role mapping (nil without one).
func (s *Store) UserRoles(ctx context.Context, id string) ([]string, error) {
	if s.roles == nil {
		return nil, nil
	}
	var roles []string
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		var err error
		roles, err = s.roles.Granted(ctx, tx, id)
		return err
	})
	return roles, err
}

// ReconcileRoles recomputes every user's roles, in batches of one transaction each: run at start so that
// rules changed in the configuration reach every user. It returns how many users it checked and changed.
func (s *Store) ReconcileRoles(ctx context.Context) (checked, changed int, err error) {
	return s.ReconcileRolesProgress(ctx, nil)
}

// ReconcileRolesProgress is ReconcileRoles telling progress, if not nil, after each batch how many users
// it has checked of how many there are.
func (s *Store) ReconcileRolesProgress(ctx context.Context, progress func(checked, total int)) (checked, changed int, err error) {
	if s.roles == nil {
		return 0, 0, nil
	}
	total := 0
	if progress != nil {
		if err := s.db.GetContext(ctx, &total, "SELECT COUNT(*) FROM "+s.bookTable()+" WHERE deleted_at IS NULL"); err != nil {
			return 0, 0, s.classify(err)
		}
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
		var n int
		err := s.inTx(ctx, func(tx *bookkeeping.Tx) error { // may run again: n is set by the run that commits
			evs, err := s.recomputeRoles(ctx, tx, ids, ids, nil, nil)
			if err != nil {
				return err
			}
			n = len(evs)
			return s.record(ctx, tx, &change{}, evs) // audited as every role change is
		})
		if err != nil {
			return checked, changed, err
		}
		changed += n
		checked += len(ids)
		after = ids[len(ids)-1]
		if progress != nil {
			progress(checked, max(total, checked))
		}
	}
}

// UserAccess returns what the SAML gate forwards for a user: the app's own key for the user's row, the
// displayNames of the user's groups, and the app roles the user gets under the role mapping (none
// without one): from its groups and from the roles assigned to it directly, as [roles] direct combines
// them. Direct roles are validated against the rules when written, so the gate forwards no other.
func (s *Store) UserAccess(ctx context.Context, id string) (appKey string, groups, roles []string, err error) {
	var key []any
	if err := s.db.SelectContext(ctx, &key, "SELECT "+s.joinKey+" FROM "+s.bookTable()+" WHERE id = ? AND deleted_at IS NULL", id); err != nil {
		return "", nil, nil, s.classify(err)
	}
	if len(key) == 0 {
		return "", nil, nil, scim.NotFound("User", id)
	}
	byUser, err := approles.Groups(ctx, s.db, s.t, []string{id})
	if err != nil {
		return "", nil, nil, s.classify(err)
	}
	for _, g := range byUser[id] {
		groups = append(groups, g.DisplayName)
	}
	if s.roles != nil {
		direct, err := approles.Direct(ctx, s.db, s.t, []string{id})
		if err != nil {
			return "", nil, nil, s.classify(err)
		}
		roles = s.roles.GrantedBy(byUser[id], direct[id])
	}
	return keyString(normalizeKey(key[0])), groups, roles, nil
}

// errDriftCounted rolls back the transaction in which RolesDrift recomputed a batch.
var errDriftCounted = errors.New("roles drift counted")

// RolesDrift counts the live users whose app roles are not what their groups grant under the rules,
// that is, what a reconcile would change, and changes nothing: each batch is recomputed in a
// transaction that is rolled back. The invariant checks (internal/invariants) run it.
func (s *Store) RolesDrift(ctx context.Context) (int, error) {
	if s.roles == nil {
		return 0, nil
	}
	drift, after := 0, ""
	for {
		var ids []string
		if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM "+s.bookTable()+" WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?",
			after, memberBatch); err != nil {
			return drift, err
		}
		if len(ids) == 0 {
			return drift, nil
		}
		var n int
		err := s.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
			evs, err := s.recomputeRoles(ctx, tx, ids, ids, nil, nil)
			if err != nil {
				return err
			}
			n = len(evs)
			return errDriftCounted
		})
		if !errors.Is(err, errDriftCounted) {
			return drift, err
		}
		drift += n
		after = ids[len(ids)-1]
	}
}
