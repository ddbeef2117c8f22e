package invariants

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is a mix of concurrent SCIM writes through several replicas, as IdPs send them: users created,
// renamed, added to and taken out of shared groups, deleted. Each worker owns its users, so that the
// state the writes must leave is known (Expected); the shared groups make writes of different workers
// meet on the same rows. A 503 is retried, as Okta and Entra do, after Retry-After (capped by RetryCap),
// and so is a write whose replica or database could not be reached, through the next replica.
type Load struct {
	Targets  []string // SCIM base URLs (http://host:port/scim/v2), one per replica; workers go round them
	Token    string
	Writes   int      // writes in all
	Workers  int      // concurrent writers [8]
	Groups   []string // displayNames of the shared groups, created first ["Admins", "Support", "Team"]
	Names    string   // prefix of the userNames, so that two loads on one database do not collide [""]
	RetryCap time.Duration
	Client   *http.Client
	// Step, if set, is called after each write the load makes (n counts them from 1): the cluster test
	// kills a node at the half.
	Step func(n int)
}

// Outcome is what the load saw.
type Outcome struct {
	Statuses   map[int]int // every answer by status, retried ones included
	Retried    int         // writes sent again after a 503 or an unreachable replica
	Unanswered int         // attempts that got no HTTP answer (connection refused or reset)
	Problems   []string    // answers that break the contract: a 503 without Retry-After, a non-SCIM error body, a write never applied
	Took       time.Duration
	Writes     int
	Expected   Expected
}

// Expected is the state the load's writes must leave: per live user its displayName and groups.
type Expected struct {
	Users   map[string]ExpectedUser // by SCIM id
	Deleted []string                // SCIM ids
	Groups  map[string]string       // displayName -> SCIM id
}

// ExpectedUser is one live user's expected state.
type ExpectedUser struct {
	UserName, DisplayName string
	Groups                []string // displayNames, sorted
}

type loadRun struct {
	l        *Load
	mu       sync.Mutex
	out      *Outcome
	n        atomic.Int64
	next     atomic.Int64
	problems []string
}

// Run makes the writes and returns what it saw; the error is for a load that could not go on (a write
// still failing after every retry).
func (l *Load) Run(ctx context.Context) (*Outcome, error) {
	if l.Workers <= 0 {
		l.Workers = 8
	}
	if len(l.Groups) == 0 {
		l.Groups = []string{"Admins", "Support", "Team"}
	}
	if l.RetryCap <= 0 {
		l.RetryCap = 200 * time.Millisecond
	}
	if l.Client == nil {
		l.Client = &http.Client{Timeout: 30 * time.Second}
	}
	r := &loadRun{l: l, out: &Outcome{Statuses: map[int]int{}, Expected: Expected{Users: map[string]ExpectedUser{}, Groups: map[string]string{}}}}
	start := time.Now()
	for _, g := range l.Groups {
		id, err := r.create(ctx, "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": g}, "")
		if err != nil {
			return r.out, fmt.Errorf("group %s: %w", g, err)
		}
		r.out.Expected.Groups[g] = id
	}
	var wg sync.WaitGroup
	errs := make(chan error, l.Workers)
	for w := range l.Workers {
		wg.Go(func() {
			if err := r.worker(ctx, w); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	r.out.Took = time.Since(start)
	r.out.Writes = int(r.n.Load())
	r.out.Problems = r.problems
	return r.out, <-errs
}

// worker writes its own users until the load has made its writes.
func (r *loadRun) worker(ctx context.Context, w int) error {
	groups := r.l.Groups
	for k := 0; r.n.Load() < int64(r.l.Writes); k++ {
		name := fmt.Sprintf("%sw%d-u%d@example.com", r.l.Names, w, k)
		id, err := r.create(ctx, "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": name, "name": map[string]string{"givenName": "W", "familyName": fmt.Sprint(k)}, "active": true}, name)
		if err != nil {
			return err
		}
		u := ExpectedUser{UserName: name, DisplayName: "W " + fmt.Sprint(k)}
		steps := []func() error{
			func() error {
				u.DisplayName = fmt.Sprintf("Renamed %d-%d", w, k)
				return r.patch(ctx, "/Users/"+id, map[string]any{"op": "replace", "path": "displayName", "value": u.DisplayName})
			},
			func() error { return r.join(ctx, &u, id, groups[(w+k)%len(groups)]) },
			func() error { return r.join(ctx, &u, id, groups[(w+k+1)%len(groups)]) },
		}
		if k%3 == 0 {
			steps = append(steps, func() error { return r.leave(ctx, &u, id, groups[(w+k)%len(groups)]) })
		}
		deleted := k%5 == 4
		if deleted {
			steps = append(steps, func() error {
				return r.write(ctx, http.MethodDelete, "/Users/"+id, nil, http.StatusNoContent, http.StatusNotFound)
			})
		}
		for _, step := range steps {
			if r.n.Load() >= int64(r.l.Writes) && !deleted {
				break
			}
			if err := step(); err != nil {
				return err
			}
		}
		slices.Sort(u.Groups)
		r.mu.Lock()
		if deleted {
			r.out.Expected.Deleted = append(r.out.Expected.Deleted, id)
		} else {
			r.out.Expected.Users[id] = u
		}
		r.mu.Unlock()
	}
	return nil
}

func (r *loadRun) join(ctx context.Context, u *ExpectedUser, id, group string) error {
	if slices.Contains(u.Groups, group) {
		return nil
	}
	if err := r.patch(ctx, "/Groups/"+r.groupID(group), map[string]any{"op": "add", "path": "members", "value": []map[string]string{{"value": id}}}); err != nil {
		return err
	}
	u.Groups = append(u.Groups, group)
	return nil
}

func (r *loadRun) leave(ctx context.Context, u *ExpectedUser, id, group string) error {
	if !slices.Contains(u.Groups, group) {
		return nil
	}
	if err := r.patch(ctx, "/Groups/"+r.groupID(group), map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`}); err != nil {
		return err
	}
	u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == group })
	return nil
}

func (r *loadRun) groupID(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Expected.Groups[name]
}

func (r *loadRun) patch(ctx context.Context, path string, op map[string]any) error {
	return r.write(ctx, http.MethodPatch, path, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{op}}, http.StatusOK, http.StatusNoContent)
}

// create POSTs body and returns the new resource's id. A create retried after a 503 or a lost answer
// may find its first attempt committed (409 for a user): the user is then looked up by userName.
func (r *loadRun) create(ctx context.Context, path string, body map[string]any, userName string) (string, error) {
	var id string
	err := r.send(ctx, http.MethodPost, path, body, func(status int, resp []byte, retried bool) bool {
		if status == http.StatusCreated {
			var res struct{ ID string }
			_ = json.Unmarshal(resp, &res)
			id = res.ID
			return id != ""
		}
		if status == http.StatusConflict && retried && userName != "" {
			id = r.lookup(ctx, userName)
			return id != ""
		}
		return false
	})
	return id, err
}

func (r *loadRun) lookup(ctx context.Context, userName string) string {
	var id string
	_ = r.send(ctx, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil, func(status int, resp []byte, _ bool) bool {
		var page struct{ Resources []struct{ ID string } }
		if status == http.StatusOK && json.Unmarshal(resp, &page) == nil && len(page.Resources) == 1 {
			id = page.Resources[0].ID
		}
		return true
	})
	return id
}

// write sends a write that is done on one of the statuses ok.
func (r *loadRun) write(ctx context.Context, method, path string, body any, ok ...int) error {
	return r.send(ctx, method, path, body, func(status int, _ []byte, _ bool) bool { return slices.Contains(ok, status) })
}

// send sends one request until done accepts an answer, retrying 503s and requests no replica answered.
func (r *loadRun) send(ctx context.Context, method, path string, body any, done func(status int, resp []byte, retried bool) bool) error {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	if method != http.MethodGet {
		if n := r.n.Add(1); r.l.Step != nil {
			r.l.Step(int(n))
		}
	}
	retried := false
	for attempt := 0; attempt < 100; attempt++ {
		target := r.l.Targets[int(r.next.Add(1))%len(r.l.Targets)]
		req, err := http.NewRequestWithContext(ctx, method, target+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+r.l.Token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := r.l.Client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.count(0, &r.out.Unanswered)
			retried = true
			time.Sleep(r.l.RetryCap / 4)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.count(resp.StatusCode, nil)
		if resp.StatusCode >= 400 && !strings.Contains(string(b), "urn:ietf:params:scim:api:messages:2.0:Error") {
			r.problem("%s %s: %d without a SCIM error body: %.200s", method, path, resp.StatusCode, b)
		}
		if done(resp.StatusCode, b, retried) {
			return nil
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			r.problem("%s %s: %d %.300s", method, path, resp.StatusCode, b)
			return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, b)
		}
		if resp.Header.Get("Retry-After") == "" {
			r.problem("%s %s: 503 without Retry-After", method, path)
		}
		r.count(-1, &r.out.Retried)
		retried = true
		time.Sleep(r.l.RetryCap)
	}
	r.problem("%s %s: still not applied after 100 attempts", method, path)
	return fmt.Errorf("%s %s: not applied after 100 attempts", method, path)
}

func (r *loadRun) count(status int, counter *int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status > 0 {
		r.out.Statuses[status]++
	}
	if counter != nil {
		*counter++
	}
}

func (r *loadRun) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}
