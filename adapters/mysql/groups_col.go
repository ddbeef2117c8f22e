package mysql

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/scim"
)

// groupsColumn is a correlated subquery giving a user's groups (the readOnly "groups" attribute, RFC 7643
// 4.1.2) as one JSON array column of the query that reads the user, so that a read or a list page is one
// statement instead of the user rows and then a membership query. JSON_ARRAYAGG has no ORDER BY on
// MySQL, so setGroups puts them in the order attachGroups' query gives.
func groupsColumn(members, groups string) string {
	return "(SELECT JSON_ARRAYAGG(JSON_OBJECT('value', g.id, 'display', g.display_name)) FROM " + members + " gm JOIN " + groups +
		" g ON g.id = gm.group_id WHERE gm.user_id = b.id)"
}

// setGroups sets each user's groups from its row's groupsCol (users[i] is rows[i]'s resource), as
// attachGroups does: ordered by displayName then id, no attribute for a user in no group; then, as
// attachGroups, the roles that derive from them.
func (s *Store) setGroups(ctx context.Context, q sqlx.QueryerContext, users []scim.Resource, rows []*bookRow) error {
	for i, b := range rows {
		if len(b.groups) == 0 {
			continue
		}
		var gs []struct {
			Value   string `json:"value"`
			Display string `json:"display"`
		}
		if err := json.Unmarshal(b.groups, &gs); err != nil {
			return err
		}
		if len(gs) == 0 {
			continue
		}
		slices.SortFunc(gs, func(a, b struct {
			Value   string `json:"value"`
			Display string `json:"display"`
		}) int {
			if c := padSpaceCompare(a.Display, b.Display); c != 0 {
				return c
			}
			return padSpaceCompare(a.Value, b.Value)
		})
		list := make([]any, len(gs))
		for j, g := range gs {
			list[j] = map[string]any{"value": g.Value, "display": g.Display, "type": "direct"}
		}
		users[i]["groups"] = list
	}
	return s.attachRoles(ctx, q, users...)
}

// padSpaceCompare orders strings as utf8mb4_bin, the collation of scimbridge's tables, does: by code
// point (which UTF-8's byte order is), the shorter padded with spaces (a PAD SPACE collation), so that
// "a\t" sorts before "a" as it does in ORDER BY.
func padSpaceCompare(a, b string) int {
	for i := range max(len(a), len(b)) {
		x, y := byte(' '), byte(' ')
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return int(x) - int(y)
		}
	}
	return 0
}
