package mysql_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

func groupMembers(t *testing.T, f *roleFixture, g string) []string {
	t.Helper()
	ids := []string{}
	if err := f.db.Select(&ids, "SELECT user_id FROM scim_group_members WHERE group_id = ? ORDER BY user_id", g); err != nil {
		t.Fatal(err)
	}
	return ids
}

func membersOf(ids []string) []scim.Member {
	out := make([]scim.Member, len(ids))
	for i, id := range ids {
		out[i] = scim.Member{Value: id}
	}
	return out
}

func keep(cur scim.Resource) (scim.Resource, error) { return cur, nil }

// Changes larger than one batch (1000) are applied exactly, and the events list exactly the ids that
// changed.
func TestGroupMembersLargeReplaceInBatches(t *testing.T) {
	f := newRoleFixture(t, appSchema, usersTOML, "")
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3100; i++ {
		id, _ := f.user(t, fmt.Sprintf("m%05d", i))
		ids = append(ids, id)
	}
	g := f.group(t, "Big", ids[:2500]...)
	if got := groupMembers(t, f, g); len(got) != 2500 {
		t.Fatalf("created with %d members", len(got))
	}
	var seq int64
	_ = f.db.Get(&seq, "SELECT MAX(seq) FROM scim_outbox")
	// Replace with [1500, 3100): 1500 removed, 600 added, 1000 kept.
	out, err := f.store.UpdateGroup(ctx, g, keep, scim.MemberChange{Replace: true, Add: membersOf(ids[1500:])}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{}, ids[1500:]...)
	sort.Strings(want)
	if got := groupMembers(t, f, g); !reflect.DeepEqual(got, want) {
		t.Errorf("after replace: %d members, want %d", len(got), len(want))
	}
	if list, _ := out["members"].([]any); len(list) != 1600 {
		t.Errorf("returned %d members", len(list))
	}
	var rows []struct {
		Type    string `db:"type"`
		Payload []byte `db:"payload"`
	}
	if err := f.db.Select(&rows, "SELECT type, payload FROM scim_outbox WHERE seq > ? ORDER BY seq", seq); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		var p struct{ Members []string }
		_ = json.Unmarshal(r.Payload, &p)
		got[r.Type] += len(p.Members)
	}
	if got["group.members_added"] != 600 || got["group.members_removed"] != 1500 || len(rows) != 2 {
		t.Errorf("events: %v (%d rows)", got, len(rows))
	}
	// Remove 1200 by id, in one change.
	if _, err := f.store.UpdateGroup(ctx, g, keep, scim.MemberChange{Remove: ids[1500:2700]}, false); err != nil {
		t.Fatal(err)
	}
	if got := groupMembers(t, f, g); len(got) != 400 {
		t.Errorf("after remove: %d members, want 400", len(got))
	}
}

// fn failing, or DeleteGroup's check failing, changes nothing.
func TestGroupUpdateAndDeleteRefusedChangeNothing(t *testing.T) {
	f := newRoleFixture(t, appSchema, usersTOML, "")
	ctx := context.Background()
	a, _ := f.user(t, "a")
	b, _ := f.user(t, "b")
	g := f.group(t, "G", a)
	boom := errors.New("refused")
	_, err := f.store.UpdateGroup(ctx, g, func(cur scim.Resource) (scim.Resource, error) { return nil, boom },
		scim.MemberChange{Add: []scim.Member{{Value: b}}}, false)
	if err == nil {
		t.Error("UpdateGroup ignored fn's error")
	}
	if got := groupMembers(t, f, g); !reflect.DeepEqual(got, []string{a}) {
		t.Errorf("members after refused update: %v", got)
	}
	if err := f.store.DeleteGroup(ctx, g, func(scim.Resource) error { return boom }); err == nil {
		t.Error("DeleteGroup ignored its check")
	}
	if _, err := f.store.GetGroup(ctx, g, true); err != nil {
		t.Errorf("group gone after a refused delete: %v", err)
	}
	if err := f.store.DeleteGroup(ctx, "nope", nil); scim.AsError(err).Status != 404 {
		t.Errorf("delete unknown: %v", err)
	}
	if _, err := f.store.UpdateGroup(ctx, "nope", keep, scim.MemberChange{}, false); scim.AsError(err).Status != 404 {
		t.Errorf("update unknown: %v", err)
	}
}

func TestListGroupsFilters(t *testing.T) {
	f := newRoleFixture(t, appSchema, usersTOML, "")
	ctx := context.Background()
	a, _ := f.user(t, "a")
	empty := f.group(t, "Équipe Vide")
	full := f.group(t, "Équipe Pleine", a)
	list := func(filter string) []string {
		t.Helper()
		q := scim.ListQuery{StartIndex: 1, Count: 100}
		if filter != "" {
			e, err := scim.ParseFilter(filter)
			if err != nil {
				t.Fatal(err)
			}
			q.Filter = e
		}
		p, err := f.store.ListGroups(ctx, q, false)
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		var ids []string
		for _, r := range p.Resources {
			if _, has := r["members"]; has {
				t.Errorf("withMembers false returned members")
			}
			ids = append(ids, r["id"].(string))
		}
		sort.Strings(ids)
		return ids
	}
	both := []string{empty, full}
	sort.Strings(both)
	cases := map[string][]string{
		`members pr`:                                  {full},
		`not (members pr)`:                            {empty},
		`displayName eq "ÉQUIPE VIDE"`:                {empty},
		`displayName co "pleine"`:                     {full},
		`displayName sw "équipe"`:                     both,
		`displayName ew "VIDE"`:                       {empty},
		`members[value eq "` + a + `"]`:               {full},
		`not (members[value eq "` + a + `"])`:         {empty},
		`meta.created gt "2000-01-01T00:00:00Z"`:      both,
		`meta.lastModified lt "2000-01-01T00:00:00Z"`: nil,
		`externalId pr`:                               nil,
	}
	for filter, want := range cases {
		if got := list(filter); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", filter, got, want)
		}
	}
	for _, bad := range []string{`members[display eq "x"]`, `members[value eq "a" or value eq "b"]`, `displayName.foo eq "x"`, `emails eq "x"`} {
		e, err := scim.ParseFilter(bad)
		if err != nil {
			continue
		}
		if _, err := f.store.ListGroups(ctx, scim.ListQuery{StartIndex: 1, Count: 10, Filter: e}, false); scim.AsError(err).Status != 400 {
			t.Errorf("%s: %v, want 400", bad, err)
		}
	}
}

// Deleting a user and then its group in parallel with membership changes does not deadlock for good
// (inTx retries) and leaves consistent rows.
func TestGroupMembershipChurnIsConsistent(t *testing.T) {
	f := newRoleFixture(t, appSchema, usersTOML, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var users []string
	for i := 0; i < 20; i++ {
		id, _ := f.user(t, fmt.Sprintf("c%02d", i))
		users = append(users, id)
	}
	groups := []string{f.group(t, "C1", users...), f.group(t, "C2", users...), f.group(t, "C3")}
	errs := make(chan error, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10; i++ {
			if err := f.store.DeleteUser(ctx, users[i], nil); err != nil {
				errs <- fmt.Errorf("delete %d: %w", i, err)
			}
		}
	}()
	for round := 0; round < 5; round++ {
		for _, g := range groups {
			if _, err := f.store.UpdateGroup(ctx, g, keep, scim.MemberChange{Remove: users[10+round : 12+round]}, false); err != nil {
				errs <- err
			}
		}
	}
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var orphans int
	_ = f.db.Get(&orphans, "SELECT COUNT(*) FROM scim_group_members gm JOIN scim_users u ON u.id = gm.user_id WHERE u.deleted_at IS NOT NULL")
	if orphans != 0 {
		t.Errorf("%d memberships of deleted users", orphans)
	}
}
