// Package demo runs scimbridge against an embedded, in-memory MySQL-compatible database and a sample
// "legacy app" page, with scimbridge's SAML gate in front of the page and crewjam/saml's test IdP, and
// scimbridge's webhooks delivered to the app, all in one process, so that a newcomer can try SCIM
// provisioning, the gate and the webhooks with nothing but Go installed.
// It is for cmd/scimbridge-demo only: the production binary cmd/scimbridge must never import it,
// because it links go-mysql-server, an engine that takes no row locks.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/crewjam/saml/samlidp"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/sqlscript"
	"github.com/scimbridge/scimbridge/saml"
)

// Copies of examples/legacy-app/schema.sql and config.example.toml (embed cannot reach outside this
// directory); TestEmbeddedCopiesAreCurrent fails when they drift.
//
//go:generate cp ../../examples/legacy-app/schema.sql schema.sql
//go:generate cp ../../config.example.toml config.example.toml
var (
	//go:embed schema.sql
	legacySchema string
	//go:embed config.example.toml
	exampleConfig []byte
)

// Options configure a demo. Empty addresses mean a free port on 127.0.0.1.
type Options struct {
	ListenSCIM   string
	ListenApp    string
	ListenGate   string
	ListenIdP    string
	ListenDB     string
	Token        string        // bearer token; empty generates one
	RecheckEvery time.Duration // the gate's recheck_every; 0: DefaultRecheckEvery
	Log          *slog.Logger  // scimbridge's log; nil discards
}

// Demo is a running demo: the embedded database, scimbridge's SCIM server and webhook worker, the sample
// app with its webhook receiver, and the SAML gate in front of the app with a test IdP.
type Demo struct {
	engine     *Engine
	cfg        *config.Config
	scimDB     *sqlx.DB // scimbridge's pool, opened with mysql.Open like cmd/scimbridge does
	appDB      *sqlx.DB // the sample app's own pool
	scimSrv    *http.Server
	appSrv     *http.Server
	idpSrv     *http.Server
	idp        *samlidp.Server
	idpUsers   []IdPUser
	gate       *saml.Gate
	gateStop   context.CancelFunc
	gateDone   chan error
	gateSecret []byte
	gateTOML   string
	hooksTOML  string
	listeners  []net.Listener
	scimURL    string // http://host:port, without the base path
	appURL     string
	gateURL    string
	idpURL     string
	token      string
	limits     []string
	errc       chan error
	appLog     appLog        // the requests the sample app got, except its webhooks
	hooks      *hookReceiver // the webhooks the sample app got
	hookSecret string
	worker     *hookWorker
}

// Start starts the database, loads the legacy app's schema and seed rows, migrates scimbridge's
// bookkeeping tables and starts the webhook worker, the SCIM server, the sample app, the test IdP and the
// gate. Close stops them.
func Start(ctx context.Context, o Options) (d *Demo, err error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := o.Token
	if token == "" {
		token = randomHex(24)
	}
	if err := checkToken(token); err != nil {
		return nil, err
	}
	recheck := o.RecheckEvery
	if recheck <= 0 {
		recheck = DefaultRecheckEvery
	}
	keys := newKeyPairs()
	d = &Demo{token: token, gateSecret: []byte(randomHex(32)), hookSecret: newWebhookSecret(), errc: make(chan error, 4)}
	if d.hooks, err = newHookReceiver(d.hookSecret); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = d.Close(shutdownCtx)
			d = nil
		}
	}()
	// Listen first, so that the configuration names the real addresses.
	var scimLn, appLn, gateLn, idpLn net.Listener
	for _, l := range []struct {
		addr string
		ln   *net.Listener
		url  *string
	}{
		{o.ListenSCIM, &scimLn, &d.scimURL}, {o.ListenApp, &appLn, &d.appURL},
		{o.ListenGate, &gateLn, &d.gateURL}, {o.ListenIdP, &idpLn, &d.idpURL},
	} {
		if *l.ln, err = net.Listen("tcp", orFree(l.addr)); err != nil {
			return d, err
		}
		d.listeners = append(d.listeners, *l.ln)
		*l.url = baseURL(*l.ln)
	}
	gate := gateSection(gateLn.Addr().String(), d.gateURL, d.appURL, d.idpURL, recheck)
	hooks := webhookSection(d.appURL)
	cfg, err := config.Parse(append(exampleConfig[:len(exampleConfig):len(exampleConfig)], gate+hooks...), "config.example.toml")
	if err != nil {
		return d, fmt.Errorf("the embedded config.example.toml with the demo's [gate] and [[webhooks]]: %w", err)
	}
	cfg.Server.Listen = scimLn.Addr().String()
	d.cfg, d.gateTOML, d.hooksTOML = cfg, gate, hooks

	if d.engine, err = StartEngine(orFree(o.ListenDB)); err != nil {
		return d, err
	}

	// The sample app: its own connection pool, as a separate application would have.
	if d.appDB, err = sqlx.Open("mysql", d.engine.DSN()+"?parseTime=true&loc=UTC"); err != nil {
		return d, err
	}
	for _, stmt := range sqlscript.Split(legacySchema) {
		if _, err := d.appDB.ExecContext(ctx, stmt); err != nil {
			return d, fmt.Errorf("loading the legacy app's schema: %w\n%s", err, stmt)
		}
	}

	// scimbridge, wired exactly as cmd/scimbridge serve does.
	if d.scimDB, err = mysql.Open(d.engine.DSN(), cfg.Database.MaxOpenConns); err != nil {
		return d, err
	}
	if _, err := mysql.Migrate(ctx, d.scimDB, cfg.Database.BookkeepingPrefix); err != nil {
		return d, fmt.Errorf("migrating scimbridge's tables: %w", err)
	}
	store := mysql.New(d.scimDB, cfg.UsersMapping(), mysql.Options{Prefix: cfg.Database.BookkeepingPrefix, Log: log,
		Roles: cfg.RolesMapping()})
	lim := probeLimits(ctx, store, d.engine, cfg.Database.BookkeepingPrefix)
	d.limits = lim.lines
	handler := agent.New(agent.Config{
		BasePath:      cfg.Server.BasePath,
		PublicURL:     cfg.Server.PublicURL,
		MaxBodyBytes:  cfg.Server.MaxBodyBytes,
		Tokens:        []string{token},
		PatchResponse: cfg.Server.PatchResponse,
		Users:         store,
		Groups:        store,
		UserType:      cfg.UsersMapping().Type,
		Log:           log,
	})
	// Webhooks as serve starts them: registered before SCIM is served.
	if d.worker, err = startWebhooks(ctx, d.scimDB, cfg, d.hookSecret, lim.noPrune, log); err != nil {
		return d, fmt.Errorf("webhooks: %w", err)
	}
	d.appSrv = d.serve(appLn, d.appHandler(), log)
	d.worker.run(ctx)
	d.scimSrv = d.serve(scimLn, handler, log)

	kp := <-keys
	for _, k := range kp {
		if k.err != nil {
			return d, fmt.Errorf("making a key: %w", k.err)
		}
	}
	if err := d.startIdP(idpLn, kp[0], log); err != nil {
		return d, err
	}
	if err := d.startGate(ctx, gateLn, cfg.Gate, store, kp[1], log); err != nil {
		return d, fmt.Errorf("the SAML gate: %w", err)
	}
	return d, nil
}

func (d *Demo) serve(ln net.Listener, h http.Handler, log *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.errc <- err
		}
	}()
	return srv
}

// SCIMURL is the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2.
func (d *Demo) SCIMURL() string { return d.scimURL + d.cfg.Server.BasePath }

// AppURL is the sample app's page, reached directly.
func (d *Demo) AppURL() string { return d.appURL + "/" }

// DBAddr is the embedded database's host:port.
func (d *Demo) DBAddr() string { return d.engine.Addr() }

// Token is the bearer token the SCIM server accepts.
func (d *Demo) Token() string { return d.token }

// Limits lists what scimbridge cannot do on the embedded engine, found by trying it at start.
func (d *Demo) Limits() []string { return d.limits }

// Wait blocks until ctx is done (nil) or a server fails (its error).
func (d *Demo) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-d.errc:
		return err
	}
}

// Close stops the gate, the webhook worker and the HTTP servers (letting requests in flight finish until
// ctx ends), then the database.
func (d *Demo) Close(ctx context.Context) error {
	var errs []error
	if d.gateStop != nil {
		d.gateStop()
		select {
		case err := <-d.gateDone:
			errs = append(errs, err)
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("stopping the gate: %w", ctx.Err()))
		}
	}
	errs = append(errs, d.worker.stop(ctx))
	for _, srv := range []*http.Server{d.scimSrv, d.appSrv, d.idpSrv} {
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
		}
	}
	for _, ln := range d.listeners {
		_ = ln.Close() // those not served yet; the others are closed already
	}
	for _, db := range []*sqlx.DB{d.scimDB, d.appDB} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if d.engine != nil {
		errs = append(errs, d.engine.Close(ctx))
	}
	return errors.Join(errs...)
}
