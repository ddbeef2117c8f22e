package mapping

import "strings"

// DirectMode is how the roles assigned on a user (SCIM "roles": Okta's entitlements, Entra's app roles)
// combine with the roles its groups grant ([roles] direct).
type DirectMode string

const (
	DirectUnion DirectMode = "union"       // the app gets both (default)
	DirectOnly  DirectMode = "direct_only" // only direct assignments: the rules just name the roles
	GroupsOnly  DirectMode = "groups_only" // only groups: a direct assignment is refused
)

// Combine returns the roles of this store a user gets, in the rules' order (highest priority first),
// from the roles its groups grant and the roles assigned to it directly. Direct roles this store does
// not manage are not its to write.
func (r *Roles) Combine(fromGroups, direct []string) []string {
	switch r.Direct {
	case DirectOnly:
		fromGroups = nil
	case GroupsOnly:
		direct = nil
	}
	in := map[string]bool{}
	for _, x := range fromGroups {
		in[x] = true
	}
	for _, x := range direct {
		in[x] = true
	}
	var out []string
	for _, m := range r.Managed() {
		if in[m] {
			out = append(out, m)
		}
	}
	return out
}

// PublishedRoles lists the roles of these stores that clients can see and assign (GET /Roles): every
// role a rule names, each once, in the stores' and the rules' order.
func PublishedRoles(stores []*Roles) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range stores {
		for _, m := range r.Managed() {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// DirectRole finds the published role a client's value names, exactly or else in another letter case
// (Entra's app role values are typed by hand in the Entra portal): the role's name and whether some
// store accepts direct assignments of it (not groups_only). ok is false for a value no rule names.
func DirectRole(stores []*Roles, value string) (name string, assignable, ok bool) {
	var folded string
	for _, exact := range []bool{true, false} {
		for _, r := range stores {
			for _, m := range r.Managed() {
				if m == value || (!exact && strings.EqualFold(m, value)) {
					if folded == "" {
						folded = m
					}
					if folded == m && r.Direct != GroupsOnly {
						return m, true, true
					}
				}
			}
		}
		if folded != "" {
			return folded, false, true
		}
	}
	return "", false, false
}
