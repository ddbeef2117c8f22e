// Command scimbridge gives a legacy MySQL/MariaDB app a SCIM 2.0 server. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/saml"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `scimbridge: a SCIM 2.0 server for an app's own MySQL/MariaDB tables

Usage:
  scimbridge serve   --config FILE   apply scimbridge's migrations, then serve SCIM (and the SAML gate
                                     in front of the app when the file has a [gate] section)
  scimbridge check   --config FILE   verify the app's tables against the mapping (exit 1 on problems)
  scimbridge migrate --config FILE   create or update scimbridge's own tables, then exit
  scimbridge webhooks list|retry|replay|enable|forget --config FILE ...
                                     webhook deliveries: see and act on them (scimbridge webhooks help)
  scimbridge version

Secrets come from the environment or files, never only from the TOML:
  SCIMBRIDGE_DSN           database DSN, e.g. app:secret@tcp(127.0.0.1:3306)/legacy (database.dsn_env)
  SCIMBRIDGE_TOKEN         bearer token(s) the IdP sends (auth.tokens_env), comma-separated for several
  SCIMBRIDGE_TOKEN_NEXT    a second token, for rotation without downtime
  SCIMBRIDGE_GATE_SECRET   secret of the gate's signed header (gate.signed_header.secret_env), if used
  (each [[webhooks]])      its signing secret, in the variable its secret_env names (or secret_file)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cli := &CLI{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, ReadFile: os.ReadFile}
	os.Exit(cli.Run(ctx, os.Args[1:]))
}

// CLI runs one command. Its fields are the outside world, so tests can run the real binary's code
// in-process with their own environment and learn the address it listens on.
type CLI struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	ReadFile       func(string) ([]byte, error)
	OnListen       func(addr net.Addr) // called once serve listens; may be nil
}

// Run executes the command in args and returns the exit code.
func (c *CLI) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(c.Stdout, "scimbridge", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(c.Stdout, usage)
		return 0
	case "serve", "check", "migrate":
	case "webhooks":
		return c.webhooks(ctx, rest)
	default:
		fmt.Fprintf(c.Stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return 1
	}
	log := newLogger(c.Stderr, cfg)
	for _, w := range append(cfg.Warnings(), cfg.WebhookWarnings()...) {
		log.Warn(w)
	}
	switch cmd {
	case "serve":
		err = c.serve(ctx, cfg, log)
	case "check":
		err = c.check(ctx, cfg)
	case "migrate":
		err = c.migrate(ctx, cfg, log)
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(c.Stderr, "scimbridge:", err)
		}
		return 1
	}
	return 0
}

// errReported means the command has already told the user what went wrong.
var errReported = errors.New("reported")

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (c *CLI) openDB(cfg *config.Config) (*sqlx.DB, error) {
	dsn, err := cfg.DSN(c.Getenv, c.ReadFile)
	if err != nil {
		return nil, err
	}
	return mysql.Open(dsn, cfg.Database.MaxOpenConns)
}

func (c *CLI) migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	db, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := mysql.Migrate(ctx, db, cfg.Database.BookkeepingPrefix)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", n)
	return nil
}

func (c *CLI) check(ctx context.Context, cfg *config.Config) error {
	db, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		if refused := mysql.LoginRefused(err); refused != nil {
			return refused
		}
		return fmt.Errorf("database not reachable: %w", err)
	}
	rep, err := schemacheck.Check(ctx, db, cfg.UsersMapping(), cfg.Database.BookkeepingPrefix)
	if err != nil {
		return fmt.Errorf("checking the database: %w", err)
	}
	roles, err := schemacheck.CheckRoles(ctx, db, cfg.RolesMapping(), cfg.UsersMapping(), cfg.Database.BookkeepingPrefix)
	if err != nil {
		return fmt.Errorf("checking the role tables: %w", err)
	}
	rep.Problems = append(rep.Problems, roles.Problems...)
	rep.Warnings = append(rep.Warnings, roles.Warnings...)
	mirror, err := schemacheck.CheckGroupMirror(ctx, db, cfg.GroupsMapping().MirrorMapping())
	if err != nil {
		return fmt.Errorf("checking the group mirror tables: %w", err)
	}
	rep.Problems = append(rep.Problems, mirror.Problems...)
	rep.Warnings = append(rep.Warnings, mirror.Warnings...)
	for _, p := range rep.Problems {
		fmt.Fprintln(c.Stdout, "PROBLEM:", p)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(c.Stdout, "warning:", w)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(c.Stdout, "%d problem(s), %d warning(s)\n", len(rep.Problems), len(rep.Warnings))
		return errReported
	}
	fmt.Fprintf(c.Stdout, "ok: the mapping fits table %q (%d warning(s))\n", cfg.UsersMapping().Table, len(rep.Warnings))
	return nil
}

func (c *CLI) serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	tokens, err := cfg.Tokens(c.Getenv, c.ReadFile)
	if err != nil {
		return err
	}
	db, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateWhenReachable(ctx, db, cfg.Database.BookkeepingPrefix, log); err != nil {
		return err
	}
	stopWebhooks, err := c.startWebhooks(ctx, db, cfg, log)
	if err != nil {
		return err
	}
	defer stopWebhooks()
	store := mysql.New(db, cfg.UsersMapping(), mysql.Options{Prefix: cfg.Database.BookkeepingPrefix, Log: log,
		Roles: cfg.RolesMapping(), GroupMirror: cfg.GroupsMapping().MirrorMapping()})
	if cfg.RolesMapping() != nil {
		// Rules may have changed since the last start: bring every user's roles in line before serving.
		start := time.Now()
		checked, changed, err := store.ReconcileRoles(ctx)
		if err != nil {
			return fmt.Errorf("reconciling roles: %w", err)
		}
		log.Info("roles reconciled", "users", checked, "changed", changed, "took", time.Since(start).Round(time.Millisecond).String())
	}
	handler := agent.New(agent.Config{
		BasePath:      cfg.Server.BasePath,
		PublicURL:     cfg.Server.PublicURL,
		MaxBodyBytes:  cfg.Server.MaxBodyBytes,
		Tokens:        tokens,
		PatchResponse: cfg.Server.PatchResponse,
		Users:         store,
		Groups:        store,
		UserType:      cfg.UsersMapping().Type,
		Log:           log,
	})
	gate, gateLn, err := c.newGate(ctx, cfg, db, store, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		if gateLn != nil {
			gateLn.Close()
		}
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving SCIM", "addr", ln.Addr().String(), "base_path", cfg.Server.BasePath, "version", version)
	if c.OnListen != nil {
		c.OnListen(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	gateCtx, stopGate := context.WithCancel(ctx)
	defer stopGate()
	gateDone := make(chan error, 1)
	if gate != nil {
		go func() { gateDone <- gate.Serve(gateCtx, gateLn) }()
	}
	select {
	case err := <-errc:
		return err
	case err := <-gateDone:
		if err == nil {
			err = errors.New("stopped")
		}
		return fmt.Errorf("gate: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if gate != nil {
		stopGate()
		if gerr := <-gateDone; err == nil {
			err = gerr
		}
	}
	return err
}

// newGate builds the SAML gate of the [gate] section and listens on gate.listen; nil, nil without one.
// The gate resolves identities through the same store the SCIM API writes, read-only.
func (c *CLI) newGate(ctx context.Context, cfg *config.Config, db *sqlx.DB, store *mysql.Store, log *slog.Logger) (*saml.Gate, net.Listener, error) {
	if cfg.Gate == nil {
		return nil, nil, nil
	}
	for _, w := range cfg.Gate.Warnings() {
		log.Warn(w)
	}
	dir := saml.StoreDirectory{Users: store, Access: store, Match: cfg.Gate.Match}
	opts, err := saml.FromConfig(cfg.Gate, dir, c.Getenv, c.ReadFile, log)
	if err != nil {
		return nil, nil, err
	}
	// Sessions and used assertions live in scimbridge's own tables: every replica shares them, and a
	// SCIM deactivation or DELETE ends a user's sessions in its own transaction.
	gs := mysql.NewGateSessions(db, cfg.Database.BookkeepingPrefix)
	opts.Sessions, opts.Replay = gs, gs
	gate, err := saml.New(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.Gate.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("gate.listen: %w", err)
	}
	return gate, ln, nil
}

// migrateWhenReachable applies migrations, waiting for the database if it is not up yet (containers
// often start before their database).
func migrateWhenReachable(ctx context.Context, db *sqlx.DB, prefix string, log *slog.Logger) error {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		n, err := mysql.Migrate(ctx, db, prefix)
		if err == nil {
			log.Info("database ready", "migrations_applied", n)
			return nil
		}
		if refused := mysql.LoginRefused(err); refused != nil {
			return refused
		}
		if pingErr := db.PingContext(ctx); pingErr == nil {
			return fmt.Errorf("migrating scimbridge's tables: %w", err)
		}
		log.Warn("database not reachable; retrying", "in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
