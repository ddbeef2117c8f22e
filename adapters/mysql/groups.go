package mysql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// Group event types.
const (
	EventGroupCreated        = "group.created"
	EventGroupUpdated        = "group.updated"
	EventGroupDeleted        = "group.deleted"
	EventGroupMembersAdded   = "group.members_added"
	EventGroupMembersRemoved = "group.members_removed"
)

// memberBatch is how many members one SQL statement adds, removes or checks: large enough that 10,000
// members take ten round trips, small enough for any max_allowed_packet.
const memberBatch = 1000

type groupRow struct {
	ID           string  `db:"id"`
	DisplayName  string  `db:"display_name"`
	ExternalID   *string `db:"external_id"`
	Version      int64   `db:"version"`
	Created      time.Time
	LastModified time.Time `db:"last_modified"`
	Doc          []byte    `db:"doc"`
}

const groupColumns = "g.id, g.display_name, g.external_id, g.version, g.created, g.last_modified, g.doc"

func (s *Store) groupTable() string  { return s.t.Groups() }
func (s *Store) memberTable() string { return s.t.Members() }

// CreateGroup stores a new group with its members, which must all be existing users.
func (s *Store) CreateGroup(ctx context.Context, r scim.Resource, members []scim.Member) (scim.Resource, error) {
	var out scim.Resource
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		id := s.idFor(ctx)
		doc, err := s.newGroupDoc(r)
		if err != nil {
			return err
		}
		now := tx.Now
		name, _ := r["displayName"].(string)
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.groupTable()+` (id, display_name, display_name_lc, external_id,
			version, created, last_modified, doc) VALUES (?, ?, ?, ?, 1, ?, ?, ?)`,
			id, name, strings.ToLower(name), externalID(r), now, now, doc); err != nil {
			return err
		}
		added, _, err := s.changeMembers(ctx, tx, id, scim.MemberChange{Add: members})
		if err != nil {
			return err
		}
		if out, err = s.readGroup(ctx, tx, id, true, false); err != nil {
			return err
		}
		c := &change{}
		c.group(&groupChange{id: id, kind: groupCreated, after: r, added: added})
		c.event(groupSubject(id), Event{Type: EventGroupCreated, Resource: out})
		c.memberEvents(id, added, nil, out)
		c.rolesOf(added...)
		return s.afterChange(ctx, tx, c)
	})
	return out, err
}

// GetGroup returns a group; withMembers false skips reading the member list (excludedAttributes=members).
func (s *Store) GetGroup(ctx context.Context, id string, withMembers bool) (scim.Resource, error) {
	r, err := s.readGroup(ctx, s.db, id, withMembers, false)
	return r, s.classify(err)
}

func (s *Store) readGroup(ctx context.Context, q sqlx.QueryerContext, id string, withMembers, lock bool) (scim.Resource, error) {
	query := "SELECT " + groupColumns + " FROM " + s.groupTable() + " g WHERE g.id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	var rows []groupRow
	if err := sqlx.SelectContext(ctx, q, &rows, query, id); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, scim.NotFound("Group", id)
	}
	return s.groupResource(ctx, q, rows[0], withMembers)
}

func (s *Store) groupResource(ctx context.Context, q sqlx.QueryerContext, g groupRow, withMembers bool) (scim.Resource, error) {
	r := scim.Resource{}
	dec := json.NewDecoder(bytes.NewReader(g.Doc))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("group %s: bookkeeping doc: %w", g.ID, err)
	}
	r["id"], r["displayName"], r["schemas"] = g.ID, g.DisplayName, []any{scim.GroupSchema}
	if g.ExternalID != nil {
		r["externalId"] = *g.ExternalID
	}
	r["meta"] = map[string]any{
		"resourceType": "Group",
		"created":      g.Created.UTC().Format(time.RFC3339Nano),
		"lastModified": g.LastModified.UTC().Format(time.RFC3339Nano),
		"version":      Version(g.Version),
	}
	if !withMembers {
		return r, nil
	}
	var members []struct {
		UserID  string  `db:"user_id"`
		Display *string `db:"display"`
	}
	if err := sqlx.SelectContext(ctx, q, &members, "SELECT user_id, display FROM "+s.memberTable()+
		" WHERE group_id = ? ORDER BY user_id", g.ID); err != nil {
		return nil, err
	}
	if len(members) > 0 {
		list := make([]any, len(members))
		for i, m := range members {
			item := map[string]any{"value": m.UserID, "type": "User"}
			if m.Display != nil {
				item["display"] = *m.Display
			}
			list[i] = item
		}
		r["members"] = list
	}
	return r, nil
}

// ListGroups returns one page of the groups matching q.Filter: from q.StartIndex, or after q.Cursor for a
// cursor query (RFC 9865), both in (created, id) order.
func (s *Store) ListGroups(ctx context.Context, q scim.ListQuery, withMembers bool) (scim.Page, error) {
	where, args, err := s.groupFilterSQL(q.Filter)
	if err != nil {
		return scim.Page{}, err
	}
	order, err := orderBy(q, groupSorts, "g", "group")
	if err != nil {
		return scim.Page{}, err
	}
	var after keyset
	if q.ByCursor {
		if after, err = parseCursor(q.Cursor); err != nil {
			return scim.Page{}, err
		}
	}
	var rows []groupRow
	if q.Count > 0 {
		if q.ByCursor {
			c, a := after.condition("g")
			err = s.db.SelectContext(ctx, &rows, "SELECT "+groupColumns+" FROM "+s.groupTable()+" g WHERE ("+where+")"+c+
				" ORDER BY g.created, g.id LIMIT ?", append(append(slices.Clone(args), a...), q.Count+1)...)
		} else {
			err = s.db.SelectContext(ctx, &rows, "SELECT "+groupColumns+" FROM "+s.groupTable()+" g WHERE "+where+
				" ORDER BY "+order+" LIMIT ? OFFSET ?", append(slices.Clone(args), q.Count, q.StartIndex-1)...)
		}
		if err != nil {
			return scim.Page{}, s.classify(err)
		}
	}
	page := scim.Page{Total: after.total}
	if total, known := pageTotal(q, after, len(rows)); known { // the page read first, as ListUsers does
		page.Total = total
	} else if err := s.db.GetContext(ctx, &page.Total, "SELECT COUNT(*) FROM "+s.groupTable()+" g WHERE "+where, args...); err != nil {
		return page, s.classify(err)
	}
	if q.ByCursor && len(rows) > q.Count {
		rows = rows[:q.Count]
		page.NextCursor = keyset{rows[len(rows)-1].Created, rows[len(rows)-1].ID, page.Total}.cursor()
	}
	for _, g := range rows {
		r, err := s.groupResource(ctx, s.db, g, withMembers)
		if err != nil {
			return page, s.classify(err)
		}
		page.Resources = append(page.Resources, r)
	}
	return page, nil
}

// UpdateGroup runs fn on the group's attributes (without members) and applies mc to its members,
// all in one transaction with the group locked. fn returning an error changes nothing; fn may run more than once (a retried transaction).
func (s *Store) UpdateGroup(ctx context.Context, id string, fn func(cur scim.Resource) (scim.Resource, error),
	mc scim.MemberChange, withMembers bool) (scim.Resource, error) {
	var out scim.Resource
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		cur, err := s.readGroup(ctx, tx, id, false, true)
		if err != nil {
			return err
		}
		next, err := fn(copyResource(cur))
		if err != nil {
			return err
		}
		added, removed, err := s.changeMembers(ctx, tx, id, mc)
		if err != nil {
			return err
		}
		c := &change{}
		g := c.group(&groupChange{id: id, kind: groupTouched, before: cur, added: added, removed: removed})
		oldDoc, _ := groupDoc(cur)
		newDoc, err := s.newGroupDoc(next)
		if err != nil {
			return err
		}
		attrsChanged := renamed(cur, next) || !bytes.Equal(oldDoc, newDoc)
		if !attrsChanged && len(added) == 0 && len(removed) == 0 {
			if out, err = s.readGroup(ctx, tx, id, withMembers, false); err != nil {
				return err
			}
			return s.afterChange(ctx, tx, c)
		}
		name, _ := next["displayName"].(string)
		if _, err := tx.ExecContext(ctx, "UPDATE "+s.groupTable()+` SET display_name = ?, display_name_lc = ?,
			external_id = ?, doc = ?, version = version + 1, last_modified = ? WHERE id = ?`,
			name, strings.ToLower(name), externalID(next), newDoc, tx.Now, id); err != nil {
			return err
		}
		if out, err = s.readGroup(ctx, tx, id, withMembers, false); err != nil {
			return err
		}
		g.after = next
		if attrsChanged {
			c.event(groupSubject(id), Event{Type: EventGroupUpdated, Changed: changedAttributes(cur, withoutMembers(out)), Resource: withoutMembers(out)})
		}
		if renamed(cur, next) {
			// Rules match groups by name or externalId: a renamed group may grant its members other roles.
			var members []string
			if err := tx.SelectContext(ctx, &members, "SELECT user_id FROM "+s.memberTable()+" WHERE group_id = ?", id); err != nil {
				return err
			}
			c.rolesOf(members...)
		}
		c.memberEvents(id, added, removed, withoutMembers(out))
		c.rolesOf(added...)
		c.rolesOf(removed...)
		return s.afterChange(ctx, tx, c)
	})
	return out, err
}

// DeleteGroup deletes a group and its memberships; check (may be nil) sees it first (If-Match), and may be
// called more than once (a retried transaction).
func (s *Store) DeleteGroup(ctx context.Context, id string, check func(cur scim.Resource) error) error {
	return s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		cur, err := s.readGroup(ctx, tx, id, false, true)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur); err != nil {
				return err
			}
		}
		var members []string
		if err := tx.SelectContext(ctx, &members, "SELECT user_id FROM "+s.memberTable()+" WHERE group_id = ?", id); err != nil {
			return err
		}
		c := &change{}
		// removed: for the audit trail (the mirror deletes a deleted group's member rows with the group).
		g := c.group(&groupChange{id: id, kind: groupDeleted, before: cur, removed: members})
		if s.mirror != nil {
			key, ok, err := s.mirror.AppKey(ctx, tx, id)
			if err != nil {
				return err
			}
			if ok {
				g.appKey = key
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+s.groupTable()+" WHERE id = ?", id); err != nil {
			return err
		}
		// No cascade since migration 20: the group's member rows go in the same transaction.
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+tx.Tables.Members()+" WHERE group_id = ?", id); err != nil {
			return err
		}
		c.event(groupSubject(id), Event{Type: EventGroupDeleted, Resource: cur})
		c.rolesOf(members...)
		return s.afterChange(ctx, tx, c)
	})
}

// memberEvents records the members_added / members_removed events of a group change.
func (c *change) memberEvents(id string, added, removed []string, group scim.Resource) {
	if len(added) > 0 {
		c.event(groupSubject(id), Event{Type: EventGroupMembersAdded, Members: added, Resource: group})
	}
	if len(removed) > 0 {
		c.event(groupSubject(id), Event{Type: EventGroupMembersRemoved, Members: removed, Resource: group})
	}
}

// withoutMembers is a group resource without its members: what group events carry.
func withoutMembers(r scim.Resource) scim.Resource {
	out := make(scim.Resource, len(r))
	for k, v := range r {
		if k != "members" {
			out[k] = v
		}
	}
	return out
}

// newGroupDoc is groupDoc for a document about to be written: within the limits (Options.Limits).
func (s *Store) newGroupDoc(r scim.Resource) ([]byte, error) {
	b, err := groupDoc(r)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if err := s.limits.check(doc); err != nil {
		return nil, err
	}
	if len(b) > s.limits.MaxDocBytes {
		return nil, scim.BadRequest(scim.TypeInvalidValue, "the attributes scimbridge keeps for this group take %d bytes; at most %d are allowed",
			len(b), s.limits.MaxDocBytes)
	}
	return b, nil
}

// groupDoc is what the bookkeeping keeps of a group beyond its columns and members.
func groupDoc(r scim.Resource) ([]byte, error) {
	doc := map[string]any{}
	for k, v := range r {
		switch k {
		case "id", "meta", "schemas", "externalId", "displayName", "members":
		default:
			doc[k] = v
		}
	}
	return json.Marshal(doc)
}

func groupSubject(id string) string { return "group:" + id }
