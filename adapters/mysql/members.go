package mysql

import (
	"context"
	"sort"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// changeMembers applies a member change to a group whose row the transaction has locked, with batched
// statements, and returns the user ids really added and removed (adding a member twice adds nothing).
// Every added member must be a live user: otherwise nothing is applied and the error names the ids.
// The caller records them in its change, so that the app's member rows follow (afterChange).
func (s *Store) changeMembers(ctx context.Context, tx *bookkeeping.Tx, groupID string, c scim.MemberChange) (added, removed []string, err error) {
	adds := dedupeMembers(c.Add)
	removes := c.Remove
	if c.Replace {
		var current []string
		if err := tx.SelectContext(ctx, &current, "SELECT user_id FROM "+s.memberTable()+" WHERE group_id = ?", groupID); err != nil {
			return nil, nil, err
		}
		want := make(map[string]bool, len(adds))
		for _, m := range adds {
			want[m.Value] = true
		}
		removes = nil
		for _, id := range current {
			if !want[id] {
				removes = append(removes, id)
			}
		}
	}
	if len(adds) == 0 && len(removes) == 0 {
		return nil, nil, nil
	}
	if err := s.checkUsersExist(ctx, tx, memberIDs(adds)); err != nil {
		return nil, nil, err
	}
	present, err := s.presentMembers(ctx, tx, groupID, append(memberIDs(adds), removes...))
	if err != nil {
		return nil, nil, err
	}
	var fresh []scim.Member
	for _, m := range adds {
		if !present[m.Value] {
			fresh = append(fresh, m)
			added = append(added, m.Value)
		}
	}
	for _, id := range removes {
		if present[id] {
			removed = append(removed, id)
		}
	}
	// The user mark of each new member (bookkeeping.MarkUsers): a concurrent DELETE of the user through
	// another Galera node then conflicts with this add instead of both committing.
	if err := bookkeeping.MarkUsers(ctx, tx, tx.Tables, added); err != nil {
		return nil, nil, err
	}
	if err := s.markInGroups(ctx, tx, added); err != nil {
		return nil, nil, err
	}
	for start := 0; start < len(fresh); start += memberBatch {
		batch := fresh[start:min(start+memberBatch, len(fresh))]
		args := make([]any, 0, 3*len(batch))
		for _, m := range batch {
			var display any
			if m.Display != "" {
				display = m.Display
			}
			args = append(args, groupID, m.Value, display)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.memberTable()+" (group_id, user_id, display) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(batch)), ", "), args...); err != nil {
			return nil, nil, err
		}
	}
	for start := 0; start < len(removed); start += memberBatch {
		batch := removed[start:min(start+memberBatch, len(removed))]
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.memberTable()+" WHERE group_id = ? AND user_id IN ("+
			placeholders(len(batch))+")", append([]any{groupID}, anySlice(batch)...)...); err != nil {
			return nil, nil, err
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed, nil
}

// leaveGroups takes a deleted user out of every group, as one step of its DELETE: the app's member rows,
// its roles and a group.members_removed event for each group follow (afterChange) while the user's rows
// are still there.
func (s *Store) leaveGroups(ctx context.Context, tx *bookkeeping.Tx, userID string) error {
	var groups []string
	if err := tx.SelectContext(ctx, &groups, "SELECT group_id FROM "+s.memberTable()+" WHERE user_id = ? ORDER BY group_id FOR UPDATE", userID); err != nil {
		return err
	}
	c := &change{}
	for _, g := range groups {
		if _, err := s.readGroup(ctx, tx, g, false, true); err != nil { // lock the group, as every change does
			return err
		}
		_, removed, err := s.changeMembers(ctx, tx, g, scim.MemberChange{Remove: []string{userID}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+s.groupTable()+" SET version = version + 1, last_modified = ? WHERE id = ?",
			tx.Now, g); err != nil {
			return err
		}
		group, err := s.readGroup(ctx, tx, g, false, false)
		if err != nil {
			return err
		}
		c.group(&groupChange{id: g, kind: groupMembers, removed: removed})
		c.memberEvents(g, nil, removed, group)
	}
	c.rolesOf(userID) // once, after every group has let the user go: no intermediate roles
	return s.afterChange(ctx, tx, c)
}

// checkUsersExist fails with 400 invalidValue naming the ids that are not live users.
func (s *Store) checkUsersExist(ctx context.Context, tx *bookkeeping.Tx, ids []string) error {
	found := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += memberBatch {
		batch := ids[start:min(start+memberBatch, len(ids))]
		var live []string
		// FOR UPDATE: a user being deleted at the same time is either gone before this check or waits
		// until the membership is in; and a role recompute later in this transaction finds the lock held.
		if err := tx.SelectContext(ctx, &live, "SELECT id FROM "+s.bookTable()+" WHERE deleted_at IS NULL AND id IN ("+
			placeholders(len(batch))+") ORDER BY id FOR UPDATE", anySlice(batch)...); err != nil {
			return err
		}
		for _, id := range live {
			found[id] = true
		}
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		// Entra has been seen sending a nested group as a member. Groups hold users only here (the role
		// rules and the app's mirror know no nesting), so the request is refused, naming the group,
		// rather than applied without it: the IdP reports the failure instead of a silent difference.
		var groups []string
		probe := missing[:min(len(missing), memberBatch)]
		if err := tx.SelectContext(ctx, &groups, "SELECT id FROM "+s.groupTable()+" WHERE id IN ("+
			placeholders(len(probe))+") ORDER BY id", anySlice(probe)...); err != nil {
			return err
		}
		if len(groups) > 0 {
			return scim.BadRequest(scim.TypeInvalidValue, "member %q is a group: nested groups are not supported, "+
				"a group's members are users (add the group's users instead); nothing was changed", groups[0])
		}
	}
	switch {
	case len(missing) == 1:
		return scim.BadRequest(scim.TypeInvalidValue, "member %q is not a user of this server; nothing was changed", missing[0])
	case len(missing) > 1:
		return scim.BadRequest(scim.TypeInvalidValue, "members %q and %d more are not users of this server; nothing was changed",
			missing[0], len(missing)-1)
	}
	return nil
}

// presentMembers returns which of the ids are members of the group now.
func (s *Store) presentMembers(ctx context.Context, tx *bookkeeping.Tx, groupID string, ids []string) (map[string]bool, error) {
	present := map[string]bool{}
	for start := 0; start < len(ids); start += memberBatch {
		batch := ids[start:min(start+memberBatch, len(ids))]
		var rows []string
		if err := tx.SelectContext(ctx, &rows, "SELECT user_id FROM "+s.memberTable()+" WHERE group_id = ? AND user_id IN ("+
			placeholders(len(batch))+")", append([]any{groupID}, anySlice(batch)...)...); err != nil {
			return nil, err
		}
		for _, id := range rows {
			present[id] = true
		}
	}
	return present, nil
}

// dedupeMembers keeps one entry per user id (the last display given wins), in first-seen order.
func dedupeMembers(ms []scim.Member) []scim.Member {
	at := make(map[string]int, len(ms))
	out := make([]scim.Member, 0, len(ms))
	for _, m := range ms {
		if i, ok := at[m.Value]; ok {
			out[i] = m
			continue
		}
		at[m.Value] = len(out)
		out = append(out, m)
	}
	return out
}

func memberIDs(ms []scim.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Value
	}
	return out
}

func anySlice(ss []string) []any { return bookkeeping.Args(ss) }

// markInGroups sets in_groups on users that became members (inGroupsCol), in the transaction that adds
// them: reads of a user ask for its groups only when it is set. Only rows where it changes are written:
// a user already in other groups costs no write.
func (s *Store) markInGroups(ctx context.Context, tx *bookkeeping.Tx, users []string) error {
	for start := 0; start < len(users); start += memberBatch {
		batch := users[start:min(start+memberBatch, len(users))]
		if err := tx.Later(ctx, "UPDATE "+s.bookTable()+" SET in_groups = 1 WHERE id IN ("+placeholders(len(batch))+
			") AND in_groups = 0", anySlice(batch)...); err != nil {
			return err
		}
	}
	return nil
}
