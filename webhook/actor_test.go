package webhook

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/scimbridge/scimbridge/internal/reqinfo"
)

// A delivered event names the token (actor) and request that made the change, in a body the Standard
// Webhooks library verifies; a change no request made has actor "".
func TestDeliveredEventsCarryTheActor(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t)
	f.run(f.options(f.endpoint("app", r)))
	ctx := reqinfo.With(context.Background(), reqinfo.Info{ID: "req-77", Actor: "okta"})
	if _, err := f.store.CreateUser(ctx, resource(t, `{"userName":"ann@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	f.create("bob@example.com") // no request behind it
	eventually(t, "both events delivered", func() bool { return len(r.acked()) == 2 })
	got := map[string][2]string{}
	for _, g := range r.acked() {
		var body struct {
			Actor     *string `json:"actor"`
			RequestID string  `json:"request_id"`
			Resource  struct {
				UserName string `json:"userName"`
			} `json:"resource"`
		}
		if err := json.Unmarshal(g.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Actor == nil {
			t.Fatalf("no actor in %s", g.Body)
		}
		got[body.Resource.UserName] = [2]string{*body.Actor, body.RequestID}
	}
	if got["ann@example.com"] != [2]string{"okta", "req-77"} || got["bob@example.com"] != [2]string{"", ""} {
		t.Fatalf("actors: %v", got)
	}
}
