// Package schemacheck is `scimbridge check`: it compares the mapping with the app's tables as the
// database describes them (information_schema) and reports, all at once, what would stop scimbridge or
// surprise its users.
package schemacheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
)

// Report is what `scimbridge check` found: Problems stop scimbridge from working, Warnings may not;
// Notes are information (the topology).
type Report struct {
	Problems []string
	Warnings []string
	Notes    []string
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *Report) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

type columnInfo struct {
	Name      string  `db:"COLUMN_NAME"`
	DataType  string  `db:"DATA_TYPE"`
	Nullable  string  `db:"IS_NULLABLE"`
	Default   *string `db:"COLUMN_DEFAULT"`
	Extra     string  `db:"EXTRA"`
	MaxLen    *int64  `db:"CHARACTER_MAXIMUM_LENGTH"`
	Collation string  `db:"COLLATION_NAME"`
}

// Check verifies the app's users table against the mapping: the table and every mapped column exist
// with a compatible type, NOT NULL columns without a default are written by the mapping, and the keys the
// mapping relies on are unique. It reports everything it finds at once.
func Check(ctx context.Context, db *sqlx.DB, m *mapping.Users, prefix string) (Report, error) {
	var rep Report
	var cols []columnInfo
	err := db.SelectContext(ctx, &cols, `SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
		CHARACTER_MAXIMUM_LENGTH, COALESCE(COLLATION_NAME, '') AS COLLATION_NAME
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, m.Table)
	if err != nil {
		return rep, err
	}
	if len(cols) == 0 {
		rep.problem("table %q does not exist in this database", m.Table)
		return rep, checkSide(ctx, db, m, &rep)
	}
	byName := map[string]columnInfo{}
	for _, c := range cols {
		byName[strings.ToLower(c.Name)] = c
	}
	written := map[string]bool{strings.ToLower(m.Key): true}
	for _, d := range m.JSON {
		written[strings.ToLower(d.Column)] = true // InsertColumns writes every JSON document
	}
	for col := range m.Scope {
		written[strings.ToLower(col)] = true
		if _, ok := byName[strings.ToLower(col)]; !ok {
			rep.problem("users.scope: column %s.%s does not exist", m.Table, col)
		}
	}

	key, ok := byName[strings.ToLower(m.Key)]
	switch {
	case !ok:
		rep.problem("users.key: column %s.%s does not exist", m.Table, m.Key)
	case m.KeyGen.Kind == mapping.KeyAutoIncrement && !strings.Contains(strings.ToLower(key.Extra), "auto_increment"):
		rep.problem("users.key_generation = \"auto_increment\" but %s.%s is not AUTO_INCREMENT; use \"uuid\" or a random string", m.Table, m.Key)
	case m.KeyGen.Kind != mapping.KeyAutoIncrement && !isText(key.DataType):
		rep.problem("users.key_generation = %q makes text keys but %s.%s is %s", m.KeyGen.Kind, m.Table, m.Key, key.DataType)
	case m.KeyGen.Kind != mapping.KeyAutoIncrement && key.MaxLen != nil && *key.MaxLen < int64(keyLength(m)):
		rep.problem("%s.%s holds %d characters but generated keys have %d", m.Table, m.Key, *key.MaxLen, keyLength(m))
	}

	for _, c := range m.Columns {
		written[strings.ToLower(c.Name)] = true
		info, ok := byName[strings.ToLower(c.Name)]
		if !ok {
			rep.problem("users.columns.%s: column %s.%s does not exist", c.Name, m.Table, c.Name)
			continue
		}
		if why := incompatible(c.Need(), info.DataType); why != "" {
			rep.problem("users.columns.%s: %s.%s is %s, but %s", c.Name, m.Table, c.Name, info.DataType, why)
		}
		if info.Nullable == "NO" && info.Default == nil && c.Optional() {
			rep.problem("users.columns.%s: %s.%s is NOT NULL without a default, but %s is optional: a user without it would be "+
				"refused; give the column a constant for that case (default = \"\")", c.Name, m.Table, c.Name, c.Source())
		}
	}
	checkTypes(m, byName, &rep)
	var missing []string
	for _, c := range cols {
		if c.Nullable == "NO" && c.Default == nil && !strings.Contains(strings.ToLower(c.Extra), "auto_increment") &&
			!strings.Contains(strings.ToLower(c.Extra), "generated") && !written[strings.ToLower(c.Name)] {
			missing = append(missing, c.Name)
		}
	}
	sort.Strings(missing)
	for _, c := range missing {
		rep.problem("%s.%s is NOT NULL without a default and nothing maps it: add it to [users.columns] (on_insert = \"...\" for a constant)", m.Table, c)
	}

	uniques, err := uniqueColumns(ctx, db, m.Table)
	if err != nil {
		return rep, err
	}
	if !uniques[strings.ToLower(m.Key)] {
		rep.problem("users.key: %s.%s is neither the primary key nor a single-column unique key", m.Table, m.Key)
	}
	if col := m.MatchExistingBy; col != "" && !uniques[strings.ToLower(col)] {
		rep.warn("users.match_existing_by: %s.%s has no unique index: scimbridge keeps userNames unique itself and adopts "+
			"only when exactly one app row matches (several answer 409), but rows the app writes itself are not checked", m.Table, col)
	}
	if c := m.Column("userName"); c != nil {
		info := byName[strings.ToLower(c.Name)]
		if !uniques[strings.ToLower(c.Name)] {
			rep.warn("%s.%s (userName) has no unique index: scimbridge protects it itself (each create looks for an app row with this "+
				"login first, adopting it or answering 409 by on_existing, and of two creates of one login at once only one commits: "+
				"its own table's unique index on the userName), but rows written by the app itself are not checked", m.Table, c.Name)
		}
		if coll := strings.ToLower(info.Collation); strings.HasSuffix(coll, "_bin") || strings.HasSuffix(coll, "_cs") {
			rep.warn("%s.%s (userName) has the case-sensitive collation %s: IdPs look users up by userName case-insensitively, and filters on it will not be", m.Table, c.Name, info.Collation)
		}
		indexed, err := leadsAnIndex(ctx, db, m.Table, c.Name)
		if err != nil {
			return rep, err
		}
		if !indexed {
			rep.warn("%s.%s (userName) has no index: every IdP lookup by userName will scan the table", m.Table, c.Name)
		}
	}

	if err := checkIdentityCollations(ctx, db, m, &rep); err != nil {
		return rep, err
	}
	if err := checkUnknownActive(ctx, db, m, byName, &rep); err != nil {
		return rep, err
	}
	if err := checkFilterIndexes(ctx, db, m, byName, &rep); err != nil {
		return rep, err
	}
	scopeExists := true
	for col := range m.Scope {
		_, ok := byName[strings.ToLower(col)]
		scopeExists = scopeExists && ok
	}
	if scopeExists {
		if err := checkOutsideScope(ctx, db, m, &rep); err != nil {
			return rep, err
		}
	}
	if err := checkSide(ctx, db, m, &rep); err != nil {
		return rep, err
	}

	var applied int
	if err := db.GetContext(ctx, &applied, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", prefix+"users"); err != nil {
		return rep, err
	}
	if applied == 0 {
		rep.warn("scimbridge's own tables (%susers, ...) do not exist yet; `scimbridge migrate` or `serve` creates them", prefix)
	}
	return rep, nil
}

func keyLength(m *mapping.Users) int {
	if m.KeyGen.Kind == mapping.KeyUUID {
		return 36
	}
	return m.KeyGen.Length
}

func uniqueColumns(ctx context.Context, db *sqlx.DB, table string) (map[string]bool, error) {
	var rows []struct {
		Index  string `db:"INDEX_NAME"`
		Column string `db:"COLUMN_NAME"`
	}
	err := db.SelectContext(ctx, &rows, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`, table)
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.Index]++
	}
	out := map[string]bool{}
	for _, r := range rows {
		if count[r.Index] == 1 {
			out[strings.ToLower(r.Column)] = true
		}
	}
	return out, nil
}

// leadsAnIndex reports whether column is the first column of some index of table.
func leadsAnIndex(ctx context.Context, db *sqlx.DB, table, column string) (bool, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1`, table, column)
	return n > 0, err
}

func isText(t string) bool {
	switch strings.ToLower(t) {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

func isNumber(t string) bool {
	switch strings.ToLower(t) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "bit", "year":
		return true
	}
	return false
}

// incompatible explains why a column of SQL type t cannot hold what the mapping writes, or returns "".
func incompatible(need, t string) string {
	t = strings.ToLower(t)
	switch need {
	case "text":
		if !isText(t) && !isNumber(t) {
			return "the mapping writes text"
		}
	case "number", "boolean":
		if !isNumber(t) && !isText(t) {
			return "the mapping writes a " + need
		}
	case "time":
		if t != "datetime" && t != "timestamp" && t != "date" {
			return "the mapping writes a date-time (\"now\"); use now_unix or now_unix_ms for a numeric column"
		}
	case "unix":
		if !isNumber(t) {
			return "the mapping writes epoch seconds"
		}
	case "unix_ms":
		if t != "bigint" && t != "decimal" {
			return "the mapping writes epoch milliseconds, which need a BIGINT"
		}
	}
	return ""
}
