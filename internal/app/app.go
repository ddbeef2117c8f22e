// Package app is scimbridge's composition root: it builds the whole running program from a
// config.Config (the database handle and its migrations, the store with its role and group-mirror
// mappings, the role reconcile, the SCIM agent, the webhook worker and the SAML gate) and runs it.
// `scimbridge serve`, the demo and the load tools all build scimbridge here, so that none of them can be
// wired differently from the others. What a test or the demo must replace (secrets, the database, the
// clock, randomness, listeners, the log) comes in through Options.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/console"
	"github.com/scimbridge/scimbridge/internal/metrics"
	"github.com/scimbridge/scimbridge/internal/progress"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/webhook"
)

// Options are what the caller supplies besides the configuration. The zero value is what `scimbridge
// serve` uses: secrets from the environment and files, the database of the configured DSN, the real
// clock and crypto/rand, listeners on the configured addresses.
type Options struct {
	// Getenv and ReadFile are where every secret comes from: tokens, the DSN, the gate's SP key and
	// header secret, webhook secrets [os.Getenv, os.ReadFile].
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)

	// DB is a handle already open (with mysql.Open, whose settings the store relies on); the App uses it
	// and leaves it open. nil: the App opens DSN, or the configured DSN when DSN is empty, and closes it.
	DB  *sqlx.DB
	DSN string

	Log     *slog.Logger // [discards]
	Version string       // logged when SCIM is served

	Now    func() time.Time                           // clock of the store, the webhooks and the gate [time.Now]
	Rand   io.Reader                                  // randomness of ids, keys and gate session tokens [crypto/rand]
	Jitter func() float64                             // webhook backoff jitter in [0, 1) [the worker's own source]
	Sleep  func(context.Context, time.Duration) error // waits between tries of an unreachable database [a timer]

	// Listener and GateListener are served instead of listening on server.listen and gate.listen; the
	// App takes them over (Run or Close closes them). The demo passes them so that its configuration can
	// name the real ports before anything starts.
	Listener, GateListener net.Listener
	// MetricsListener is served with the Prometheus metrics instead of listening on metrics.listen; it
	// turns metrics on even without [metrics].
	MetricsListener net.Listener

	RequestTimeout  time.Duration // bound on one SCIM request's work [agent's default, 15s]
	AuditPruneEvery time.Duration // how often audit rows past [audit] retention are deleted [1h]
	DriftEvery      time.Duration // how often the drift check runs, instead of [drift] every (which turns it on) [that]

	// Terminal is where long work at start (the role reconcile) redraws its progress line; nil logs a
	// progress line every 10s instead.
	Terminal io.Writer

	// TuneWebhooks may change the worker's options built from the configuration (the demo polls faster);
	// nil keeps serve's.
	TuneWebhooks func(webhook.Options) webhook.Options
	// GateHTTPClient fetches the IdP metadata [saml's default]; GateTransport reaches the app behind the
	// gate [saml's default].
	GateHTTPClient *http.Client
	GateTransport  http.RoundTripper

	// ConsoleListener is served with the admin console instead of listening on console.listen.
	ConsoleListener net.Listener
	// ConsolePages are pages added to the console's registry (the go-live work's drift and plan).
	ConsolePages []console.Page
}

// App is scimbridge built and ready to serve: New has migrated the database, reconciled roles,
// registered the webhook endpoints and listens; Run serves.
type App struct {
	cfg     *config.Config
	o       Options
	log     *slog.Logger
	db      *sqlx.DB
	ownDB   bool
	store   *mysql.Store
	handler http.Handler
	worker  *webhook.Worker
	gate    *saml.Gate
	ln      net.Listener
	gateLn  net.Listener
	ran     bool
	owner   string // of the App's leases

	metrics   *metrics.Metrics // nil without [metrics]
	metricsLn net.Listener

	shadowLock    *shadowLock // held by a shadow-mode App until Close
	pendingGoLive bool        // live mode found a shadow state to apply first

	requests  *console.Ring    // recent SCIM requests, for the console; nil without [console]
	console   *console.Console // nil without [console]
	consoleLn net.Listener
	drift     lastDrift // the latest drift report, for the console
	plan      lastPlan  // the latest go-live plan computed from the console (shadow mode)
	// loaded is the configuration as given, which in shadow mode enterMode replaced with the shadow one:
	// go-live and its plan work from the configuration as given (as `scimbridge plan` loads it).
	loaded *config.Config
}

// New builds scimbridge from cfg, in the order `serve` has always started: tokens (a bad secret fails
// before anything connects), the database (waiting for it while it is unreachable; a refused login fails
// at once), its migrations, the webhook endpoints registered (before SCIM can write, so that no change
// slips between an endpoint's start and its first event), the store, the role reconcile, the SCIM agent,
// the gate, and the listeners. Configuration warnings are the caller's to log: serve warns, the demo,
// whose warnings are expected, does not. On error New releases what it had set up.
func New(ctx context.Context, cfg *config.Config, o Options) (a *App, err error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	a = &App{cfg: cfg, o: o, log: o.Log, ln: o.Listener, gateLn: o.GateListener, metricsLn: o.MetricsListener, consoleLn: o.ConsoleListener,
		owner: bookkeeping.ProcessOwner()}
	if cfg.Console != nil {
		a.requests = console.NewRing(cfg.Console.RecentRequests)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	var onTxRetry func()
	if a.metricsOn() {
		a.metrics = metrics.New(a.log)
		onTxRetry = a.metrics.TxRetried
	}
	defer func() {
		if err != nil {
			_ = a.Close()
			a = nil
		}
	}()
	named, err := cfg.NamedTokens(o.Getenv, o.ReadFile)
	if err != nil {
		return a, err
	}
	tokens := make([]agent.Token, len(named))
	for i, t := range named {
		tokens[i] = agent.Token{Name: t.Name, Secret: t.Secret}
	}
	if err := a.openDB(ctx); err != nil {
		return a, err
	}
	if err := a.enterMode(ctx); err != nil {
		return a, err
	}
	cfg = a.cfg // the shadow configuration in shadow mode
	if a.worker, err = a.newWorker(ctx); err != nil {
		return a, err
	}
	if err := a.goLiveIfPending(ctx); err != nil {
		return a, err
	}
	var guard mysql.DeactivationGuard
	if b := a.newBreaker(); b != nil {
		guard = b
	}
	a.store = newStore(a.db, cfg, o, a.log, onTxRetry, guard)
	if err := a.reconcileRoles(ctx); err != nil {
		return a, err
	}
	a.handler = agent.New(agent.Config{
		BasePath:       cfg.Server.BasePath,
		PublicURL:      cfg.Server.PublicURL,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		NamedTokens:    tokens,
		PatchResponse:  cfg.Server.PatchResponse,
		Users:          a.store,
		Groups:         a.store,
		Roles:          mapping.PublishedRoles(cfg.RoleStores()),
		UserType:       cfg.UsersMapping().Type,
		Log:            a.log,
		RequestTimeout: o.RequestTimeout,
		ExtraSchemas:   cfg.Server.ExtraSchemas,
		RetryWindow:    retryWindow(cfg.Server.RetryWindow.Duration),
		OnRequest:      a.onRequest(),
		Now:            o.Now,
		Rand:           o.Rand,
	})
	a.handler = notifyOnWrite(a.handler, a.worker.Notify)
	if err := a.newGate(ctx); err != nil {
		return a, err
	}
	secrets := make([]string, len(named))
	for i, t := range named {
		secrets[i] = t.Secret
	}
	if err := a.newConsole(ctx, secrets); err != nil {
		return a, err
	}
	if a.gate != nil && a.gateLn == nil {
		if a.gateLn, err = net.Listen("tcp", cfg.Gate.Listen); err != nil {
			return a, fmt.Errorf("gate.listen: %w", err)
		}
	}
	if a.ln == nil {
		if a.ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			return a, err
		}
	}
	if a.metrics != nil {
		a.watch()
		if err := a.listenMetrics(); err != nil {
			return a, err
		}
	}
	return a, nil
}

// newStore is the store of cfg's mapping on db.
func newStore(db *sqlx.DB, cfg *config.Config, o Options, log *slog.Logger, onTxRetry func(), guard mysql.DeactivationGuard) *mysql.Store {
	return mysql.New(db, cfg.UsersMapping(), mysql.Options{Guard: guard, Prefix: cfg.Database.BookkeepingPrefix, Now: o.Now, Rand: o.Rand,
		Log: log, Roles: cfg.RolesMapping(), MoreRoles: cfg.MoreRoleStores(), GroupMirror: cfg.GroupsMapping().MirrorMapping(),
		OnTxRetry: onTxRetry, AuditRedact: cfg.Audit.Redact,
		Limits: mysql.DocLimits{MaxValueBytes: cfg.Server.MaxValueBytes, MaxDocBytes: cfg.Server.MaxDocumentBytes}})
}

// reconcileRoles brings every user's roles in line with the rules before SCIM is served: the rules may
// have changed since the last start. Replicas starting together reconcile once: the one holding the
// lease does it, the others serve at once (each SCIM write recomputes the roles of the users it
// touches in any case).
func (a *App) reconcileRoles(ctx context.Context) error {
	if a.cfg.RolesMapping() == nil {
		return nil
	}
	ran, err := a.leases().Run(ctx, "roles-reconcile", time.Minute, a.reconcileRolesHeld)
	if err == nil && !ran {
		a.log.Info("roles reconcile: another replica is doing it")
	}
	return err
}

// leases are the App's named leases in the database, for work one replica does.
func (a *App) leases() bookkeeping.Leases {
	return bookkeeping.Leases{DB: a.db, Tables: bookkeeping.NewTables(a.cfg.Database.BookkeepingPrefix, bookkeeping.MySQL), Owner: a.owner, Now: a.o.Now}
}

func (a *App) reconcileRolesHeld(ctx context.Context) error {
	start := a.o.Now()
	rep := progress.Start("roles reconcile", 0, progress.Options{Terminal: a.o.Terminal, Log: a.log, Now: a.o.Now})
	checked, changed, err := a.store.ReconcileRolesProgress(ctx, func(done, total int) {
		rep.SetTotal(total)
		rep.Update(done)
	})
	rep.Finish()
	if err != nil {
		return fmt.Errorf("reconciling roles: %w", err)
	}
	took := a.o.Now().Sub(start)
	a.log.Info("roles reconciled", "users", checked, "changed", changed, "took", took.Round(time.Millisecond).String())
	if a.metrics != nil {
		a.metrics.Reconciled(took, checked, changed)
	}
	return nil
}

// Handler is the SCIM API (what Run serves on Addr), for callers that serve it themselves.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the store the SCIM API writes and the gate reads.
func (a *App) Store() *mysql.Store { return a.store }

// DB is scimbridge's connection pool.
func (a *App) DB() *sqlx.DB { return a.db }

// Gate is the SAML gate of the [gate] section; nil without one.
func (a *App) Gate() *saml.Gate { return a.gate }

// Webhooks is the webhook worker (Run runs it), for its operations and statistics.
func (a *App) Webhooks() *webhook.Worker { return a.worker }

// Addr is where the SCIM API listens.
func (a *App) Addr() net.Addr { return a.ln.Addr() }

// GateAddr is where the gate listens; nil without a gate.
func (a *App) GateAddr() net.Addr {
	if a.gateLn == nil {
		return nil
	}
	return a.gateLn.Addr()
}

// Close releases what Run has not: the listeners when Run never ran, and the database handle when the
// App opened it. Call it once Run has returned.
func (a *App) Close() error {
	var errs []error
	if !a.ran {
		for _, ln := range []net.Listener{a.ln, a.gateLn, a.metricsLn, a.consoleLn} {
			if ln != nil {
				_ = ln.Close() // one given by the caller may be closed already
			}
		}
	}
	a.shadowLock.release()
	a.shadowLock = nil
	if a.ownDB && a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryWindow maps the configuration's retry_window, where 0 turns the retry detection off, onto
// agent.Config's, where 0 means the default.
func retryWindow(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
