package roles

import (
	"context"
	"fmt"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// Set is every role store of a configuration ([[roles]]), recomputed together: a user's
// user.roles_changed carries the managed roles of all stores, before and after.
type Set struct {
	stores []*Sync
}

// NewSet builds the Syncs of these role mappings (see New); nil for none.
func NewSet(rs []*mapping.Roles, usersTable, usersKey, joinKey string) *Set {
	if len(rs) == 0 {
		return nil
	}
	s := &Set{}
	for _, r := range rs {
		s.stores = append(s.stores, New(r, usersTable, usersKey, joinKey))
	}
	return s
}

// OnCreate reports whether a new or adopted user must be recomputed: a store gives a default role, or
// is authoritative (the roles an adopted row was given by hand go).
func (s *Set) OnCreate() bool {
	for _, st := range s.stores {
		if st.Rules.Default != nil || st.Rules.Authoritative {
			return true
		}
	}
	return false
}

// OnActivity reports whether a user's roles depend on whether it is active: a store clears them while
// it is not (while_inactive = "clear"). Otherwise a change of active alone changes no role.
func (s *Set) OnActivity() bool {
	for _, st := range s.stores {
		if st.Rules.ClearInactive {
			return true
		}
	}
	return false
}

// Recompute brings every store's roles of these SCIM users in line with their groups and direct
// assignments, inside tx, and returns the users whose roles changed in any store, and those of always
// (whose direct assignments changed: the provenance changed even where the app's roles did not). The
// users of known (just created) are taken as it says rather than read.
func (s *Set) Recompute(ctx context.Context, tx *bookkeeping.Tx, userIDs []string, always map[string]bool, known map[string]Known) ([]Change, error) {
	userIDs = dedupe(userIDs)
	var changes []Change
	for start := 0; start < len(userIDs); start += batch {
		ids := userIDs[start:min(start+batch, len(userIDs))]
		byUser := map[string]*Change{}
		var order []string
		changed := map[string]bool{}
		var users []*user
		for i, st := range s.stores {
			outs, us, err := st.recompute(ctx, tx, ids, known)
			if err != nil {
				return changes, err
			}
			if i == 0 {
				users = us
			}
			for _, o := range outs {
				c := byUser[o.UserID]
				if c == nil {
					c = &Change{UserID: o.UserID, AppKey: o.AppKey, Old: []string{}, New: []string{}, Direct: o.Direct}
					byUser[o.UserID] = c
					order = append(order, o.UserID)
				}
				c.Old = appendNew(c.Old, o.Old)
				c.New = appendNew(c.New, o.New)
				changed[o.UserID] = changed[o.UserID] || !same(o.Old, o.New)
			}
		}
		if err := markTracked(ctx, tx, users); err != nil {
			return changes, err
		}
		for _, id := range order {
			if changed[id] || always[id] {
				changes = append(changes, *byUser[id])
			}
		}
	}
	return changes, nil
}

// Granted returns the roles the user's groups grant in every store (see Sync.Granted).
func (s *Set) Granted(ctx context.Context, tx *bookkeeping.Tx, userID string) ([]string, error) {
	var out []string
	for _, st := range s.stores {
		g, err := st.Granted(ctx, tx, userID)
		if err != nil {
			return nil, err
		}
		out = appendNew(out, g)
	}
	return out, nil
}

// GrantedBy returns the roles a user in these groups with these direct assignments gets from every
// store, each once.
func (s *Set) GrantedBy(groups []mapping.Group, direct []string) []string {
	var out []string
	for _, st := range s.stores {
		out = appendNew(out, st.Rules.Combine(st.Rules.Granted(groups), direct))
	}
	return out
}

// Rules returns the role mapping of every store.
func (s *Set) Rules() []*mapping.Roles {
	out := make([]*mapping.Roles, 0, len(s.stores))
	for _, st := range s.stores {
		out = append(out, st.Rules)
	}
	return out
}

func appendNew(to, add []string) []string {
	for _, a := range add {
		found := false
		for _, t := range to {
			found = found || t == a
		}
		if !found {
			to = append(to, a)
		}
	}
	return to
}

// Grant is one role a user's groups give, and why: the store, the rule as the configuration writes it
// (group = "Admins", or group_external_id = "...") and the group it matched.
type Grant struct {
	Role, Store, Group, Rule string
}

// Explain returns, for users in these groups, every rule of every store that grants a role, in the
// stores' order: what the admin console shows as a role's origin.
func (s *Set) Explain(groups []mapping.Group) []Grant {
	if s == nil {
		return nil
	}
	var out []Grant
	for _, st := range s.stores {
		for _, rule := range st.Rules.Rules {
			for _, g := range groups {
				if rule.Matches(g) {
					r := fmt.Sprintf("group = %q", rule.Group)
					if rule.GroupExternalID != "" {
						r = fmt.Sprintf("group_external_id = %q", rule.GroupExternalID)
					}
					out = append(out, Grant{Role: rule.Role, Store: st.Rules.Name(), Group: g.DisplayName, Rule: r})
					break
				}
			}
		}
	}
	return out
}
