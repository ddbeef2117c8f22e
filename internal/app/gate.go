package app

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/saml"
)

// newGate builds the SAML gate of the [gate] section; nothing without one. The gate resolves identities
// through the same store the SCIM API writes, read-only. saml.New fetches the IdP metadata now (and,
// should that fail, again in the background while sign-in answers 503).
func (a *App) newGate(ctx context.Context) error {
	g := a.cfg.Gate
	if g == nil {
		return nil
	}
	dir := saml.StoreDirectory{Users: a.store, Access: a.store, Match: g.Match}
	opts, err := saml.FromConfig(g, dir, a.o.Getenv, a.o.ReadFile, a.log)
	if err != nil {
		return err
	}
	// Sessions and used assertions live in scimbridge's own tables: every replica shares them, and a
	// SCIM deactivation or DELETE ends a user's sessions in its own transaction.
	gs := mysql.NewGateSessions(a.db, a.cfg.Database.BookkeepingPrefix)
	opts.Sessions, opts.Replay = gs, gs
	opts.Now, opts.Rand = a.o.Now, a.o.Rand
	if a.o.GateHTTPClient != nil {
		opts.HTTPClient = a.o.GateHTTPClient
	}
	if a.o.GateTransport != nil {
		opts.Transport = a.o.GateTransport
	}
	a.gate, err = saml.New(ctx, opts)
	return err
}
