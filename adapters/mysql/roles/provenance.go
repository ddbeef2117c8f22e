package roles

import (
	"context"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// Provenance: scimbridge records, per user and store, the roles it granted (the role_grants table). A
// managed role the app holds that is not recorded was given by hand (in the app's admin screen, or
// before scimbridge adopted the user): a recompute keeps it, unless the mapping is authoritative.

// handGiven returns the roles of have that scimbridge did not grant: none when the mapping is
// authoritative. A user untracked since before role_grants existed counts the held roles its groups
// grant as scimbridge's, which is what the code of that time wrote.
func (s *Sync) handGiven(u *user, have []string, recorded []string) []string {
	if s.Rules.Authoritative {
		return nil
	}
	ours := recorded
	if u.untracked {
		ours = intersect(have, u.granted)
	}
	return minus(have, ours)
}

// readGrants returns the roles scimbridge recorded as granted to these users in this store, by SCIM id.
func (s *Sync) readGrants(ctx context.Context, tx *bookkeeping.Tx, users []*user) (map[string][]string, error) {
	out := map[string][]string{}
	if len(users) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.id)
	}
	var rows []struct {
		User string `db:"user_id"`
		Role string `db:"role"`
	}
	if err := tx.SelectContext(ctx, &rows, "SELECT user_id, role FROM "+tx.Tables.RoleGrants()+" WHERE store = ? AND user_id IN ("+
		bookkeeping.Placeholders(len(ids))+") ORDER BY user_id, role FOR UPDATE", append([]any{s.Rules.Name()}, ids...)...); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.User] = append(out[r.User], r.Role)
	}
	return out, nil
}

// writeGrants records what each user now holds by scimbridge's doing (u.ours), where it differs from
// the record read before.
func (s *Sync) writeGrants(ctx context.Context, tx *bookkeeping.Tx, users []*user, recorded map[string][]string) error {
	var ins, del [][2]string
	for _, u := range users {
		for _, role := range minus(u.ours, recorded[u.id]) {
			ins = append(ins, [2]string{u.id, role})
		}
		for _, role := range minus(recorded[u.id], u.ours) {
			del = append(del, [2]string{u.id, role})
		}
	}
	t, name := tx.Tables.RoleGrants(), s.Rules.Name()
	for start := 0; start < len(ins); start += batch {
		rows := ins[start:min(start+batch, len(ins))]
		args := make([]any, 0, 3*len(rows))
		for _, r := range rows {
			args = append(args, r[0], name, r[1])
		}
		if err := tx.Later(ctx, "INSERT INTO "+t+" (user_id, store, role) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(rows)), ", "), args...); err != nil {
			return err
		}
	}
	for start := 0; start < len(del); start += batch {
		rows := del[start:min(start+batch, len(del))]
		terms := make([]string, 0, len(rows))
		args := []any{name}
		for _, r := range rows {
			terms = append(terms, "(user_id = ? AND role = ?)")
			args = append(args, r[0], r[1])
		}
		if err := tx.Later(ctx, "DELETE FROM "+t+" WHERE store = ? AND ("+strings.Join(terms, " OR ")+")", args...); err != nil {
			return err
		}
	}
	return nil
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// union returns the roles of a or b in the order of order (the managed roles, highest priority first).
func union(order, a, b []string) []string {
	in := map[string]bool{}
	for _, x := range append(append([]string{}, a...), b...) {
		in[x] = true
	}
	var out []string
	for _, m := range order {
		if in[m] {
			out = append(out, m)
		}
	}
	return out
}

// markTracked records that these users' roles are tracked from now on (see handGiven).
func markTracked(ctx context.Context, tx *bookkeeping.Tx, users []*user) error {
	var ids []any
	for _, u := range users {
		if u.untracked {
			ids = append(ids, u.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	err := tx.Later(ctx, "UPDATE "+tx.Tables.Users()+" SET roles_untracked = 0 WHERE id IN ("+
		bookkeeping.Placeholders(len(ids))+")", ids...)
	return err
}
