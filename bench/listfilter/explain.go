package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/scim"
)

// planRow is one row of EXPLAIN, the columns this tool prints.
type planRow struct{ id, selectType, table, typ, key, rows, extra string }

// explain runs EXPLAIN on a query and keeps id, select_type, table, type, key, rows and Extra.
func (b *bench) explain(ctx context.Context, query string, args ...any) ([]planRow, error) {
	cols, rows, err := benchsql.Strings(ctx, b.DB, "EXPLAIN "+query, args...)
	if err != nil {
		return nil, err
	}
	plan := make([]planRow, len(rows))
	for i, r := range rows {
		get := func(col string) string {
			if k := slices.Index(cols, col); k >= 0 {
				return r[k]
			}
			return "NULL"
		}
		plan[i] = planRow{get("id"), get("select_type"), get("table"), get("type"), get("key"), get("rows"), get("Extra")}
	}
	return plan, nil
}

func (b *bench) printPlan(query string, args []any, plan []planRow) {
	b.printf("\nEXPLAIN %s\n  -- args %q\n", query, args)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tselect_type\ttable\ttype\tkey\trows\tExtra")
	for _, r := range plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.id, r.selectType, r.table, r.typ, r.key, r.rows, r.extra)
	}
	_ = tw.Flush()
}

// sideAlias finds the alias the filter gave a table: "`user_emails` l1" gives l1.
func sideAlias(query, table string) string {
	m := regexp.MustCompile("`" + regexp.QuoteMeta(table) + "` ([a-z][a-z0-9]*)").FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	return m[1]
}

// filterSQL is the two statements ListUsers runs for a filter, as Store.ListUsersSQL builds them.
func (b *bench) filterSQL(filter string) (countQ, pageQ string, args []any, err error) {
	f, err := scim.ParseFilter(filter)
	if err != nil {
		return "", "", nil, err
	}
	return b.store.ListUsersSQL(f, 100)
}

func (b *bench) phaseExplain(ctx context.Context) error {
	home := b.homes[rand.IntN(len(b.homes))]
	filter := `emails.value eq "` + home.addr + `"`
	b.printf("filter %s   (a home, non-primary, address of %s)\n", filter, home.login)
	countQ, pageQ, args, err := b.filterSQL(filter)
	if err != nil {
		return err
	}
	alias := sideAlias(pageQ, "user_emails")
	var problems, scans []string
	for _, q := range []struct{ name, sql string }{{"COUNT", countQ}, {"page", pageQ}} {
		plan, err := b.explain(ctx, q.sql, args...)
		if err != nil {
			return err
		}
		b.printPlan(q.sql, args, plan)
		seen := false
		for _, r := range plan {
			if r.table == alias && alias != "" {
				seen = true
				if (r.typ != "ref" && r.typ != "eq_ref" && r.typ != "const") || r.key != "address" {
					problems = append(problems, fmt.Sprintf("%s query: user_emails (%s) read by %s on key %s, %s rows", q.name, alias, r.typ, r.key, r.rows))
				}
			}
			// <subqueryN> is the materialized semi-join result, a temporary table of the matching keys.
			if (r.typ == "ALL" || r.typ == "index") && !strings.HasPrefix(r.table, "<") {
				scans = append(scans, fmt.Sprintf("%s query: %s read by %s (key %s), %s rows", q.name, r.table, r.typ, r.key, r.rows))
			}
		}
		if !seen {
			problems = append(problems, fmt.Sprintf("%s query: no plan row reads user_emails (alias %q)", q.name, alias))
		}
	}
	b.printf("\n")
	if len(problems) == 0 {
		b.printf("PASS: user_emails is read by ref on its address key in both queries\n")
	} else {
		b.planFail = true
		b.printf("FAIL: user_emails is not read by ref on its address key:\n  %s\n", strings.Join(problems, "\n  "))
	}
	if len(scans) == 0 {
		b.printf("PASS: no app or bookkeeping table is read by a full table or index scan in either query\n")
	} else {
		b.planFail = true
		b.printf("FAIL: full scans in the plans:\n  %s\n", strings.Join(scans, "\n  "))
	}
	var total sql.NullInt64
	if err := b.DB.GetContext(ctx, &total, countQ, args...); err != nil {
		return err
	}
	b.printf("the COUNT query answers %d for it\n", total.Int64)

	// For comparison, userName eq: users.login, a unique index.
	countQ, pageQ, args, err = b.filterSQL(`userName eq "` + home.login + `"`)
	if err != nil {
		return err
	}
	for _, q := range []string{countQ, pageQ} {
		plan, err := b.explain(ctx, q, args...)
		if err != nil {
			return err
		}
		b.printPlan(q, args, plan)
	}
	return nil
}
