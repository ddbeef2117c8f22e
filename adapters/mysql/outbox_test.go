package mysql_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

type outboxRow struct {
	Type    string `db:"type"`
	Subject string `db:"subject"`
	Payload []byte `db:"payload"`
}

func outbox(t *testing.T, f *fixture) []outboxRow {
	t.Helper()
	var rows []outboxRow
	if err := f.db.Select(&rows, "SELECT type, subject, payload FROM scim_outbox ORDER BY seq"); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestEveryChangeWritesItsEventInTheSameTransaction(t *testing.T) {
	f := newFixture(t, usersTOML)
	ctx := context.Background()
	set := func(k string, v any) func(scim.Resource) (scim.Resource, error) {
		return func(cur scim.Resource) (scim.Resource, error) { cur[k] = v; return cur, nil }
	}
	r, err := f.store.CreateUser(ctx, resource(t, `{"userName":"eve@example.com","name":{"givenName":"Eve"}}`))
	if err != nil {
		t.Fatal(err)
	}
	id := r["id"].(string)
	steps := []func(scim.Resource) (scim.Resource, error){
		set("title", "Engineer"),
		set("active", false),
		set("active", true),
		set("title", "Engineer"), // no change: no event
	}
	for _, step := range steps {
		if _, err := f.store.UpdateUser(ctx, id, step); err != nil {
			t.Fatal(err)
		}
	}
	// A change that fails half-way is rolled back, and so is its event.
	boom := errors.New("refused")
	if _, err := f.store.UpdateUser(ctx, id, func(cur scim.Resource) (scim.Resource, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("want the refusal back, got %v", err)
	}
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"EVE@example.com"}`)); scim.AsError(err).Status != 409 {
		t.Fatalf("duplicate: %v", err)
	}
	if err := f.store.DeleteUser(ctx, id, nil); err != nil {
		t.Fatal(err)
	}

	rows := outbox(t, f)
	var types []string
	for _, row := range rows {
		types = append(types, row.Type)
		if row.Subject != "user:"+id {
			t.Errorf("subject %q, want user:%s", row.Subject, id)
		}
	}
	want := []string{"user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted"}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	var updated struct {
		ID       string        `json:"id"`
		AppKey   json.Number   `json:"app_user_key"`
		Changed  []string      `json:"changed"`
		Resource scim.Resource `json:"resource"`
	}
	if err := json.Unmarshal(rows[1].Payload, &updated); err != nil {
		t.Fatal(err)
	}
	if updated.ID == "" || updated.AppKey == "" || !reflect.DeepEqual(updated.Changed, []string{"title"}) ||
		updated.Resource["title"] != "Engineer" {
		t.Errorf("user.updated payload: %s", rows[1].Payload)
	}
}
