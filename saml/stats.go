package saml

import "sync/atomic"

// Stats counts what the gate did since it started.
type Stats struct {
	Proxied          int64 // requests of signed-in, allowed users sent to the application
	Bypassed         int64 // requests on bypass paths sent without login
	Logins           int64 // sessions started
	NotProvisioned   int64 // refusals (logins or requests): no provisioned user for the identity
	Deactivated      int64 // refusals (logins or requests): the user is deactivated
	Rebound          int64 // refusals: the session's identity now resolves to another user (session ended)
	LoginFailures    int64 // SAML responses refused (invalid, expired, wrong audience, replayed, ...)
	Replays          int64 // of which: assertions used a second time
	DirectoryErrors  int64 // requests refused with 503 because the directory did not answer
	UpstreamErrors   int64 // requests the application did not answer (502)
	SpoofedHeaders   int64 // requests that came with identity headers of their own (dropped)
	MetadataFailures int64 // IdP metadata fetches that failed
}

type counters struct {
	proxied, bypassed, logins, notProvisioned, deactivated, rebound, loginFailures, replays,
	directoryErrors, upstreamErrors, spoofedHeaders, metadataFailures atomic.Int64
}

// Stats returns the counters.
func (g *Gate) Stats() Stats {
	c := &g.stats
	return Stats{
		Proxied: c.proxied.Load(), Bypassed: c.bypassed.Load(), Logins: c.logins.Load(),
		NotProvisioned: c.notProvisioned.Load(), Deactivated: c.deactivated.Load(), Rebound: c.rebound.Load(),
		LoginFailures: c.loginFailures.Load(), Replays: c.replays.Load(),
		DirectoryErrors: c.directoryErrors.Load(), UpstreamErrors: c.upstreamErrors.Load(),
		SpoofedHeaders: c.spoofedHeaders.Load(), MetadataFailures: c.metadataFailures.Load(),
	}
}
