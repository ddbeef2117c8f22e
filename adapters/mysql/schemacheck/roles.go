package schemacheck

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/mapping"
)

// CheckRoles verifies the role mapping against the database: the role column, flag columns or join and
// lookup tables exist, every role a rule names exists in the roles table, and (a warning) which rules
// match no group scimbridge has yet.
func CheckRoles(ctx context.Context, db *sqlx.DB, r *mapping.Roles, users *mapping.Users, prefix string) (Report, error) {
	var rep Report
	if r == nil {
		return rep, nil
	}
	has := func(table, column string) (bool, error) {
		var n int
		err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`, table, column)
		return n > 0, err
	}
	need := func(key, table, column string) error {
		ok, err := has(table, column)
		if err == nil && !ok {
			rep.problem("%s: column %s.%s does not exist", key, table, column)
		}
		return err
	}
	var err error
	switch r.Store {
	case "column", "list":
		if kv := r.KeyValue; kv != nil {
			for _, c := range [][2]string{{"foreign_key", kv.ForeignKey}, {"key_column", kv.KeyColumn}, {"value_column", kv.ValueColumn}} {
				if err == nil {
					err = need("roles.keyvalue."+c[0], kv.Table, c[1])
				}
			}
			break
		}
		err = need("roles.column", users.Table, r.Column)
	case "flags":
		for _, c := range slices.Sorted(maps.Keys(r.FlagColumns())) {
			if err = need("roles.rules column", users.Table, c); err != nil {
				break
			}
		}
	case "join":
		for _, c := range [][3]string{{"roles.user", r.Table, r.User}, {"roles.role", r.Table, r.Role},
			{"roles.lookup.key", r.Lookup.Table, r.Lookup.Key}, {"roles.lookup.name", r.Lookup.Table, r.Lookup.Name}} {
			if err = need(c[0], c[1], c[2]); err != nil {
				break
			}
		}
		for _, c := range slices.Sorted(maps.Keys(r.Lookup.Scope)) {
			if err == nil {
				err = need("roles.lookup.scope."+c, r.Lookup.Table, c)
			}
		}
		if err == nil && len(rep.Problems) == 0 {
			err = checkLookup(ctx, db, r, &rep)
		}
	}
	if err != nil {
		return rep, err
	}
	var groups []struct {
		Name       string  `db:"display_name"`
		ExternalID *string `db:"external_id"`
	}
	if err := db.SelectContext(ctx, &groups, "SELECT display_name, external_id FROM "+quoteIdent(prefix+"groups")); err != nil {
		return rep, nil // not migrated yet: Check already says so
	}
	for _, rule := range r.Rules {
		matched := false
		for _, g := range groups {
			ext := ""
			if g.ExternalID != nil {
				ext = *g.ExternalID
			}
			if rule.Matches(mapping.Group{DisplayName: g.Name, ExternalID: ext}) {
				matched = true
				break
			}
		}
		if !matched {
			what := "group " + fmt.Sprintf("%q", rule.Group)
			if rule.GroupExternalID != "" {
				what = "group with externalId " + fmt.Sprintf("%q", rule.GroupExternalID)
			}
			rep.warn("roles: the rule for role %q matches no group yet (%s has not been pushed by the IdP)", rule.Role, what)
		}
	}
	return rep, nil
}

// checkLookup fails the roles a rule names that the lookup table lacks, and those it holds more than once
// (within the scope): the recompute would not know which key to write, and refuses.
func checkLookup(ctx context.Context, db *sqlx.DB, r *mapping.Roles, rep *Report) error {
	managed := r.Managed()
	q, args := approles.LookupSQL(bookkeeping.MySQL, r.Lookup, managed)
	var rows []struct {
		Key  any    `db:"k"`
		Name string `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, q, args...); err != nil {
		return err
	}
	count := map[string]int{}
	for _, row := range rows {
		count[row.Name]++
	}
	where := ""
	if len(r.Lookup.Scope) > 0 {
		where = " within roles.lookup.scope"
	}
	for _, m := range managed {
		switch n := count[m]; {
		case n == 0:
			rep.problem("roles: role %q is not in %s.%s%s; add it to the app or fix the rule", m, r.Lookup.Table, r.Lookup.Name, where)
		case n > 1:
			rep.problem("roles: role %q is in %s.%s %d times%s: the lookup is ambiguous; give roles.lookup a scope (scope = { type = \"...\" })",
				m, r.Lookup.Table, r.Lookup.Name, n, where)
		}
	}
	return nil
}
