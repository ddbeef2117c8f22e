package mysql

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	approles "github.com/scimbridge/scimbridge/adapters/mysql/roles"
	"github.com/scimbridge/scimbridge/scim"
)

// A change is what one step of a SCIM write did to scimbridge's own rows, recorded while the step runs,
// for what must follow it in the same transaction. afterChange does that, always in this order:
//
//  1. the group mirror ([groups.mirror]): each group created, touched, renamed or deleted, and the
//     members it gained or lost, are written to the app's own group tables;
//  2. the role recompute ([roles]): the users whose memberships, groups or activity changed get the
//     app roles their groups grant now;
//  3. the audit trail (package audit): a row for each user write, group change, membership and role
//     change, naming the events of 4 it goes with;
//  4. the events (the outbox): the step's own, in the order recorded, then each user.roles_changed of 2.
//
// Every write records what it did and ends with afterChange. A write made of several steps runs it after
// each: a user's DELETE first leaves its groups (mirror, roles, members_removed), then goes.
type change struct {
	groups []*groupChange
	roles  []string        // SCIM ids of the users whose roles may have changed
	direct map[string]bool // users whose direct role assignments changed: roles_changed even if the app's did not
	// fresh is a user this change created: no other transaction can see it yet, so its recompute needs
	// no role mark (bookkeeping.MarkRoles), which would cost every create a statement.
	fresh string
	// known is fresh's state where the create knows all of it (a bookkeeping row of its own: not a
	// revived tombstone), so that the recompute reads none of it.
	known  *approles.Known
	events []subjectEvent
	users  []*userWrite // the users' app rows before and after, for the audit trail
}

type groupChangeKind int

const (
	groupCreated groupChangeKind = iota // a new group: its app row is inserted
	groupTouched                        // a group a write changed or looked at: its app row must exist
	groupDeleted                        // a deleted group: its app row and member rows go
	groupMembers                        // only its members changed (a deleted user left it)
)

// groupChange is one group's part of a change.
type groupChange struct {
	id             string
	kind           groupChangeKind
	before, after  scim.Resource // as the group was and is; after is nil for a deleted group
	added, removed []string      // member SCIM ids
	appKey         any           // groupDeleted: the app row's key, read before the bookkeeping row went
}

func (c *change) event(subject string, ev Event) {
	c.events = append(c.events, subjectEvent{subject, ev})
}

func (c *change) group(g *groupChange) *groupChange {
	c.groups = append(c.groups, g)
	return g
}

func (c *change) rolesOf(ids ...string) { c.roles = append(c.roles, ids...) }

// afterChange runs the steps that follow a change (see change), in tx.
func (s *Store) afterChange(ctx context.Context, tx *bookkeeping.Tx, c *change) error {
	if s.mirror != nil {
		for _, g := range c.groups {
			if err := s.mirrorGroup(ctx, tx, g); err != nil {
				return err
			}
		}
	}
	marked := make([]string, 0, len(c.roles))
	for _, id := range c.roles {
		if id != c.fresh {
			marked = append(marked, id)
		}
	}
	var known map[string]approles.Known
	if c.known != nil {
		known = map[string]approles.Known{c.fresh: *c.known}
	}
	roleEvents, err := s.recomputeRoles(ctx, tx, c.roles, marked, c.direct, known)
	if err != nil {
		return err
	}
	return s.record(ctx, tx, c, roleEvents)
}

// record writes the audit rows and the events of a change whose role recompute produced roleEvents.
func (s *Store) record(ctx context.Context, tx *bookkeeping.Tx, c *change, roleEvents []subjectEvent) error {
	evs := append(c.events, roleEvents...)
	for i := range evs {
		evs[i].ev.ID = s.newID()
	}
	if err := audit.Write(ctx, tx, s.auditEntries(c, evs, len(c.events))); err != nil {
		return err
	}
	if err := s.recordWritten(ctx, tx, c.users); err != nil {
		return err
	}
	return s.emitAll(ctx, tx, evs)
}

// mirrorGroup writes one group's change to the app's group tables.
func (s *Store) mirrorGroup(ctx context.Context, tx *bookkeeping.Tx, g *groupChange) error {
	switch g.kind {
	case groupDeleted:
		return s.mirror.Delete(ctx, tx, g.appKey)
	case groupCreated:
		if _, err := s.mirror.Create(ctx, tx, g.id, g.after); err != nil {
			return err
		}
	case groupTouched:
		// A group created before the mirror was configured, or whose row the app deleted, gets one now.
		if err := s.mirror.Ensure(ctx, tx, g.id, g.before); err != nil {
			return err
		}
	}
	if err := s.mirror.Members(ctx, tx, g.id, g.added, g.removed); err != nil {
		return err
	}
	if g.kind == groupTouched && g.after != nil && renamed(g.before, g.after) {
		return s.mirror.Update(ctx, tx, g.id, g.after)
	}
	return nil
}

// renamed reports whether a group's displayName or externalId changed: role rules and the mirror
// match groups by them.
func renamed(before, after scim.Resource) bool {
	return after["displayName"] != before["displayName"] || externalID(after) != externalID(before)
}
