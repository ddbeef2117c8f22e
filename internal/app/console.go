package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/console"
	"github.com/scimbridge/scimbridge/saml"
)

// newConsole builds the admin console of the [console] section; nothing without one. It reads what
// the SCIM API writes (the store, the audit trail, the webhook worker) and the ring of recent requests
// the agent feeds. Its admin token must not be one of the IdP's SCIM tokens (console.New refuses it).
func (a *App) newConsole(ctx context.Context, scimTokens []string) error {
	k := a.cfg.Console
	if k == nil {
		return nil
	}
	token, err := k.ConsoleToken(a.o.Getenv, a.o.ReadFile)
	if err != nil {
		return err
	}
	var names []string
	seen := map[string]bool{}
	named, _ := a.cfg.NamedTokens(a.o.Getenv, a.o.ReadFile) // read already by New: no error here
	for _, t := range named {
		if !seen[t.Name] {
			seen[t.Name] = true
			names = append(names, t.Name)
		}
	}
	tables := bookkeeping.NewTables(a.cfg.Database.BookkeepingPrefix, bookkeeping.MySQL)
	o := console.Options{
		Token: token, SCIMTokens: scimTokens, SessionLifetime: k.SessionLifetime.Duration,
		Requests: a.requests, TokenNames: names,
		Users: a.store, Groups: a.store, Webhooks: a.worker, Roles: a.cfg.RoleStores(),
		Audit: func(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
			return audit.List(ctx, a.db, tables, f)
		},
		Config: a.cfg.Redacted(),
		Check: func(ctx context.Context) (console.CheckResult, error) {
			rep, err := Check(ctx, a.cfg, a.o)
			return console.CheckResult{Problems: rep.Problems, Warnings: rep.Warnings}, err
		},
		Mode:    a.consoleMode,
		Breaker: a.consoleBreaker,
		Pages:   append([]console.Page{a.driftPage()}, a.o.ConsolePages...),
		Now:     a.o.Now, Rand: a.o.Rand, Log: a.log,
	}
	if k.PublicURL != "" {
		if o.PublicURL, err = url.Parse(k.PublicURL); err != nil {
			return fmt.Errorf("console.public_url: %w", err)
		}
	}
	if k.AdminGroup != "" {
		if o.SSO, err = a.consoleSSO(k.AdminGroup); err != nil {
			return err
		}
	}
	if a.console, err = console.New(ctx, o); err != nil {
		return err
	}
	if a.consoleLn == nil {
		if a.consoleLn, err = net.Listen("tcp", k.Listen); err != nil {
			return fmt.Errorf("console.listen: %w", err)
		}
	}
	return nil
}

// consoleSSO signs admins in through the gate's IdP, with the gate's key and certificate, resolving
// identities as the gate does.
func (a *App) consoleSSO(adminGroup string) (*console.SSOOptions, error) {
	g := a.cfg.Gate
	dir := saml.StoreDirectory{Users: a.store, Access: a.store, Match: g.Match}
	gopts, err := saml.FromConfig(g, dir, a.o.Getenv, a.o.ReadFile, a.log)
	if err != nil {
		return nil, err
	}
	s := &console.SSOOptions{Key: gopts.Key, Certificate: gopts.Certificate, IDPMetadata: gopts.IDPMetadata,
		IDPMetadataURL: gopts.IDPMetadataURL, IdentityAttribute: gopts.IdentityAttribute, Directory: dir,
		AdminGroup: adminGroup, RecheckEvery: g.RecheckEvery.Duration}
	if a.o.GateHTTPClient != nil {
		s.HTTPClient = a.o.GateHTTPClient
	}
	return s, nil
}

// serveConsole serves the console on its listener until the returned stop is called; nothing without
// a console.
func (a *App) serveConsole() (stop func()) {
	if a.console == nil {
		return func() {}
	}
	srv := &http.Server{Handler: a.console, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(a.consoleLn); err != nil && err != http.ErrServerClosed {
			a.log.Error("console stopped", "err", err)
		}
	}()
	a.log.Info("serving the admin console", "addr", a.consoleLn.Addr().String())
	return func() { _ = srv.Close(); <-done }
}

// ConsoleAddr is where the admin console listens; nil without one.
func (a *App) ConsoleAddr() net.Addr {
	if a.consoleLn == nil {
		return nil
	}
	return a.consoleLn.Addr()
}
