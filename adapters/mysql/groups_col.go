package mysql

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/scim"
)

// groupsColumn is a correlated subquery giving a user's groups (the readOnly "groups" attribute, RFC 7643
// 4.1.2) as one column of the query that reads the user, so that a read or a list page is one statement
// instead of the user rows and then a membership query.
//
// The column is "<count>:" then, per group, "<bytes of id>:<id><bytes of name>:<name>" (decodeGroups),
// or NULL for a user in no group. A JSON_ARRAYAGG of JSON_OBJECTs gave the same, but cost MariaDB about
// 200 us more per user looked up (even one in no group), more than the rest of the lookup's statement;
// lengths instead of separators need no escaping whatever a display name holds. GROUP_CONCAT stops at the
// session's group_concat_max_len and skips a NULL (a NULL name makes the CONCAT NULL): then the groups
// decoded are fewer than the count, and setGroups asks the membership query instead. GROUP_CONCAT's
// order is left to setGroups, which sorts them as attachGroups' ORDER BY does.
func groupsColumn(members, groups string) string {
	return "(SELECT CONCAT(COUNT(*), ':', GROUP_CONCAT(CONCAT(LENGTH(g.id), ':', g.id, LENGTH(g.display_name), ':', g.display_name) SEPARATOR '')) FROM " +
		members + " gm JOIN " + groups + " g ON g.id = gm.group_id WHERE gm.user_id = b.id)"
}

// groupRef is one group of a user as groupsColumn gives it.
type groupRef struct{ id, display string }

// decodeGroups decodes groupsColumn's value; ok is false when it is not whole (fewer groups than its
// count, or a length that runs past its end), and the membership query must say.
func decodeGroups(col []byte) (gs []groupRef, ok bool) {
	s := string(col)
	n, s, ok := lengthPrefix(s)
	if !ok {
		return nil, false
	}
	gs = make([]groupRef, 0, n)
	for s != "" {
		var id, name string
		if id, s, ok = lengthPrefixed(s); !ok {
			return nil, false
		}
		if name, s, ok = lengthPrefixed(s); !ok {
			return nil, false
		}
		gs = append(gs, groupRef{id, name})
	}
	return gs, len(gs) == n
}

// lengthPrefix reads "<decimal>:" from the start of s.
func lengthPrefix(s string) (n int, rest string, ok bool) {
	digits, rest, found := strings.Cut(s, ":")
	if !found || digits == "" || len(digits) > 9 {
		return 0, "", false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, rest, true
}

// lengthPrefixed reads "<bytes>:<that many bytes>" from the start of s.
func lengthPrefixed(s string) (v, rest string, ok bool) {
	n, rest, ok := lengthPrefix(s)
	if !ok || n > len(rest) {
		return "", "", false
	}
	return rest[:n], rest[n:], true
}

// setGroups sets each user's groups from its row's groupsCol (users[i] is rows[i]'s resource), as
// attachGroups does: ordered by displayName then id, no attribute for a user in no group; users whose
// column did not decode whole get theirs from the membership query. Then, as attachGroups, the roles
// that derive from them.
func (s *Store) setGroups(ctx context.Context, q sqlx.QueryerContext, users []scim.Resource, rows []*bookRow) error {
	var fallback []scim.Resource
	for i, b := range rows {
		if b.groups == nil {
			continue
		}
		gs, ok := decodeGroups(b.groups)
		if !ok {
			fallback = append(fallback, users[i])
			continue
		}
		if len(gs) == 0 {
			continue
		}
		slices.SortFunc(gs, func(a, b groupRef) int {
			if c := padSpaceCompare(a.display, b.display); c != 0 {
				return c
			}
			return padSpaceCompare(a.id, b.id)
		})
		list := make([]any, len(gs))
		for j, g := range gs {
			list[j] = map[string]any{"value": g.id, "display": g.display, "type": "direct"}
		}
		users[i]["groups"] = list
	}
	if len(fallback) > 0 {
		if err := s.loadGroups(ctx, q, fallback...); err != nil {
			return err
		}
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
