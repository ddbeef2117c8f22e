package saml

import (
	"context"
	"errors"
	"sync"
	"time"
)

// verdict is what the directory says about an identity.
type verdict int

const (
	allowed        verdict = iota // provisioned and active
	notProvisioned                // no provisioned user (or several)
	deactivated                   // provisioned, active = false
	unavailable                   // the directory did not answer
)

func (v verdict) String() string {
	return [...]string{"allowed", "not_provisioned", "deactivated", "directory_unavailable"}[v]
}

// checker asks the Directory about identities and keeps each answer for ttl, so that a session follows
// the directory (a user deactivated through SCIM is refused within ttl) without a query per request.
// Answers are keyed by identity; failures are not kept. Concurrent misses for one identity share one query.
type checker struct {
	dir Directory
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	entries  map[string]checkEntry
	inflight map[string]*checkCall
}

type checkEntry struct {
	user    User
	verdict verdict
	why     error // for notProvisioned: ErrNotFound or ErrAmbiguous
	expires time.Time
}

type checkCall struct {
	done  chan struct{}
	entry checkEntry
	err   error
}

// directoryTimeout bounds one directory query.
const directoryTimeout = 10 * time.Second

// maxCheckEntries bounds the cache; past it, expired answers are dropped, and all of them if need be.
const maxCheckEntries = 10000

func newChecker(dir Directory, ttl time.Duration, now func() time.Time) *checker {
	return &checker{dir: dir, ttl: ttl, now: now, entries: map[string]checkEntry{}, inflight: map[string]*checkCall{}}
}

// check returns the verdict on identity, from the cache while it is fresh. fresh forces a query (at login).
// err says why the verdict is unavailable (the directory's error) or notProvisioned (ErrNotFound or
// ErrAmbiguous); it is nil otherwise.
func (c *checker) check(ctx context.Context, identity string, fresh bool) (User, verdict, error) {
	c.mu.Lock()
	if e, ok := c.entries[identity]; ok && !fresh && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.user, e.verdict, e.why
	}
	if call, ok := c.inflight[identity]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.result()
		case <-ctx.Done():
			return User{}, unavailable, ctx.Err()
		}
	}
	call := &checkCall{done: make(chan struct{})}
	c.inflight[identity] = call
	c.mu.Unlock()

	// The query is shared: one client going away must not fail it for the others.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), directoryTimeout)
	call.entry, call.err = c.query(qctx, identity)
	cancel()

	c.mu.Lock()
	delete(c.inflight, identity)
	if call.err == nil {
		c.store(identity, call.entry)
	}
	c.mu.Unlock()
	close(call.done)
	return call.result()
}

func (call *checkCall) result() (User, verdict, error) {
	if call.err != nil {
		return User{}, unavailable, call.err
	}
	return call.entry.user, call.entry.verdict, call.entry.why
}

func (c *checker) query(ctx context.Context, identity string) (checkEntry, error) {
	u, err := c.dir.FindUser(ctx, identity)
	e := checkEntry{user: u, expires: c.now().Add(c.ttl)}
	switch {
	case errors.Is(err, ErrNotFound):
		e.user, e.verdict, e.why = User{}, notProvisioned, err
	case err != nil:
		return checkEntry{verdict: unavailable}, err
	case !u.Active:
		e.verdict = deactivated
	default:
		e.verdict = allowed
	}
	return e, nil
}

// store keeps an answer; c.mu is held.
func (c *checker) store(identity string, e checkEntry) {
	if len(c.entries) >= maxCheckEntries {
		now := c.now()
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCheckEntries {
			clear(c.entries)
		}
	}
	c.entries[identity] = e
}
