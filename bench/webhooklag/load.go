package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/scimbridge/scimbridge/bench/internal/loopback"
	"github.com/scimbridge/scimbridge/scim"
)

// load is the mixed write load: each client creates users of its own and then, at random, replaces,
// patches, deletes them and adds them to and removes them from the shared groups.
type load struct {
	api     *loopback.Server
	groups  []string
	writes  atomic.Int64 // writes answered 2xx
	refused atomic.Int64 // writes answered otherwise (a 409 on a group raced by another client, ...)
	errs    atomic.Int64 // transport errors
}

func user(name string, active bool, title string) []byte {
	b, _ := json.Marshal(scim.Resource{
		"schemas": []any{scim.UserSchema}, "userName": name, "active": active, "title": title,
		"name":   map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
	})
	return b
}

func patch(ops ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops})
	return b
}

func (l *load) makeGroups(ctx context.Context, n int) error {
	for i := range n {
		body, _ := json.Marshal(map[string]any{"schemas": []any{scim.GroupSchema}, "displayName": fmt.Sprintf("lag-group-%d", i)})
		var g struct{ ID string }
		if err := l.api.Call(ctx, http.MethodPost, "/Groups", body, http.StatusCreated, &g); err != nil {
			return err
		}
		l.groups = append(l.groups, g.ID)
	}
	return nil
}

// run writes from clients goroutines until ctx ends.
func (l *load) run(ctx context.Context, clients int) {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() { l.client(ctx, c) })
	}
	wg.Wait()
}

func (l *load) client(ctx context.Context, c int) {
	rnd := rand.New(rand.NewPCG(uint64(c), 42))
	var mine []string // ids of this client's live users
	n := 0
	do := func(method, path string, body []byte) (int, []byte) {
		status, got, err := l.api.Do(ctx, method, path, body)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				l.errs.Add(1)
			}
		case status >= 200 && status < 300:
			l.writes.Add(1)
		default:
			l.refused.Add(1)
		}
		return status, got
	}
	for ctx.Err() == nil {
		r := rnd.IntN(100)
		if len(mine) < 5 || r < 25 {
			n++
			status, got := do(http.MethodPost, "/Users", user(fmt.Sprintf("lag-%d-%d@bench.example.com", c, n), true, "Engineer"))
			var u struct{ ID string }
			if status == http.StatusCreated && json.Unmarshal(got, &u) == nil {
				mine = append(mine, u.ID)
			}
			continue
		}
		i := rnd.IntN(len(mine))
		id := mine[i]
		switch {
		case r < 40:
			do(http.MethodPut, "/Users/"+id, user(fmt.Sprintf("lag-%d-%s@bench.example.com", c, id[:8]), true, fmt.Sprintf("Title %d", rnd.IntN(1000))))
		case r < 60:
			do(http.MethodPatch, "/Users/"+id, patch(map[string]any{"op": "replace", "path": "active", "value": rnd.IntN(2) == 0}))
		case r < 70:
			if status, _ := do(http.MethodDelete, "/Users/"+id, nil); status == http.StatusNoContent {
				mine = append(mine[:i], mine[i+1:]...)
			}
		case r < 88:
			g := l.groups[rnd.IntN(len(l.groups))]
			do(http.MethodPatch, "/Groups/"+g, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}))
		default:
			g := l.groups[rnd.IntN(len(l.groups))]
			do(http.MethodPatch, "/Groups/"+g, patch(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)}))
		}
	}
}
