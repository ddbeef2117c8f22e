// Package demo runs scimbridge against an embedded, in-memory MySQL-compatible database and a sample
// "legacy app" page, with scimbridge's SAML gate in front of the page and crewjam/saml's test IdP, and
// scimbridge's webhooks delivered to the app, all in one process, so that a newcomer can try SCIM
// provisioning, the gate and the webhooks with nothing but Go installed.
// It is for cmd/scimbridge-demo only, in a Go module of its own (demo/go.mod) so that go-mysql-server, an
// engine that takes no row locks, and its dependencies stay out of scimbridge's go.mod: the production
// binary cmd/scimbridge must never import it (deps_test.go checks).
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/crewjam/saml/samlidp"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/sqlscript"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/webhook"
)

// Copies of examples/legacy-app/schema.sql and config.example.toml (embed cannot reach outside this
// directory); TestEmbeddedCopiesAreCurrent fails when they drift.
//
//go:generate cp ../examples/legacy-app/schema.sql schema.sql
//go:generate cp ../config.example.toml config.example.toml
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
	Metrics      bool          // also serve scimbridge's Prometheus metrics, on a free loopback port (MetricsURL)
}

// Demo is a running demo: the embedded database, scimbridge's SCIM server and webhook worker, the sample
// app with its webhook receiver, and the SAML gate in front of the app with a test IdP.
type Demo struct {
	engine     *Engine
	cfg        *config.Config
	app        *app.App           // scimbridge: SCIM server, webhook worker and gate, built as serve builds them
	appStop    context.CancelFunc // ends app.Run
	appDone    chan error         // app.Run's result
	scimDB     *sqlx.DB           // scimbridge's pool (app.DB)
	appDB      *sqlx.DB           // the sample app's own pool
	appSrv     *http.Server
	idpSrv     *http.Server
	idp        *samlidp.Server
	idpUsers   []IdPUser
	gate       *saml.Gate // app.Gate
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
}

// Start starts the database, loads the legacy app's schema and seed rows, starts the test IdP, builds
// scimbridge with internal/app exactly as cmd/scimbridge serve does (migrations, role reconcile, the
// webhook worker, the SCIM server and the gate) and runs it, with the sample app behind the gate. Close
// stops them.
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

	kp := <-keys
	for _, k := range kp {
		if k.err != nil {
			return d, fmt.Errorf("making a key: %w", k.err)
		}
	}
	// The IdP first: the gate fetches its metadata when it is built.
	if err := d.startIdP(idpLn, kp[0], log); err != nil {
		return d, err
	}
	sp, err := spFiles(kp[1])
	if err != nil {
		return d, err
	}
	// What cmd/scimbridge serve finds in the environment and in files, the demo hands over in memory.
	secrets := map[string]string{tokenEnv: token, gateSecretEnv: string(d.gateSecret), webhookSecretEnv: d.hookSecret}
	getenv := func(name string) string { return secrets[name] }
	readFile := func(name string) ([]byte, error) {
		if b, ok := sp[name]; ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	for _, w := range append(append(cfg.Warnings(), cfg.WebhookWarnings()...), cfg.Gate.Warnings()...) {
		log.Info(w) // e.g. the gate's http:// public URL: expected here, and said in the printed text
	}
	// Before scimbridge starts: the webhook probe decides the worker's prune interval.
	lim := probeEngine(ctx, d.engine, cfg.Database.BookkeepingPrefix)

	// scimbridge, built by internal/app as cmd/scimbridge serve builds it, on the engine's DSN.
	var metricsLn net.Listener
	if o.Metrics {
		if metricsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return d, err
		}
	}
	d.app, err = app.New(ctx, cfg, app.Options{
		Getenv: getenv, ReadFile: readFile, DSN: d.engine.DSN(), Log: log,
		Listener: scimLn, GateListener: gateLn, MetricsListener: metricsLn,
		TuneWebhooks: func(o webhook.Options) webhook.Options { return demoWorkerOptions(o, lim.noPrune) },
	})
	if err != nil {
		return d, err
	}
	d.scimDB, d.gate = d.app.DB(), d.app.Gate()
	d.limits = lim.withFilterProbe(ctx, d.app.Store()).lines
	if err := d.registerGate(); err != nil {
		return d, fmt.Errorf("the SAML gate: %w", err)
	}
	d.appSrv = d.serve(appLn, d.appHandler(), log)
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.appStop, d.appDone = stop, make(chan error, 1)
	go func() {
		err := d.app.Run(runCtx)
		d.appDone <- err
		if err != nil {
			d.errc <- err
		}
	}()
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

// MetricsURL is where scimbridge's Prometheus metrics are served; "" unless Options.Metrics.
func (d *Demo) MetricsURL() string {
	if a := d.app.MetricsAddr(); a != nil {
		return "http://" + a.String() + "/metrics"
	}
	return ""
}

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

// Close stops scimbridge (its SCIM server, the gate and the webhook worker) and the demo's HTTP servers,
// letting requests in flight finish until ctx ends, then the database.
func (d *Demo) Close(ctx context.Context) error {
	var errs []error
	if d.appStop != nil {
		d.appStop()
		select {
		case err := <-d.appDone:
			errs = append(errs, err)
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("stopping scimbridge: %w", ctx.Err()))
		}
	}
	for _, srv := range []*http.Server{d.appSrv, d.idpSrv} {
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
		}
	}
	for _, ln := range d.listeners {
		_ = ln.Close() // those not served yet; the others are closed already
	}
	if d.app != nil {
		errs = append(errs, d.app.Close()) // scimbridge's pool, which it opened
	}
	if d.appDB != nil {
		errs = append(errs, d.appDB.Close())
	}
	if d.engine != nil {
		errs = append(errs, d.engine.Close(ctx))
	}
	return errors.Join(errs...)
}
