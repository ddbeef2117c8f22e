package schemacheck

import (
	"context"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/mapping"
)

// CheckGroupMirror verifies [groups.mirror] against the database: the app's groups table and members
// table exist with the columns the mirror writes, the group key is unique (and generated as configured),
// no NOT NULL column is left without a value, and (a warning) the members table has a unique key on
// (member_group, member_user). nil g checks nothing.
func CheckGroupMirror(ctx context.Context, db *sqlx.DB, g *mapping.GroupMirror) (Report, error) {
	var rep Report
	if g == nil {
		return rep, nil
	}
	columns := func(table string) (map[string]columnInfo, []columnInfo, error) {
		var cols []columnInfo
		err := db.SelectContext(ctx, &cols, `SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
			CHARACTER_MAXIMUM_LENGTH, COALESCE(COLLATION_NAME, '') AS COLLATION_NAME
			FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, table)
		byName := map[string]columnInfo{}
		for _, c := range cols {
			byName[strings.ToLower(c.Name)] = c
		}
		return byName, cols, err
	}
	// notWritten reports NOT NULL columns without a default that the mirror does not write.
	notWritten := func(table string, cols []columnInfo, written ...string) {
		w := map[string]bool{}
		for _, c := range written {
			w[strings.ToLower(c)] = true
		}
		var missing []string
		for _, c := range cols {
			extra := strings.ToLower(c.Extra)
			if c.Nullable == "NO" && c.Default == nil && !strings.Contains(extra, "auto_increment") &&
				!strings.Contains(extra, "generated") && !w[strings.ToLower(c.Name)] {
				missing = append(missing, c.Name)
			}
		}
		sort.Strings(missing)
		for _, c := range missing {
			rep.problem("groups.mirror: %s.%s is NOT NULL without a default, and the mirror does not write it: give it a default in the app", table, c)
		}
	}

	byName, cols, err := columns(g.Table)
	if err != nil {
		return rep, err
	}
	if len(cols) == 0 {
		rep.problem("groups.mirror.table: table %q does not exist in this database", g.Table)
	} else {
		key, ok := byName[strings.ToLower(g.Key)]
		switch {
		case !ok:
			rep.problem("groups.mirror.key: column %s.%s does not exist", g.Table, g.Key)
		case g.KeyGen == mapping.KeyAutoIncrement && !strings.Contains(strings.ToLower(key.Extra), "auto_increment"):
			rep.problem("groups.mirror.key_generation = \"auto_increment\" but %s.%s is not AUTO_INCREMENT; use \"uuid\"", g.Table, g.Key)
		case g.KeyGen == mapping.KeyUUID && !isText(key.DataType):
			rep.problem("groups.mirror.key_generation = \"uuid\" makes text keys but %s.%s is %s", g.Table, g.Key, key.DataType)
		case g.KeyGen == mapping.KeyUUID && key.MaxLen != nil && *key.MaxLen < 36:
			rep.problem("groups.mirror.key: %s.%s holds %d characters but UUIDs have 36", g.Table, g.Key, *key.MaxLen)
		}
		if ok {
			uniques, err := uniqueColumns(ctx, db, g.Table)
			if err != nil {
				return rep, err
			}
			if !uniques[strings.ToLower(g.Key)] {
				rep.problem("groups.mirror.key: %s.%s is neither the primary key nor a single-column unique key", g.Table, g.Key)
			}
		}
		for _, c := range [][2]string{{"name", g.Name}, {"external_id", g.ExternalID}} {
			if c[1] == "" {
				continue
			}
			info, ok := byName[strings.ToLower(c[1])]
			switch {
			case !ok:
				rep.problem("groups.mirror.%s: column %s.%s does not exist", c[0], g.Table, c[1])
			case !isText(info.DataType):
				rep.problem("groups.mirror.%s: %s.%s is %s, but the mirror writes text", c[0], g.Table, c[1], info.DataType)
			}
		}
		written := []string{g.Key, g.Name, g.ExternalID}
		for _, c := range sortedNames(g.OnInsert) {
			if _, ok := byName[strings.ToLower(c)]; !ok {
				rep.problem("groups.mirror.on_insert.%s: column %s.%s does not exist", c, g.Table, c)
			}
			written = append(written, c)
		}
		notWritten(g.Table, cols, written...)
	}

	byName, cols, err = columns(g.MembersTable)
	if err != nil {
		return rep, err
	}
	if len(cols) == 0 {
		rep.problem("groups.mirror.members_table: table %q does not exist in this database", g.MembersTable)
		return rep, nil
	}
	for _, c := range [][2]string{{"member_group", g.MemberGroup}, {"member_user", g.MemberUser}} {
		if _, ok := byName[strings.ToLower(c[1])]; !ok {
			rep.problem("groups.mirror.%s: column %s.%s does not exist", c[0], g.MembersTable, c[1])
		}
	}
	notWritten(g.MembersTable, cols, g.MemberGroup, g.MemberUser)
	var idx []struct {
		Index  string `db:"INDEX_NAME"`
		Column string `db:"COLUMN_NAME"`
	}
	if err := db.SelectContext(ctx, &idx, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`, g.MembersTable); err != nil {
		return rep, err
	}
	sets := map[string]map[string]bool{}
	for _, r := range idx {
		if sets[r.Index] == nil {
			sets[r.Index] = map[string]bool{}
		}
		sets[r.Index][strings.ToLower(r.Column)] = true
	}
	pair := false
	for _, set := range sets {
		if len(set) == 2 && set[strings.ToLower(g.MemberGroup)] && set[strings.ToLower(g.MemberUser)] {
			pair = true
		}
	}
	if !pair {
		rep.warn("groups.mirror: %s has no unique key on (%s, %s): scimbridge writes each membership once, but nothing stops the app from writing one twice",
			g.MembersTable, g.MemberGroup, g.MemberUser)
	}
	if _, ok := byName[strings.ToLower(g.MemberGroup)]; ok {
		indexed, err := leadsAnIndex(ctx, db, g.MembersTable, g.MemberGroup)
		if err != nil {
			return rep, err
		}
		if !indexed {
			rep.warn("groups.mirror: %s.%s has no index: every membership change will scan the table", g.MembersTable, g.MemberGroup)
		}
	}
	return rep, nil
}

func sortedNames(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
