// Package demo runs scimbridge against an embedded, in-memory MySQL-compatible database and a sample
// "legacy app" page, all in one process, so that a newcomer can try SCIM provisioning with nothing but Go
// installed. It is for cmd/scimbridge-demo only: the production binary cmd/scimbridge must never import it,
// because it links go-mysql-server, an engine that takes no row locks.
package demo

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/sqlscript"
	"github.com/scimbridge/scimbridge/scim"
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
	ListenSCIM string
	ListenApp  string
	ListenDB   string
	Token      string       // bearer token; empty generates one
	Log        *slog.Logger // scimbridge's log; nil discards
}

// Demo is a running demo: the embedded database, scimbridge's SCIM server and the sample app.
type Demo struct {
	engine  *Engine
	cfg     *config.Config
	scimDB  *sqlx.DB // scimbridge's pool, opened with mysql.Open like cmd/scimbridge does
	appDB   *sqlx.DB // the sample app's own pool
	scimSrv *http.Server
	appSrv  *http.Server
	scimURL string // http://host:port, without the base path
	appURL  string
	token   string
	limits  []string
	errc    chan error
}

// Start starts the database, loads the legacy app's schema and seed rows, migrates scimbridge's
// bookkeeping tables and starts both HTTP servers. Close stops them.
func Start(ctx context.Context, o Options) (d *Demo, err error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := o.Token
	if token == "" {
		buf := make([]byte, 24)
		_, _ = rand.Read(buf)
		token = hex.EncodeToString(buf)
	}
	if err := checkToken(token); err != nil {
		return nil, err
	}
	cfg, err := config.Parse(exampleConfig, "config.example.toml")
	if err != nil {
		return nil, fmt.Errorf("the embedded config.example.toml: %w", err)
	}
	cfg.Server.Listen = orFree(o.ListenSCIM)

	d = &Demo{cfg: cfg, token: token, errc: make(chan error, 2)}
	defer func() {
		if err != nil {
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = d.Close(shutdownCtx)
			d = nil
		}
	}()
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
	d.limits = probeLimits(ctx, store)
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
	if d.scimSrv, d.scimURL, err = d.serve(cfg.Server.Listen, handler, log); err != nil {
		return d, err
	}
	if d.appSrv, d.appURL, err = d.serve(orFree(o.ListenApp), d.appHandler(), log); err != nil {
		return d, err
	}
	return d, nil
}

func (d *Demo) serve(addr string, h http.Handler, log *slog.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
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
	return srv, "http://" + ln.Addr().String(), nil
}

// SCIMURL is the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2.
func (d *Demo) SCIMURL() string { return d.scimURL + d.cfg.Server.BasePath }

// AppURL is the sample app's page.
func (d *Demo) AppURL() string { return d.appURL + "/" }

// DBAddr is the embedded database's host:port.
func (d *Demo) DBAddr() string { return d.engine.Addr() }

// Token is the bearer token the SCIM server accepts.
func (d *Demo) Token() string { return d.token }

// Limits lists what scimbridge cannot do on the embedded engine, found by trying it at start.
func (d *Demo) Limits() []string { return d.limits }

// probeLimits tries what is known to fail on go-mysql-server v0.20.0, so that the demo tells only what
// is still true: a fix in scimbridge's SQL makes the line disappear.
func probeLimits(ctx context.Context, store *mysql.Store) []string {
	var limits []string
	f, err := scim.ParseFilter(`emails.value pr`)
	if err == nil {
		_, err = store.ListUsers(ctx, scim.ListQuery{Filter: f, StartIndex: 1, Count: 1})
	}
	if err != nil {
		limits = append(limits, "Filters on multi-valued attributes kept by scimbridge (emails, phoneNumbers, ...) answer 500:\n"+
			"go-mysql-server cannot parse the COLLATE clause in the JSON_TABLE(... COLUMNS (...)) that scimbridge sends.")
	}
	return limits
}

// Wait blocks until ctx is done (nil) or a server fails (its error).
func (d *Demo) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-d.errc:
		return err
	}
}

// Close stops the HTTP servers (letting requests in flight finish until ctx ends), then the database.
func (d *Demo) Close(ctx context.Context) error {
	var errs []error
	for _, srv := range []*http.Server{d.scimSrv, d.appSrv} {
		if srv != nil {
			errs = append(errs, srv.Shutdown(ctx))
		}
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

func orFree(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

func checkToken(t string) error {
	if len(t) < config.MinTokenLength {
		return fmt.Errorf("-token must be at least %d characters long", config.MinTokenLength)
	}
	if strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		return errors.New("-token must not contain spaces")
	}
	return nil
}
