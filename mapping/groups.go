package mapping

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// GroupsConfig is the [groups] section.
type GroupsConfig struct {
	Mirror *GroupMirrorConfig `toml:"mirror"` // [groups.mirror]: copy groups into the app's own tables
}

// GroupMirrorConfig is [groups.mirror]: the app's groups table and its group-user table, which scimbridge
// keeps in line with the SCIM groups it holds.
type GroupMirrorConfig struct {
	Table         string `toml:"table"`          // the app's groups table
	Key           string `toml:"key"`            // its key column, default "id"
	KeyGeneration string `toml:"key_generation"` // "auto_increment" (default: the database makes it) or "uuid"
	Name          string `toml:"name"`           // the column holding the group's displayName
	ExternalID    string `toml:"external_id"`    // optional: the column holding the group's externalId
	MembersTable  string `toml:"members_table"`  // the app's group-user table
	MemberGroup   string `toml:"member_group"`   // its column holding the app's group key
	MemberUser    string `toml:"member_user"`    // its column holding the app's user key (users.key)
	// OnInsert: constant columns of a new group row (`on_insert = { type = "Group" }`), for a table the
	// app shares between kinds of rows; the keywords "now", "now_unix", "now_unix_ms", "uuid" and "null"
	// as in [users.columns] (Redmine's created_on).
	OnInsert map[string]any `toml:"on_insert"`
}

// Groups is a compiled [groups] section.
type Groups struct {
	Mirror *GroupMirror // nil when groups are not mirrored into the app
}

// GroupMirror is a compiled [groups.mirror].
type GroupMirror struct {
	Table        string
	Key          string
	KeyGen       KeyKind // KeyAutoIncrement or KeyUUID
	Name         string
	ExternalID   string // "" when the app keeps no externalId
	MembersTable string
	MemberGroup  string
	MemberUser   string
	OnInsert     map[string]any // column -> constant (string, int64, float64 or bool) or keyword
}

// InsertValues returns the on_insert columns of a new group row, keywords made at now and with newUUID:
// the write's own clock and randomness, so that a test can fix them.
func (m *GroupMirror) InsertValues(now time.Time, newUUID func() string) map[string]any {
	out := make(map[string]any, len(m.OnInsert))
	for col, raw := range m.OnInsert {
		v, _ := parseValue(raw) // CompileGroups accepted only what parseValue takes
		out[col] = v.materialize(now, newUUID)
	}
	return out
}

// MirrorMapping returns the compiled [groups.mirror]; nil when there is none (also for a nil Groups).
func (g *Groups) MirrorMapping() *GroupMirror {
	if g == nil {
		return nil
	}
	return g.Mirror
}

// CompileGroups checks a [groups] section; nil config means none. It reports every problem at once.
func CompileGroups(cfg *GroupsConfig) (*Groups, error) {
	if cfg == nil {
		return nil, nil
	}
	g := &Groups{}
	if cfg.Mirror == nil {
		return g, nil
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := cfg.Mirror
	m := &GroupMirror{Table: c.Table, Key: or(c.Key, "id"), KeyGen: KeyKind(or(c.KeyGeneration, string(KeyAutoIncrement))), Name: c.Name,
		ExternalID: c.ExternalID, MembersTable: c.MembersTable, MemberGroup: c.MemberGroup, MemberUser: c.MemberUser,
		OnInsert: c.OnInsert}
	for _, req := range []struct{ key, v, what string }{
		{"table", m.Table, "the app's groups table"},
		{"name", m.Name, "the column of table holding the group's displayName"},
		{"members_table", m.MembersTable, "the app's table of (group, user) rows"},
		{"member_group", m.MemberGroup, "the column of members_table holding the app's group key"},
		{"member_user", m.MemberUser, "the column of members_table holding the app's user key"},
	} {
		if strings.TrimSpace(req.v) == "" {
			fail("groups.mirror.%s is required: %s", req.key, req.what)
		}
	}
	if m.KeyGen != KeyAutoIncrement && m.KeyGen != KeyUUID {
		fail(`groups.mirror.key_generation must be "auto_increment" or "uuid", got %q`, m.KeyGen)
	}
	// Columns of one table must be distinct: each holds one thing.
	distinct := func(table string, cols [][2]string) {
		seen := map[string]string{}
		for _, c := range cols {
			if c[1] == "" {
				continue
			}
			if prev, ok := seen[strings.ToLower(c[1])]; ok {
				fail("groups.mirror.%s: column %q of %s is already groups.mirror.%s", c[0], c[1], table, prev)
				continue
			}
			seen[strings.ToLower(c[1])] = c[0]
		}
	}
	tableCols := [][2]string{{"key", m.Key}, {"name", m.Name}, {"external_id", m.ExternalID}}
	for _, col := range slices.Sorted(maps.Keys(m.OnInsert)) {
		switch m.OnInsert[col].(type) {
		case string, int64, float64, bool:
		default:
			fail("groups.mirror.on_insert.%s must be a string, number or boolean", col)
		}
		tableCols = append(tableCols, [2]string{"on_insert." + col, col})
	}
	distinct("table", tableCols)
	distinct("members_table", [][2]string{{"member_group", m.MemberGroup}, {"member_user", m.MemberUser}})
	if m.Table != "" && strings.EqualFold(m.Table, m.MembersTable) {
		fail("groups.mirror.members_table: %q is also groups.mirror.table; groups and memberships need two tables", m.MembersTable)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g.Mirror = m
	return g, nil
}
