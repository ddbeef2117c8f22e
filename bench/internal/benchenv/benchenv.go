// Package benchenv is what the load tools measure scimbridge in: the store's connection pool with the
// app's tables and scimbridge's bookkeeping tables created, a second pool of the same size for the
// plain-SQL ceilings, a logger that counts the warnings the store and agent log, and scimbridge built by
// internal/app and served on loopback. It is one place so that every tool sets up and releases these the same way, also when its
// setup fails halfway.
package benchenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/bench/internal/loopback"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/sqlscript"
)

// Options says what Open sets up.
type Options struct {
	Conns   int    // size of each pool (scimbridge's default is 20)
	Ceiling bool   // open a second pool for plain-SQL ceilings, so they do not share the store's connections
	Schema  string // the app's tables: a script of statements ending in ";"
	Prefix  string // the bookkeeping tables' prefix ("scim_")
	// Reuse keeps the tables a kept database (-db) already has: the schema's CREATE TABLEs become
	// CREATE TABLE IF NOT EXISTS.
	Reuse bool
}

// Env is a tool's database pools and server. Use it by pointer: Log counts into Warns.
type Env struct {
	DB    *sqlx.DB         // the store's pool, also used for seeding, counting and EXPLAIN
	Ceil  *sqlx.DB         // the ceilings' pool, nil unless Options.Ceiling
	API   *loopback.Server // a client of scimbridge as Serve runs it
	App   *app.App         // scimbridge, set by Serve
	Log   *slog.Logger     // for the store and the agent: counts their warnings into Warns
	Warns loadstats.Warnings

	stopApp func()
}

// Open opens the pools on dsn, runs the schema and mysql.Migrate; on error it closes what it opened.
func Open(ctx context.Context, dsn string, o Options) (*Env, error) {
	e := &Env{}
	e.Log = slog.New(&e.Warns)
	var err error
	if e.DB, err = mysql.Open(dsn, o.Conns); err != nil {
		return nil, err
	}
	if err := e.setUp(ctx, dsn, o); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) setUp(ctx context.Context, dsn string, o Options) error {
	var err error
	if o.Ceiling {
		if e.Ceil, err = mysql.Open(dsn, o.Conns); err != nil {
			return err
		}
	}
	for _, stmt := range sqlscript.Split(o.Schema) {
		if o.Reuse {
			stmt = strings.Replace(stmt, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
		}
		if _, err := e.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("schema: %w\n%s", err, stmt)
		}
	}
	_, err = mysql.Migrate(ctx, e.DB, o.Prefix)
	return err
}

// Serve builds scimbridge from cfg on the store's pool with internal/app, as `scimbridge serve` builds
// it (the same store options, role reconcile, agent settings and webhook worker), runs it on a loopback
// port with token as its only bearer token, and points API at it; clients and timeout are the client's
// (loopback.Client). o may carry what the tool changes (RequestTimeout). Close stops it.
func (e *Env) Serve(ctx context.Context, cfg *config.Config, token string, o app.Options, clients int, timeout time.Duration) error {
	o.Log = e.Log
	a, err := Build(ctx, e.DB, cfg, token, o)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(runCtx); err != nil {
			e.Log.Error("scimbridge stopped", "err", err)
		}
	}()
	e.App, e.stopApp = a, func() { cancel(); <-done; _ = a.Close() }
	e.API = loopback.Client("http://"+a.Addr().String()+cfg.Server.BasePath, token, clients, timeout)
	return nil
}

// Build builds scimbridge from cfg on db with internal/app, as `scimbridge serve` builds it, with token as
// its only bearer token and a loopback port to serve on, for tools that run it or call its store or
// webhook worker directly. Secrets come from o.Getenv, else from nowhere (never the tool's environment).
// Close the App when done.
func Build(ctx context.Context, db *sqlx.DB, cfg *config.Config, token string, o app.Options) (*app.App, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.Auth = config.Auth{Tokens: config.TokenList{{Name: config.DefaultTokenName, Value: token}}}
	o.DB, o.Listener = db, ln
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	return app.New(ctx, cfg, o)
}

// Close stops scimbridge and closes the pools, whichever of them were set up.
func (e *Env) Close() {
	if e.API != nil {
		e.API.Close()
	}
	if e.stopApp != nil {
		e.stopApp()
	}
	if e.Ceil != nil {
		e.Ceil.Close()
	}
	e.DB.Close()
}
