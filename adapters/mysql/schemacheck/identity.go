package schemacheck

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
)

// identityColumn is an app column whose values say who a user is: userName, the adoption key, an email.
type identityColumn struct {
	table, column, holds string
}

// identityColumns lists the columns scimbridge compares identities on.
func identityColumns(m *mapping.Users) []identityColumn {
	var out []identityColumn
	seen := map[string]bool{}
	add := func(table, column, holds string) {
		k := strings.ToLower(table + "." + column)
		if column == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, identityColumn{table, column, holds})
	}
	if c := m.Column("userName"); c != nil {
		add(m.Table, c.Name, "userName")
	}
	add(m.Table, m.MatchExistingBy, "the adoption key (match_existing_by)")
	for _, c := range m.Columns {
		if src := c.Source(); strings.HasPrefix(src, "emails") && strings.HasSuffix(src, ".value") {
			add(m.Table, c.Name, src)
		}
	}
	for _, l := range m.Lists {
		if l.Attr.Attr.Name != "emails" {
			continue
		}
		for _, c := range l.Columns {
			if strings.HasSuffix(c.Source(), "value") {
				add(l.Table, c.Name, "emails.value")
			}
		}
	}
	return out
}

// sqlName is what a character set or collation name the server reports looks like; it goes into SQL text.
var sqlName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// collationProbes are pairs that are different identities, and what a collation calling them equal ignores.
var collationProbes = []struct{ a, b, ignores string }{
	{"é", "e", "accents (é = e)"},
	{"ａ", "a", "width (ａ = a)"},
	{"ß", "ss", "ß = ss"},
	{"İ", "i", "dotted İ = i"},
}

// checkIdentityCollations reports each identity column whose collation calls different identities equal,
// asking the server itself (collations differ between versions), and says what scimbridge does about it.
func checkIdentityCollations(ctx context.Context, db *sqlx.DB, m *mapping.Users, rep *Report) error {
	for _, ic := range identityColumns(m) {
		var info struct {
			Charset   string `db:"CHARACTER_SET_NAME"`
			Collation string `db:"COLLATION_NAME"`
		}
		err := db.GetContext(ctx, &info, `SELECT COALESCE(CHARACTER_SET_NAME, '') AS CHARACTER_SET_NAME,
			COALESCE(COLLATION_NAME, '') AS COLLATION_NAME FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`, ic.table, ic.column)
		if err != nil || !sqlName.MatchString(info.Collation) || !sqlName.MatchString(info.Charset) {
			continue // a missing or non-text column is reported elsewhere
		}
		var ignored []string
		for _, p := range collationProbes {
			var same bool
			q := fmt.Sprintf("SELECT CONVERT(? USING %s) COLLATE %s = CONVERT(? USING %s)", info.Charset, info.Collation, info.Charset)
			if err := db.GetContext(ctx, &same, q, p.a, p.b); err != nil {
				return fmt.Errorf("probing the collation %s of %s.%s: %w", info.Collation, ic.table, ic.column, err)
			}
			if same {
				ignored = append(ignored, p.ignores)
			}
		}
		if len(ignored) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s.%s (%s) has the collation %s, which ignores %s. scimbridge does not: it looks "+
			"identities up through the column's index and then keeps only values that differ in letter case alone, "+
			"so alicé@ never adopts, matches or signs in as alice@", ic.table, ic.column, ic.holds, info.Collation,
			strings.Join(ignored, ", "))
		unique, err := uniqueColumns(ctx, db, ic.table)
		if err != nil {
			return err
		}
		if unique[strings.ToLower(ic.column)] {
			msg += "; the column's unique index still makes the app refuse a look-alike of an existing value, which the IdP then gets as 409"
		}
		rep.warn("%s", msg)
	}
	return nil
}

// checkUnknownActive warns about app rows whose active column holds a value the mapping's map does not
// list: scimbridge reads those users as inactive. byName holds the users table's columns.
func checkUnknownActive(ctx context.Context, db *sqlx.DB, m *mapping.Users, byName map[string]columnInfo, rep *Report) error {
	c := m.Column("active")
	if c == nil || c.MappedValues() == nil {
		return nil
	}
	if _, exists := byName[strings.ToLower(c.Name)]; !exists {
		return nil // reported as missing
	}
	known := c.MappedValues()
	q := "SELECT " + quoteIdent(c.Name) + " AS v, COUNT(*) AS n FROM " + quoteIdent(m.Table) + " u WHERE (" +
		quoteIdent(c.Name) + " IS NULL OR " + quoteIdent(c.Name) + " NOT IN (" + placeholders(len(known)) + "))"
	args := append([]any{}, known...)
	scope, scopeArgs := scopeSQL(m)
	q += scope
	args = append(args, scopeArgs...)
	var rows []struct {
		V *string `db:"v"`
		N int     `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, q+" GROUP BY "+quoteIdent(c.Name)+" LIMIT 20", args...); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].N > rows[j].N })
	var parts []string
	for _, r := range rows {
		v := "NULL"
		if r.V != nil {
			v = *r.V
		}
		parts = append(parts, fmt.Sprintf("%s (%d rows)", v, r.N))
	}
	rep.warn("%s.%s holds values the active map does not list: %s. scimbridge reads those users as inactive "+
		"(active: false, refused by the gate); add the values to the map if they mean something else",
		m.Table, c.Name, strings.Join(parts, ", "))
	return nil
}
