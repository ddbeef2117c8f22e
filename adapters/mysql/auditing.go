package mysql

import (
	"context"
	"slices"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// userWrite is what a write did to one user's app row, for the audit trail: the row before and after
// (whole, as audit.Snapshot reads it; nil where there was or is no row) and the SCIM attributes changed.
type userWrite struct {
	id, name      string
	appKey        any
	before, after map[string]any
	changed       []string
	attrs         map[string]audit.Diff // the changed attributes' values, side tables' included
}

// attributeDiff is the before and after of each changed attribute path (changedAttributes), extension
// attributes by full name: what the IdP sees changed, wherever the mapping keeps it.
// An attribute held in a redacted column is redacted too.
func (s *Store) attributeDiff(old, new scim.Resource, changed []string) map[string]audit.Diff {
	if len(changed) == 0 {
		return nil
	}
	out := make(map[string]audit.Diff, len(changed))
	for _, path := range changed {
		if s.redactedAttribute(path) {
			out[path] = audit.Diff{Before: audit.Redacted, After: audit.Redacted}
			continue
		}
		out[path] = audit.Diff{Before: attributeAt(old, path), After: attributeAt(new, path)}
	}
	return out
}

// redactedAttribute reports whether a changed attribute path (top-level, or an extension attribute by
// full name) is held, in whole or in part, in a users column the trail redacts.
func (s *Store) redactedAttribute(path string) bool {
	for _, c := range s.m.Columns {
		src := c.Source()
		if src == "" || !(audit.IsSecret(c.Name) || slices.ContainsFunc(s.redact, func(r string) bool { return strings.EqualFold(r, c.Name) })) {
			continue
		}
		if src == path || strings.HasPrefix(src, path+".") || strings.HasPrefix(src, path+"[") {
			return true
		}
	}
	return false
}

func attributeAt(r scim.Resource, path string) any {
	if v, ok := r[path]; ok {
		return v
	}
	if i := strings.LastIndex(path, ":"); i > 0 {
		ext, _ := r[path[:i]].(map[string]any)
		return ext[path[i+1:]]
	}
	return nil
}

func (c *change) user(w *userWrite) { c.users = append(c.users, w) }

// appSnapshot reads the user's app row whole, for the audit trail.
func (s *Store) appSnapshot(ctx context.Context, tx *bookkeeping.Tx, key any) (map[string]any, error) {
	return audit.Snapshot(ctx, tx, s.m.Table, s.m.Key, key)
}

// auditEntries are the audit rows of a change whose events are evs (the change's own first, then the
// role recompute's from index own on), each naming the ids of the events it goes with.
func (s *Store) auditEntries(c *change, evs []subjectEvent, own int) []audit.Entry {
	bySubject := map[string][]string{}
	for _, se := range evs[:own] {
		bySubject[se.subject] = append(bySubject[se.subject], se.ev.ID)
	}
	names := map[string]string{}
	var out []audit.Entry
	for _, w := range c.users {
		subject := userSubject(w.id)
		names[w.id] = w.name
		out = append(out, audit.Entry{Operation: userOperation(evs[:own], subject), ResourceType: "User", SCIMID: w.id,
			Name: w.name, AppKey: w.appKey,
			Changes: audit.Changes{Columns: audit.ColumnDiff(w.before, w.after, s.redact), Attributes: w.attrs, Changed: w.changed,
				Events: bySubject[subject]}})
	}
	groups := map[string]*groupChange{}
	for _, g := range c.groups {
		groups[g.id] = g
	}
	for _, se := range evs[:own] {
		id, ok := strings.CutPrefix(se.subject, "group:")
		if !ok {
			continue
		}
		name, _ := se.ev.Resource["displayName"].(string)
		e := audit.Entry{Operation: se.ev.Type, ResourceType: "Group", SCIMID: id, Name: name,
			Changes: audit.Changes{Events: []string{se.ev.ID}, Changed: se.ev.Changed}}
		var before, after scim.Resource
		if g := groups[id]; g != nil {
			before, after = g.before, g.after
		}
		switch se.ev.Type {
		case EventGroupCreated:
			e.Changes.Attributes = groupDiff(nil, se.ev.Resource)
		case EventGroupUpdated:
			e.Changes.Attributes = groupDiff(before, after)
		case EventGroupDeleted:
			e.Changes.Attributes = groupDiff(se.ev.Resource, nil)
			if g := groups[id]; g != nil {
				// Its members leave it with it: their trails say so.
				for _, m := range g.removed {
					out = append(out, audit.Entry{Operation: EventGroupMembersRemoved, ResourceType: "Group", SCIMID: id, Name: name,
						MemberID: m, Changes: audit.Changes{Group: &audit.Group{ID: id, Name: name}, Events: []string{se.ev.ID}}})
				}
			}
		case EventGroupMembersAdded, EventGroupMembersRemoved:
			// One row per member, so that a user's trail shows every group it joined or left.
			for _, m := range se.ev.Members {
				me := e
				me.MemberID = m
				me.Changes.Group = &audit.Group{ID: id, Name: name}
				out = append(out, me)
			}
			continue
		}
		out = append(out, e)
	}
	for _, se := range evs[own:] {
		id, _ := se.ev.Resource["id"].(string)
		var roles *audit.Diff
		if r := se.ev.Roles; r != nil {
			roles = &audit.Diff{Before: r.Old, After: r.New}
		}
		var direct []string
		if se.ev.Roles != nil {
			direct = se.ev.Roles.Direct
		}
		out = append(out, audit.Entry{Operation: se.ev.Type, ResourceType: "User", SCIMID: id, Name: names[id], AppKey: se.ev.AppKey,
			Changes: audit.Changes{Roles: roles, Direct: direct, Events: []string{se.ev.ID}}})
	}
	return out
}

// userOperation names a user write by the weightiest of its events.
func userOperation(evs []subjectEvent, subject string) string {
	rank := map[string]int{EventUserUpdated: 1, EventUserCreated: 2, EventUserReactivated: 3, EventUserDeactivated: 4, EventUserDeleted: 5}
	op := EventUserUpdated
	for _, se := range evs {
		if se.subject == subject && rank[se.ev.Type] > rank[op] {
			op = se.ev.Type
		}
	}
	return op
}

// groupDiff is the before and after of a group's displayName and externalId that differ.
func groupDiff(before, after scim.Resource) map[string]audit.Diff {
	out := map[string]audit.Diff{}
	for _, attr := range []string{"displayName", "externalId"} {
		var b, a any
		if before != nil {
			b = before[attr]
		}
		if after != nil {
			a = after[attr]
		}
		if b != a {
			out[attr] = audit.Diff{Before: b, After: a}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
