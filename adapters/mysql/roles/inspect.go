package roles

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/mapping"
)

// Held is what one store holds of one user's managed roles, compared with what a recompute would make it
// hold, and where each held role came from: for drift reports and access reviews. Nothing is written.
type Held struct {
	Store   string
	Have    []string            // the managed roles the app holds now
	Want    []string            // what a recompute would write (granted, default, hand-given kept)
	Hand    []string            // held, managed, but not granted by scimbridge: given in the app, kept
	Sources map[string][]string // per role held: "group:<displayName>" for each group granting it, "default", "hand", "scimbridge"
}

// Missing is what the app should hold but does not: a role scimbridge granted that was removed by hand.
func (h Held) Missing() []string { return minus(h.Want, h.Have) }

// Extra is what the app holds that a recompute would remove: with authoritative = true, roles given by hand.
func (h Held) Extra() []string { return minus(h.Have, h.Want) }

// Inspect reads, in tx, each store's roles of these SCIM users (at most 1,000) and compares them with
// their groups' grants, by SCIM id. Users whose app row is gone are left out.
func (s *Set) Inspect(ctx context.Context, tx *bookkeeping.Tx, ids []string) (map[string][]Held, error) {
	out := map[string][]Held{}
	if s == nil || len(ids) == 0 {
		return out, nil
	}
	groups, err := Groups(ctx, tx, tx.Tables, ids)
	if err != nil {
		return nil, err
	}
	for _, st := range s.stores {
		users, err := st.load(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		have, err := st.store.read(ctx, tx, appKeys(users))
		if err != nil {
			return nil, err
		}
		recorded, err := st.readGrants(ctx, tx, users)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			h := have[bookkeeping.KeyString(u.key)].roles
			hand := st.handGiven(u, h, recorded[u.id])
			held := Held{Store: st.Rules.Name(), Have: orEmpty(h), Want: orEmpty(st.store.want(u.granted, hand)), Hand: orEmpty(hand),
				Sources: map[string][]string{}}
			for _, role := range h {
				held.Sources[role] = st.sources(role, u.granted, hand, recorded[u.id], groups[u.id])
			}
			out[u.id] = append(out[u.id], held)
		}
	}
	return out, nil
}

// sources says where a role a user holds came from.
func (s *Sync) sources(role string, granted, hand, recorded []string, groups []mapping.Group) []string {
	var out []string
	if contains(granted, role) {
		for _, rule := range s.Rules.Rules {
			if rule.Role != role {
				continue
			}
			for _, g := range groups {
				if rule.Matches(g) && !contains(out, "group:"+g.DisplayName) {
					out = append(out, "group:"+g.DisplayName)
				}
			}
		}
	}
	if s.Rules.Default != nil && *s.Rules.Default == role && len(granted) == 0 {
		out = append(out, "default")
	}
	switch {
	case contains(hand, role):
		out = append(out, "hand")
	case len(out) == 0 && contains(recorded, role):
		out = append(out, "scimbridge") // granted once, no longer: the next recompute removes it
	case len(out) == 0:
		out = append(out, "hand")
	}
	return out
}

// HeldBy reads the managed roles the app holds for these app keys (rows SCIM does not manage, say), in
// every store, by KeyString.
func (s *Set) HeldBy(ctx context.Context, tx *bookkeeping.Tx, keys []any) (map[string][]Held, error) {
	out := map[string][]Held{}
	if s == nil || len(keys) == 0 {
		return out, nil
	}
	for _, st := range s.stores {
		have, err := st.store.read(ctx, tx, keys)
		if err != nil {
			return nil, err
		}
		for k, h := range have {
			if len(h.roles) == 0 {
				continue
			}
			held := Held{Store: st.Rules.Name(), Have: h.roles, Hand: h.roles, Sources: map[string][]string{}}
			for _, role := range h.roles {
				held.Sources[role] = []string{"hand"}
			}
			out[k] = append(out[k], held)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
