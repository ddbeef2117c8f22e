package mysql

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/scim"
)

// inGroupsCol is the column of a user's bookkeeping row that says it may be in a group: set (in the
// transaction that adds it) when the user becomes a member of any group, never cleared but by
// `scimbridge reindex`. A read of users selects it and asks the membership query only for those
// users (setGroups), so that a user in no group - an IdP's lookup of a user before it pushes groups,
// every user of a directory without group push - costs the read's own statement alone.
//
// The read's statement carried each user's groups itself before, as a correlated subquery: MariaDB
// spent about 90 us more on a one-user lookup for it (70 us even when the subquery was wrapped so as
// never to run), a third of the lookup's cost on the server (bench/README.md).
const inGroupsCol = "b.in_groups"

// setGroups sets each user's groups (users[i] is rows[i]'s resource), with one membership query for the
// users whose row says they may be in a group, and then the roles that derive from them, as
// attachGroups does for all.
func (s *Store) setGroups(ctx context.Context, q sqlx.QueryerContext, users []scim.Resource, rows []*bookRow) error {
	var members []scim.Resource
	for i, b := range rows {
		if b.inGroups {
			members = append(members, users[i])
		}
	}
	if len(members) > 0 {
		if err := s.loadGroups(ctx, q, members...); err != nil {
			return err
		}
	}
	return s.attachRolesOf(ctx, q, users, rows)
}
