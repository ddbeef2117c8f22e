package mysql_test

import (
	"context"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/scimbridge/scimbridge/scim"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// SCIM ids and event ids are UUIDv7 from the store's clock: they sort as they were made (so they land at
// the end of the indexes they lead) and carry the creation time in milliseconds. App keys of kind "uuid"
// stay random (TestReservedWordsUUIDKeyAndDeactivationTimestamp).
func TestIDsAreTimeOrderedUUIDs(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	var ids []string
	for i, name := range []string{"c@example.com", "a@example.com", "b@example.com"} {
		*f.clock = f.clock.Add(time.Duration(i+1) * time.Millisecond)
		u, err := f.store.CreateUser(ctx, scim.Resource{"userName": name})
		if err != nil {
			t.Fatal(err)
		}
		id := u["id"].(string)
		if !uuidV7.MatchString(id) {
			t.Fatalf("id %q is not a UUIDv7", id)
		}
		sec, nsec := uuid.MustParse(id).Time().UnixTime()
		if got := time.Unix(sec, nsec).UTC(); !got.Equal(f.clock.Truncate(time.Millisecond)) {
			t.Errorf("id %s carries %s, want the clock's %s", id, got, *f.clock)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids %v do not sort in the order they were made", ids)
	}
	var events []string
	if err := f.db.Select(&events, "SELECT event_id FROM scim_outbox ORDER BY seq"); err != nil || len(events) == 0 {
		t.Fatalf("events %v, %v", events, err)
	}
	for _, e := range events {
		if !uuidV7.MatchString(e) {
			t.Errorf("event id %q is not a UUIDv7", e)
		}
	}
}
