package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Banner is printed first: what this demo is and what its database cannot do.
const Banner = `================================================================================
 scimbridge DEMO: for trying scimbridge only, never for production
================================================================================
 The database is go-mysql-server, an in-memory MySQL-compatible engine running
 inside this process. It is not MariaDB or MySQL:
   - it takes no row locks: SELECT ... FOR UPDATE locks nothing, and its
     transactions cannot run side by side (a commit would undo another one's),
     so the demo runs ONE transaction at a time on the whole database. How
     scimbridge behaves under concurrent load cannot be judged here;
   - everything is lost when the demo stops;
   - some of its error messages differ from MariaDB's, so a few bad requests
     that MariaDB turns into a 400 or 409 naming the column get a vaguer answer.
 The real binary, cmd/scimbridge, does not contain this engine: run it against
 MariaDB 10.11+ or MySQL 8 (see config.example.toml).
================================================================================
`

const usage = `scimbridge-demo: scimbridge, an in-memory MySQL-compatible database and a sample
legacy app, in one process.

Usage:
  go run ./cmd/scimbridge-demo [flags]

Flags:
`

// Main runs the demo command with args (without the program name) until ctx is done, and returns the
// exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimbridge-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o Options
	fs.StringVar(&o.ListenSCIM, "listen-scim", "127.0.0.1:0", "address of the SCIM API (port 0: a free port)")
	fs.StringVar(&o.ListenApp, "listen-app", "127.0.0.1:0", "address of the sample app's page (port 0: a free port)")
	fs.StringVar(&o.Token, "token", "", "bearer token for the SCIM API, at least 16 characters (default: a random one)")
	walk := fs.Bool("walkthrough", false, "run the printed curl steps against the servers, print each answer and the app's rows, then exit")
	verbose := fs.Bool("v", false, "log scimbridge's requests and warnings to stderr")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scimbridge-demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	fmt.Fprint(stdout, Banner)
	d, err := Start(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "scimbridge-demo:", err)
		return 1
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := d.Close(shutdownCtx); err != nil {
			fmt.Fprintln(stderr, "scimbridge-demo: stopping:", err)
		}
	}()

	for _, l := range d.Limits() {
		fmt.Fprintf(stdout, " NOT WORKING IN THIS DEMO: %s\n", strings.ReplaceAll(l, "\n", "\n   "))
	}
	fmt.Fprintf(stdout, `
 SCIM base URL   %s
 Bearer token    %s
 Legacy app      %s   (reload it after each step)
 Database        %s, database %q, user root, no password
                 (e.g. mysql -h 127.0.0.1 -P %s -u root %s)

Try it with curl, one step after the other:

`, d.SCIMURL(), d.Token(), d.AppURL(), d.DBAddr(), DatabaseName, port(d.DBAddr()), DatabaseName)
	WriteCurl(stdout, d.SCIMURL(), d.AppURL(), d.Token())

	if *walk {
		fmt.Fprintln(stdout, "\nRunning the walkthrough (-walkthrough):")
		if err := d.Walkthrough(ctx, stdout, nil); err != nil {
			fmt.Fprintln(stderr, "scimbridge-demo: walkthrough:", err)
			return 1
		}
		fmt.Fprintln(stdout, "\nWalkthrough done: every step answered as expected.")
		return 0
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	if err := d.Wait(ctx); err != nil {
		fmt.Fprintln(stderr, "scimbridge-demo:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Stopping.")
	return 0
}

func port(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}
