package mysql

import (
	"context"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
)

// Direct role assignments: with a role mapping, a user's "roles" are the app's roles. What a client
// writes there (Okta's entitlement assignments, Entra's app roles) is kept in role_direct, never in the
// user's document, validated against the roles the rules name, and combined with the roles the user's
// groups grant as [roles] direct says. GET shows both, each with its provenance in "type". Without a
// role mapping "roles" is an attribute like any other, kept in the document.

// takeDirect removes "roles" from r and returns the roles it assigns, by the rules' names, sorted
// (as readDirect returns them). A value no rule names is refused, naming it.
func (s *Store) takeDirect(r scim.Resource) ([]string, error) {
	v, ok := r["roles"]
	if !ok {
		return nil, nil
	}
	delete(r, "roles")
	values, err := scim.DirectRoles(v)
	if err != nil {
		return nil, err
	}
	rules := s.roles.Rules()
	var out []string
	for _, v := range values {
		name, assignable, ok := mapping.DirectRole(rules, v)
		switch {
		case !ok:
			return nil, scim.BadRequest(scim.TypeInvalidValue, "roles: %q is not one of the app's roles (%s); nothing was changed",
				v, strings.Join(mapping.PublishedRoles(rules), ", "))
		case !assignable:
			return nil, scim.BadRequest(scim.TypeMutability,
				`roles: %q is granted through groups only ([roles] direct = "groups_only"); nothing was changed`, v)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readDirect returns the roles assigned directly to a user, sorted, locking them when lock is set.
func (s *Store) readDirect(ctx context.Context, tx *bookkeeping.Tx, id string) ([]string, error) {
	var roles []string
	err := tx.SelectContext(ctx, &roles, "SELECT role FROM "+s.t.RoleDirect()+" WHERE user_id = ? ORDER BY role FOR UPDATE", id)
	return roles, err
}

// writeDirect makes role_direct hold want for the user, which held have; it reports whether it changed.
func (s *Store) writeDirect(ctx context.Context, tx *bookkeeping.Tx, id string, have, want []string) (bool, error) {
	add, drop := bookkeeping.Without(want, have), bookkeeping.Without(have, want)
	if len(add) > 0 {
		args := make([]any, 0, 2*len(add))
		for _, r := range add {
			args = append(args, id, r)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.t.RoleDirect()+" (user_id, role) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(add)), ", "), args...); err != nil {
			return false, err
		}
		// Reads ask role_direct only for users with it set (attachRolesOf, UpdateUser).
		if err := tx.Later(ctx, "UPDATE "+s.bookTable()+" SET has_direct = 1 WHERE id = ? AND has_direct = 0", id); err != nil {
			return false, err
		}
	}
	if len(drop) > 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.t.RoleDirect()+" WHERE user_id = ? AND role IN ("+placeholders(len(drop))+")",
			append([]any{id}, anySlice(drop)...)...); err != nil {
			return false, err
		}
	}
	return len(add)+len(drop) > 0, nil
}

// dropDirect removes a user's direct assignments (its DELETE): as it leaves its groups, it leaves its
// roles, and a later POST of the same userName starts from what that POST says.
func (s *Store) dropDirect(ctx context.Context, tx *bookkeeping.Tx, id string) error {
	if s.roles == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM "+s.t.RoleDirect()+" WHERE user_id = ?", id)
	return err
}

func orNone(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}

// directEntries is how direct roles appear in a user's "roles".
func directEntries(roles []string) []any {
	out := make([]any, 0, len(roles))
	for _, r := range roles {
		out = append(out, map[string]any{"value": r, "display": r, "type": scim.RoleDirect})
	}
	return out
}

// attachRoles sets the "roles" of users (with a role mapping): the roles assigned to each directly,
// typed "direct", then the roles its groups grant, typed "group" (none from a store with direct =
// "direct_only", where groups grant nothing). A role with both sources is listed twice, once for each.
func (s *Store) attachRoles(ctx context.Context, q sqlx.QueryerContext, users ...scim.Resource) error {
	return s.attachRolesOf(ctx, q, users, nil)
}

// attachRolesOf is attachRoles for users read with rows (rows[i] is users[i]'s; nil: not known), whose
// flags say which may be in a group (in_groups) or have direct roles (has_direct): the memberships and
// direct roles of the others are not read.
func (s *Store) attachRolesOf(ctx context.Context, q sqlx.QueryerContext, users []scim.Resource, rows []*bookRow) error {
	if s.roles == nil || len(users) == 0 {
		return nil
	}
	ids := make([]string, 0, len(users))
	var members, assigned []string
	for i, u := range users {
		id, _ := u["id"].(string)
		ids = append(ids, id)
		if rows == nil || rows[i].inGroups {
			members = append(members, id)
		}
		if rows == nil || rows[i].hasDirect {
			assigned = append(assigned, id)
		}
	}
	rq := readQueryer{q}
	direct := map[string][]string{}
	if len(assigned) > 0 {
		var err error
		if direct, err = approles.Direct(ctx, rq, s.t, assigned); err != nil {
			return err
		}
	}
	groups := map[string][]mapping.Group{}
	if len(members) > 0 {
		var err error
		if groups, err = approles.Groups(ctx, rq, s.t, members); err != nil {
			return err
		}
	}
	for i, u := range users {
		list := directEntries(direct[ids[i]])
		var fromGroups []string
		for _, r := range s.roles.Rules() {
			if r.Direct == mapping.DirectOnly {
				continue
			}
			for _, role := range r.Granted(groups[ids[i]]) {
				if !slices.Contains(fromGroups, role) {
					fromGroups = append(fromGroups, role)
				}
			}
		}
		for _, role := range fromGroups {
			list = append(list, map[string]any{"value": role, "display": role, "type": scim.RoleGroup})
		}
		delete(u, "roles")
		if len(list) > 0 {
			u["roles"] = list
		}
	}
	return nil
}

// readQueryer reads with sqlx's helpers through any sqlx.QueryerContext (a *sqlx.DB or a transaction).
type readQueryer struct{ q sqlx.QueryerContext }

func (r readQueryer) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, r.q, dest, query, args...)
}

func (r readQueryer) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, r.q, dest, query, args...)
}
