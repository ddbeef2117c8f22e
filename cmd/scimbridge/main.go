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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/progress"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `scimbridge: a SCIM 2.0 server for an app's own MySQL/MariaDB tables

Usage:
  scimbridge serve   --config FILE   apply scimbridge's migrations, then serve SCIM (and the SAML gate
                                     in front of the app when the file has a [gate] section)
  scimbridge check   --config FILE   verify the app's tables against the mapping (exit 1 on problems)
  scimbridge migrate --config FILE   create or update scimbridge's own tables, then exit
  scimbridge reindex --config FILE   rebuild the index of values kept in scimbridge's own documents
                                     (after users were written with SQL, not through SCIM)
  scimbridge webhooks list|retry|replay|enable|forget --config FILE ...
                                     webhook deliveries: see and act on them (scimbridge webhooks help)
  scimbridge audit   --config FILE [--user ID|userName] [--since T] [--actor NAME] [--json]
                                     the audit trail: who changed what, when, before and after
                                     (--shadow: shadow mode's)
  scimbridge plan    --config FILE [--json] [--user ID|userName]
                                     what going live from shadow mode would do to the app's tables
  scimbridge golive  --config FILE [--batch N]
                                     apply shadow mode's state to the app's tables (resumable)
  scimbridge discard-shadow --config FILE
                                     throw shadow mode's state away, to start it over
  scimbridge breaker status|release|reject --config FILE
                                     the deactivation circuit breaker: see it, let held deactivations
                                     through, or make them fail (scimbridge breaker help)
  scimbridge drift   --config FILE [--json] [--repair]
                                     the app's tables against what scimbridge last wrote; --repair
                                     writes scimbridge's values back
  scimbridge access  --config FILE [--format csv|json]
                                     every account, its groups and roles and what granted each
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
	cli := &CLI{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, ReadFile: os.ReadFile, Terminal: progress.Terminal(os.Stderr)}
	os.Exit(cli.Run(ctx, os.Args[1:]))
}

// CLI runs one command. Its fields are the outside world, so tests can run the real binary's code
// in-process with their own environment and learn the address it listens on.
type CLI struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	ReadFile       func(string) ([]byte, error)
	OnListen       func(addr net.Addr) // called once serve listens; may be nil
	Terminal       io.Writer           // where long work redraws its progress line; nil: log lines
	Now            func() time.Time    // the clock of replay's --since and of progress [time.Now]
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
	case "serve", "check", "migrate", "reindex":
	case "webhooks":
		return c.webhooks(ctx, rest)
	case "audit":
		return c.audit(ctx, rest)
	case "plan":
		return c.plan(ctx, rest)
	case "golive":
		return c.golive(ctx, rest)
	case "discard-shadow":
		return c.discardShadow(ctx, rest)
	case "breaker":
		return c.breaker(ctx, rest)
	case "drift":
		return c.drift(ctx, rest)
	case "access":
		return c.access(ctx, rest)
	default:
		fmt.Fprintf(c.Stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	if code, ok := c.parseFlags(fs, "scimbridge "+cmd+" --config FILE", commandHelp[cmd], rest); !ok {
		return code
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
	case "reindex":
		err = c.reindex(ctx, cfg, log)
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(c.Stderr, "scimbridge:", err)
		}
		return 1
	}
	return 0
}

// commandHelp says what each command does, under its usage line in --help.
var commandHelp = map[string]string{
	"serve":   "Apply scimbridge's migrations, then serve SCIM (and the SAML gate with [gate], metrics with [metrics]).",
	"check":   "Verify the app's tables against the mapping; exit 1 on problems.",
	"migrate": "Create or update scimbridge's own tables, then exit.",
	"reindex": "Rebuild the values table (eq filters on attributes kept in scimbridge's documents) from every user's document, and each user's group and direct-role flags, in batches.",
}

// parseFlags parses args into fs. --help (-h) prints the command's usage and its own flags to stdout:
// exit 0. A bad flag prints the error and the same help to stderr: exit 2. ok is true when the command
// is to run.
func (c *CLI) parseFlags(fs *flag.FlagSet, usageLine, about string, args []string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	help := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s\n", usageLine)
		if about != "" {
			fmt.Fprintf(w, "\n%s\n", about)
		}
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		help(c.Stdout)
		return 0, false
	}
	fmt.Fprintf(c.Stderr, "scimbridge: %v\n\n", err)
	help(c.Stderr)
	return 2, false
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

// loadDB loads the configuration at path and opens its database, for the commands that work on
// scimbridge's tables (audit, webhooks). It reports a failure itself and returns its exit code.
func (c *CLI) loadDB(path string) (*config.Config, *sqlx.DB, int) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return nil, nil, 1
	}
	db, err := c.openDB(cfg)
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge:", err)
		return nil, nil, 1
	}
	return cfg, db, 0
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

func (c *CLI) reindex(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	db, err := c.openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	rep := progress.Start("reindex", 0, progress.Options{Terminal: c.Terminal, Log: log, Now: c.now})
	users := 0
	err = mysql.Reindex(ctx, db, cfg.Database.BookkeepingPrefix, func(done, total int) {
		rep.SetTotal(total)
		rep.Update(done)
		users = done
	})
	rep.Finish()
	if err != nil {
		return err
	}
	log.Info("values reindexed", "users", users)
	return nil
}

func (c *CLI) check(ctx context.Context, cfg *config.Config) error {
	rep, err := app.Check(ctx, cfg, app.Options{Getenv: c.Getenv, ReadFile: c.ReadFile})
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(c.Stdout, "PROBLEM:", p)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(c.Stdout, "warning:", w)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(c.Stdout, "note:", n)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(c.Stdout, "%d problem(s), %d warning(s)\n", len(rep.Problems), len(rep.Warnings))
		return errReported
	}
	fmt.Fprintf(c.Stdout, "ok: the mapping fits table %q (%d warning(s))\n", cfg.UsersMapping().Table, len(rep.Warnings))
	return nil
}

// serve builds scimbridge from cfg (internal/app, as the demo and the load tools do) and serves it until
// ctx ends.
func (c *CLI) serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.Gate != nil {
		for _, w := range cfg.Gate.Warnings() {
			log.Warn(w)
		}
	}
	a, err := app.New(ctx, cfg, app.Options{Getenv: c.Getenv, ReadFile: c.ReadFile, Log: log, Version: version, Terminal: c.Terminal})
	if err != nil {
		return err
	}
	defer a.Close()
	if c.OnListen != nil {
		c.OnListen(a.Addr())
	}
	return a.Run(ctx)
}
