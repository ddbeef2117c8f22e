package schemacheck

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
)

// scopeSQL is the condition " AND (...)" selecting the users table's rows in users.scope, for alias u.
func scopeSQL(m *mapping.Users) (string, []any) {
	var b strings.Builder
	var args []any
	for _, col := range slices.Sorted(maps.Keys(m.Scope)) {
		c := "u." + quoteIdent(col)
		vals, null := mapping.ScopeValues(m.Scope[col])
		var alts []string
		if len(vals) > 0 {
			alts = append(alts, c+" IN ("+placeholders(len(vals))+")")
		}
		if null {
			alts = append(alts, c+" IS NULL")
		}
		b.WriteString(" AND (" + strings.Join(alts, " OR ") + ")")
		args = append(args, vals...)
	}
	return b.String(), args
}

// checkOutsideScope counts the rows of a shared table (users and organisations) that users.scope leaves
// out: scimbridge never reads, adopts or changes them, so a POST whose login one of them holds meets the
// app's unique index (409) rather than adopting it, and a row the app wrote with a scope value the
// configuration does not list (NULL) is never adopted.
func checkOutsideScope(ctx context.Context, db *sqlx.DB, m *mapping.Users, rep *Report) error {
	if len(m.Scope) == 0 {
		return nil
	}
	scope, args := scopeSQL(m)
	var n int
	if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+quoteIdent(m.Table)+" u WHERE NOT COALESCE((TRUE"+scope+"), FALSE)", args...); err != nil {
		return err
	}
	if n > 0 {
		var desc []string
		for _, col := range slices.Sorted(maps.Keys(m.Scope)) {
			desc = append(desc, fmt.Sprintf("%s = %v", col, m.Scope[col]))
		}
		rep.warn("%d rows of %s are outside users.scope (%s): scimbridge never reads, adopts or changes them; a user whose "+
			"login one of them holds is refused by the app's unique index (409), and rows the app wrote with another scope value "+
			"(NULL?) are not adopted: list every value users have, as in scope = { type = [0, \"null\"] }", n, m.Table, strings.Join(desc, ", "))
	}
	return nil
}
