package saml

import (
	"sync"
	"time"

	crewsaml "github.com/crewjam/saml"
)

// replayCache remembers the assertions already used to log in, until they expire anyway, so that a
// SAMLResponse posted a second time (taken from a browser's history or a proxy log) is refused.
// crewjam/saml does not do this itself: with allow_idp_initiated it does not even tie the response to a
// request of ours. It lives in memory, so it covers one gate process (see README: several replicas).
type replayCache struct {
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // assertion ID -> when it can be forgotten
}

// maxReplayEntries bounds the cache: past it, expired IDs are dropped; an ID is kept at most replayKeep.
const (
	maxReplayEntries = 100000
	replayKeep       = 24 * time.Hour
)

func newReplayCache(now func() time.Time) *replayCache {
	return &replayCache{now: now, seen: map[string]time.Time{}}
}

// firstUse records the assertion and reports whether it had not been used before.
func (c *replayCache) firstUse(a *crewsaml.Assertion) bool {
	if a.ID == "" {
		return false // cannot be told apart from another: refused
	}
	now := c.now()
	until := now.Add(crewsaml.MaxIssueDelay + crewsaml.MaxClockSkew)
	if a.Conditions != nil && a.Conditions.NotOnOrAfter.After(until) {
		until = a.Conditions.NotOnOrAfter
	}
	if a.Subject != nil {
		for _, sc := range a.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && d.NotOnOrAfter.After(until) {
				until = d.NotOnOrAfter
			}
		}
	}
	until = until.Add(crewsaml.MaxClockSkew)
	if limit := now.Add(replayKeep); until.After(limit) {
		until = limit
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[a.ID]; ok && now.Before(exp) {
		return false
	}
	if len(c.seen) >= maxReplayEntries {
		for id, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, id)
			}
		}
	}
	c.seen[a.ID] = until
	return true
}
