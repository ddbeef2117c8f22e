package config

import (
	"errors"
	"slices"

	"github.com/scimbridge/scimbridge/mapping"
)

// Server modes ([server] mode).
const (
	ModeLive   = "live"   // SCIM writes the app's tables (the default)
	ModeShadow = "shadow" // SCIM writes copies of them; `scimbridge golive` applies the result
)

// ShadowPrefix is the bookkeeping prefix of shadow mode's SCIM state, under the configured prefix p:
// shadow users, groups, audit and outbox live beside the live ones without mixing with them.
func ShadowPrefix(p string) string { return p + "sh_" }

// ShadowTable is the name of shadow mode's copy of the app's table t, under the bookkeeping prefix p.
func ShadowTable(p, t string) string { return p + "shapp_" + t }

// Shadow returns the configuration shadow mode runs: the same mapping with every app table it names
// replaced by its copy (ShadowTable) and the bookkeeping under ShadowPrefix, so that the live code,
// unchanged, writes only the copies. Webhooks and the gate are left out: the app must not hear of, or
// let anyone in on, changes that were not made to its tables. tables lists the app tables, each once.
func (c *Config) Shadow() (shadow *Config, tables []string, err error) {
	p := c.Database.BookkeepingPrefix
	seen := map[string]bool{}
	rename := func(t *string) {
		if *t == "" {
			return
		}
		if !seen[*t] {
			seen[*t] = true
			tables = append(tables, *t)
		}
		*t = ShadowTable(p, *t)
	}
	s := *c
	s.Database.BookkeepingPrefix = ShadowPrefix(p)
	s.Webhooks, s.Gate = nil, nil
	u := &s.Users
	rename(&u.Table)
	u.Tables = slices.Clone(u.Tables)
	for i := range u.Tables {
		rename(&u.Tables[i].Table)
	}
	u.Lists = slices.Clone(u.Lists)
	for i := range u.Lists {
		rename(&u.Lists[i].Table)
	}
	u.KeyValue = slices.Clone(u.KeyValue)
	for i := range u.KeyValue {
		rename(&u.KeyValue[i].Table)
	}
	s.Roles = slices.Clone(c.Roles)
	for i := range s.Roles {
		r := &s.Roles[i]
		rename(&r.Table)
		if r.KeyValue != nil {
			kv := *r.KeyValue
			rename(&kv.Table)
			r.KeyValue = &kv
		}
		if r.Lookup != nil {
			l := *r.Lookup
			rename(&l.Table)
			r.Lookup = &l
		}
	}
	if c.Groups != nil && c.Groups.Mirror != nil {
		m := *c.Groups.Mirror
		rename(&m.Table)
		rename(&m.MembersTable)
		s.Groups = &mapping.GroupsConfig{Mirror: &m}
	}
	var errs [3]error
	s.users, errs[0] = mapping.Compile(s.Users)
	s.roles, errs[1] = mapping.CompileRoleStores(s.Roles)
	s.groups, errs[2] = mapping.CompileGroups(s.Groups)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, nil, err
	}
	return &s, tables, nil
}
