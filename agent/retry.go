package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/scim"
)

// unanswered remembers the userNames of creates this process could not answer with their outcome: the
// store failed with 503 (the database or the connection died, possibly after the commit), so the IdP
// was told "try again" about a write that may have happened. Only these are retried as creates: a POST
// that repeats a create answered 201 is a duplicate and gets 409 (Microsoft's SCIM validator checks
// exactly that).
type unanswered struct {
	mu    sync.Mutex
	since map[string]time.Time // scim.FoldIdentity(userName) -> when the 503 was answered
}

// maxUnanswered bounds the memory a database outage under heavy create load can take.
const maxUnanswered = 10000

func (u *unanswered) add(userName string, now time.Time, window time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.since == nil {
		u.since = map[string]time.Time{}
	}
	for k, at := range u.since {
		if now.Sub(at) > window {
			delete(u.since, k)
		}
	}
	if len(u.since) < maxUnanswered {
		u.since[scim.FoldIdentity(userName)] = now
	}
}

func (u *unanswered) has(userName string, now time.Time, window time.Duration) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.since[scim.FoldIdentity(userName)]
	return ok && now.Sub(at) <= window
}

// noteUnanswered records a create that failed with 503: its retry may find it committed.
func (s *Server) noteUnanswered(in scim.Resource, err error) {
	if s.cfg.RetryWindow < 0 || scim.AsError(err).Status != http.StatusServiceUnavailable {
		return
	}
	name, _ := in["userName"].(string)
	s.unanswered.add(name, s.cfg.Now(), s.cfg.RetryWindow)
}

// createdBefore reports whether a POST /Users that failed with conflict is the retry of a create that
// committed but whose answer was lost: this process answered a create of that userName with 503 at
// most RetryWindow ago (unanswered), the user holding the userName was created in that window, and it
// has exactly the attributes the request gives. Then the retry is answered as the create it repeats,
// with that user and its id, instead of 409. Anything that differs (another externalId, another title,
// an older user, a create that was answered) keeps the 409: that is another create, not a retry.
//
// The password is not compared: it is never read back. Nothing is written, so no second event is sent.
func (s *Server) createdBefore(ctx context.Context, in scim.Resource, err error) (scim.Resource, bool) {
	if s.cfg.RetryWindow < 0 || scim.AsError(err).Status != http.StatusConflict {
		return nil, false
	}
	name, _ := in["userName"].(string)
	if !s.unanswered.has(name, s.cfg.Now(), s.cfg.RetryWindow) {
		return nil, false
	}
	page, lerr := s.cfg.Users.ListUsers(ctx, scim.ListQuery{StartIndex: 1, Count: 2,
		Filter: &scim.CompareExpr{Attr: scim.AttrPath{Name: "userName"}, Op: scim.OpEq, Value: name}})
	if lerr != nil || len(page.Resources) != 1 {
		return nil, false
	}
	cur := page.Resources[0]
	meta, _ := cur["meta"].(map[string]any)
	created, perr := time.Parse(time.RFC3339Nano, stringOf(meta["created"]))
	if age := s.cfg.Now().Sub(created); perr != nil || age < -time.Second || age > s.cfg.RetryWindow {
		return nil, false
	}
	a, aerr := s.createForm(in)
	b, berr := s.createForm(cur)
	if aerr != nil || berr != nil || !bytes.Equal(a, b) {
		return nil, false
	}
	return cur, true
}

// createForm is the canonical JSON of what a create of r would ask for: the client-settable
// attributes, normalized, lists in a fixed order, active true when not given.
func (s *Server) createForm(r scim.Resource) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	norm, err := s.cfg.UserType.Normalize(raw) // drops id, meta, groups and the other readOnly attributes
	if err != nil {
		return nil, err
	}
	delete(norm, "password")
	if v, ok := norm["roles"]; ok && len(s.cfg.Roles) > 0 {
		// The app's roles: what was assigned compares, not how (Entra's JSON, letter case, the
		// provenance GET adds, the roles groups grant).
		values, err := scim.DirectRoles(v)
		if err != nil {
			return nil, err
		}
		roles := make([]any, 0, len(values))
		for _, r := range values {
			roles = append(roles, strings.ToLower(r))
		}
		if delete(norm, "roles"); len(roles) > 0 {
			norm["roles"] = roles
		}
	}
	if _, given := norm["active"]; !given {
		norm["active"] = true
	}
	return json.Marshal(sortLists(norm))
}

// sortLists orders every list by its elements' JSON, so emails in another order compare equal.
func sortLists(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = sortLists(e)
		}
	case []any:
		keys := make([]string, len(v))
		for i, e := range v {
			v[i] = sortLists(e)
			b, _ := json.Marshal(v[i])
			keys[i] = string(b)
		}
		sort.Sort(byKey{v, keys})
	}
	return v
}

type byKey struct {
	v    []any
	keys []string
}

func (b byKey) Len() int           { return len(b.v) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.v[i], b.v[j] = b.v[j], b.v[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}
