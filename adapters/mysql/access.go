package mysql

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// HeldRole is a managed app role an account holds, and where it came from.
type HeldRole struct {
	Role  string `json:"role"`
	Store string `json:"store"`
	// Sources: "group:<displayName>" for each SCIM group whose rule grants it, "default" (the store's
	// default), "hand" (given in the app, or before adoption, and kept), "scimbridge" (granted, no longer
	// by any group: the next recompute removes it).
	Sources []string `json:"sources"`
}

// AccessEntry is one account of an access review.
type AccessEntry struct {
	AppKey   any        `json:"app_key"`
	SCIMID   string     `json:"scim_id,omitempty"` // empty for an account SCIM does not manage
	UserName string     `json:"userName"`
	Active   bool       `json:"active"`
	Managed  bool       `json:"managed"`
	Groups   []string   `json:"groups"` // SCIM groups' displayNames
	Roles    []HeldRole `json:"roles"`
}

// Access lists every account for an access review: each SCIM user (app key, userName, active, SCIM
// groups, the managed app roles it holds and the rule or hand that gave each), then the app's accounts
// SCIM does not manage, with their managed roles. Only roles the [roles] rules name are read.
func (s *Store) Access(ctx context.Context) ([]AccessEntry, error) {
	out := []AccessEntry{}
	after := ""
	for {
		var page []AccessEntry
		err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
			var err error
			page, err = s.accessBatch(ctx, tx, after)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < driftBatch {
			break
		}
		after = page[len(page)-1].SCIMID
	}
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		accounts, err := s.unmanaged(ctx, tx)
		for _, a := range accounts {
			roles := a.Roles
			if roles == nil {
				roles = []HeldRole{}
			}
			out = append(out, AccessEntry{AppKey: a.AppKey, UserName: a.UserName, Active: a.Active, Groups: []string{}, Roles: roles})
		}
		return err
	})
	return out, err
}

// accessBatch is the access entries of the live SCIM users after id `after`, at most driftBatch.
func (s *Store) accessBatch(ctx context.Context, tx *bookkeeping.Tx, after string) ([]AccessEntry, error) {
	rows, err := s.queryUsers(ctx, tx, "WHERE b.id > ? AND b.deleted_at IS NULL ORDER BY b.id LIMIT ?", after, driftBatch)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	users, err := s.readUsers(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	if err := s.attachGroups(ctx, tx, users...); err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, b := range rows {
		ids[i] = b.id
	}
	held, err := s.roles.Inspect(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]AccessEntry, len(rows))
	for i, b := range rows {
		e := AccessEntry{AppKey: b.key(), SCIMID: b.id, UserName: userName(users[i]), Active: isActive(users[i]), Managed: true,
			Groups: groupNames(users[i]), Roles: []HeldRole{}}
		for _, h := range held[b.id] {
			for _, role := range h.Have {
				e.Roles = append(e.Roles, HeldRole{Role: role, Store: h.Store, Sources: h.Sources[role]})
			}
		}
		out[i] = e
	}
	return out, nil
}

func groupNames(u scim.Resource) []string {
	out := []string{}
	list, _ := u["groups"].([]any)
	for _, g := range list {
		if m, ok := g.(map[string]any); ok {
			if name, ok := m["display"].(string); ok {
				out = append(out, name)
			}
		}
	}
	return out
}
