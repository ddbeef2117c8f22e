package saml

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	crewsaml "github.com/crewjam/saml"
)

// ReplayStore remembers the assertions already used to sign in (*mysql.GateSessions), in the database
// so that a SAMLResponse posted a second time (from a browser's history or a proxy log) is refused by
// every gate replica and after a restart. crewjam/saml does not do this itself: with allow_idp_initiated
// it does not even tie the response to a request of ours.
type ReplayStore interface {
	// FirstUse records key until then and reports whether it had not been recorded (and unexpired) before.
	FirstUse(ctx context.Context, key string, now, until time.Time) (bool, error)
}

// replayKeep bounds how long an assertion ID is kept, whatever its conditions say.
const replayKeep = 24 * time.Hour

// firstUse records the assertion and reports whether it had not been used before. An assertion without
// ID cannot be told apart from another: it is refused. The key is the SHA-256 of the ID, so the
// table's column has a fixed size whatever the IdP's IDs look like.
func (g *Gate) firstUse(ctx context.Context, a *crewsaml.Assertion) (bool, error) {
	if a.ID == "" {
		return false, nil
	}
	now := g.opts.Now()
	sum := sha256.Sum256([]byte(a.ID))
	return g.opts.Replay.FirstUse(ctx, hex.EncodeToString(sum[:]), now, replayUntil(a, now))
}

// replayUntil is how long an assertion must be remembered: until crewjam would refuse it as expired
// anyway (its latest NotOnOrAfter, at least the issue delay it allows), plus the clock skew it allows.
func replayUntil(a *crewsaml.Assertion, now time.Time) time.Time {
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
	return until
}
