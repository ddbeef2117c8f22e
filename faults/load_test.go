package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// api is a SCIM client of one replica.
type api struct {
	url    string
	client *http.Client
}

func newAPI(url string) *api {
	return &api{url: url, client: &http.Client{Timeout: 15 * time.Second}}
}

// do sends a request; status 0 means no answer (transport error).
func (a *api) do(ctx context.Context, method, path string, body any, header ...string) (int, http.Header, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return 0, nil, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, got
}

func userBody(userName, display string) map[string]any {
	return map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName,
		"displayName": display, "active": true, "name": map[string]any{"givenName": "Ann", "familyName": "Lee"}}
}

func patchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// userLedger is what the clients know of one user: the writes acknowledged and those without a clear
// answer (no answer, or a 5xx: they may or may not have committed).
type userLedger struct {
	id, userName string
	acked        int
	ambiguous    int
}

// mixedLoad is the 8-client load: POST/PUT/PATCH/DELETE of each client's own users and member adds and
// removes on shared groups, spread over the replicas (a dead replica's requests fail and count as ambiguous).
type mixedLoad struct {
	apis   []*api
	groups []string

	mu            sync.Mutex
	users         []*userLedger // every user a client created or may have created
	statuses      map[int]int
	retryAfter503 int // 503 answers carrying Retry-After
	writes        atomic.Int64
}

func (l *mixedLoad) note(status int, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[status]++
	if status == http.StatusServiceUnavailable && h.Get("Retry-After") != "" {
		l.retryAfter503++
	}
}

func (l *mixedLoad) run(ctx context.Context, clients int) {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() { l.client(ctx, c) })
	}
	wg.Wait()
}

func ok2xx(status int) bool     { return status >= 200 && status < 300 }
func ambiguous(status int) bool { return status == 0 || status >= 500 }

func (l *mixedLoad) client(ctx context.Context, c int) {
	rnd := rand.New(rand.NewPCG(uint64(c), 7))
	var mine []*userLedger
	n := 0
	for ctx.Err() == nil {
		a := l.apis[rnd.IntN(len(l.apis))]
		r := rnd.IntN(100)
		n++
		if len(mine) < 4 || r < 20 {
			u := &userLedger{userName: fmt.Sprintf("fault-%d-%d@example.com", c, n)}
			status, h, got := a.do(ctx, http.MethodPost, "/Users", userBody(u.userName, "created"))
			if ctx.Err() != nil {
				return
			}
			l.note(status, h)
			var res struct{ ID string }
			switch {
			case status == http.StatusCreated && json.Unmarshal(got, &res) == nil:
				u.id, u.acked = res.ID, 1
				mine = append(mine, u)
			case ambiguous(status):
				u.ambiguous = 1 // found by userName afterwards, if it committed
			}
			l.mu.Lock()
			l.users = append(l.users, u)
			l.mu.Unlock()
			continue
		}
		i := rnd.IntN(len(mine))
		u := mine[i]
		var status int
		var h http.Header
		userWrite := true
		switch {
		case r < 40:
			status, h, _ = a.do(ctx, http.MethodPut, "/Users/"+u.id, userBody(u.userName, fmt.Sprintf("put %d", n)))
		case r < 60:
			status, h, _ = a.do(ctx, http.MethodPatch, "/Users/"+u.id, patchBody(map[string]any{"op": "replace", "path": "displayName", "value": fmt.Sprintf("patch %d", n)}))
		case r < 68:
			status, h, _ = a.do(ctx, http.MethodDelete, "/Users/"+u.id, nil)
			if ok2xx(status) || ambiguous(status) {
				mine = append(mine[:i], mine[i+1:]...) // not written again: its state is known or unknowable
			}
		case r < 88:
			userWrite = false
			g := l.groups[rnd.IntN(len(l.groups))]
			status, h, _ = a.do(ctx, http.MethodPatch, "/Groups/"+g, patchBody(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u.id}}}))
		default:
			userWrite = false
			g := l.groups[rnd.IntN(len(l.groups))]
			status, h, _ = a.do(ctx, http.MethodPatch, "/Groups/"+g, patchBody(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", u.id)}))
		}
		if ctx.Err() != nil {
			// Cut off by the end of the load: the answer is unknown.
			if userWrite {
				u.ambiguous++
			}
			return
		}
		l.note(status, h)
		l.writes.Add(1)
		if userWrite {
			switch {
			case ok2xx(status):
				u.acked++
			case ambiguous(status):
				u.ambiguous++
			}
		}
	}
}
