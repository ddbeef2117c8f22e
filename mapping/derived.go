package mapping

import (
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// Derived lists the attributes of r that the IdP did not give but a column's default template renders
// (displayName from the names). The bookkeeping remembers them, so that a later write renders them
// again from the new names, while a value the IdP set (even one equal to the rendering) stays its word.
func (m *Users) Derived(r scim.Resource) []string {
	seen := map[string]bool{}
	var out []string
	for _, cols := range m.allColumns() {
		for _, c := range cols {
			if c.template == nil || c.src == nil || c.src.get(r) != nil || renderTemplate(c.template, r) == nil {
				continue
			}
			if p := c.src.path; !seen[strings.ToLower(p)] {
				seen[strings.ToLower(p)] = true
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// WithoutDerived removes from r the attributes Derived listed when it was written: what an update
// starts from, so that a template applies again when the IdP leaves the attribute out.
func (m *Users) WithoutDerived(r scim.Resource, derived []string) scim.Resource {
	for _, p := range derived {
		for _, cols := range m.allColumns() {
			for _, c := range cols {
				if c.template != nil && c.src != nil && strings.EqualFold(c.src.path, p) {
					c.src.remove(r)
				}
			}
		}
	}
	return r
}
