package mysql

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
)

// Event types written to the outbox.
const (
	EventUserCreated     = "user.created"
	EventUserUpdated     = "user.updated"
	EventUserDeactivated = "user.deactivated"
	EventUserReactivated = "user.reactivated"
	EventUserDeleted     = "user.deleted"
)

// Event is the payload of one outbox row, as webhooks deliver it.
type Event struct {
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Time     time.Time     `json:"time"`
	Actor    string        `json:"actor"`                  // name of the token whose request made the change; "" for scimbridge itself
	Request  string        `json:"request_id,omitempty"`   // that request's id
	AppKey   any           `json:"app_user_key,omitempty"` // the app's own key for the user's row
	Changed  []string      `json:"changed,omitempty"`      // *.updated: the attributes that changed
	Members  []string      `json:"members,omitempty"`      // group.members_*: the user ids added or removed
	Roles    *RoleChange   `json:"roles,omitempty"`        // user.roles_changed: before and after
	Resource scim.Resource `json:"resource"`               // the SCIM resource after the change
}

// subjectEvent is an event and the subject ("user:<id>") whose order it belongs to.
type subjectEvent struct {
	subject string
	ev      Event
}

// emitAll writes events in tx, the transaction of the change they describe (a rolled-back change leaves
// no event, a committed one always has it), with multi-row INSERTs; their seqs follow the order given.
func (s *Store) emitAll(ctx context.Context, tx *bookkeeping.Tx, evs []subjectEvent) error {
	const batch = 500
	info := reqinfo.From(ctx)
	for start := 0; start < len(evs); start += batch {
		part := evs[start:min(start+batch, len(evs))]
		args := make([]any, 0, 5*len(part))
		for _, se := range part {
			ev := se.ev
			if ev.ID == "" {
				ev.ID = s.newID()
			}
			ev.Time, ev.Actor, ev.Request = tx.Now, info.Actor, info.ID
			payload, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			args = append(args, ev.ID, ev.Type, se.subject, ev.Time, payload)
		}
		if err := tx.Later(ctx, "INSERT INTO "+quoteIdent(s.prefix+"outbox")+
			" (event_id, type, subject, occurred_at, payload) VALUES "+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(part)), ", "), args...); err != nil {
			return err
		}
	}
	return nil
}

// userUpdateEvents are the events of an update from old to new: user.updated naming the attributes
// that changed (other than active), then user.deactivated or user.reactivated when active changed.
func userUpdateEvents(appKey any, old, new scim.Resource) []Event {
	var out []Event
	if changed := changedAttributes(old, new); len(changed) > 0 {
		out = append(out, Event{Type: EventUserUpdated, AppKey: appKey, Changed: changed, Resource: new})
	}
	switch wasActive, isActiveNow := isActive(old), isActive(new); {
	case wasActive && !isActiveNow:
		out = append(out, Event{Type: EventUserDeactivated, AppKey: appKey, Resource: new})
	case !wasActive && isActiveNow:
		out = append(out, Event{Type: EventUserReactivated, AppKey: appKey, Resource: new})
	}
	return out
}

// changedAttributes lists the attribute paths whose values differ, extension attributes by full name.
func changedAttributes(old, new scim.Resource) []string {
	// Memberships have events of their own (group.members_*), so "groups" is not an attribute change.
	skip := map[string]bool{"id": true, "meta": true, "schemas": true, "active": true, "groups": true}
	var out []string
	for _, k := range unionKeys(old, new) {
		if skip[k] || reflect.DeepEqual(old[k], new[k]) {
			continue
		}
		oe, oIsExt := old[k].(map[string]any)
		ne, nIsExt := new[k].(map[string]any)
		if len(k) > 4 && k[:4] == "urn:" && (oIsExt || nIsExt) {
			for _, sub := range unionKeys(oe, ne) {
				if !reflect.DeepEqual(oe[sub], ne[sub]) {
					out = append(out, k+":"+sub)
				}
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

func userSubject(id string) string { return "user:" + id }
