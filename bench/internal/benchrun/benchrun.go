// Package benchrun is how every load tool under bench/ runs: in a database of its own (benchdb), bounded
// by -timeout and stopped by Ctrl-C or SIGTERM, phase after phase under a "== name" heading, and with
// "tool: error" and exit status 1 when anything fails. A tool's main is then its flags and its phases,
// and the tools cannot drift apart in how they stop or clean up.
package benchrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scimbridge/scimbridge/bench/internal/benchdb"
)

// Main runs fn in a database of its own on the server of serverDSN (see benchdb.With), writing to
// stdout, with a context that ends on an interrupt, on SIGTERM or after timeout. When fn fails Main
// prints "name: error" on stderr and exits with status 1, after the database is dropped.
func Main(name, serverDSN string, timeout time.Duration, fn func(ctx context.Context, dsn string, out io.Writer) error) {
	MainIn(name, serverDSN, "", timeout, fn)
}

// MainIn is Main in the database named keep, created if missing and kept after the run (see
// benchdb.With); "" is Main.
func MainIn(name, serverDSN, keep string, timeout time.Duration, fn func(ctx context.Context, dsn string, out io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	err := benchdb.With(ctx, serverDSN, keep, os.Stdout, func(dsn string) error { return fn(ctx, dsn, os.Stdout) })
	cancel()
	stop()
	if err != nil {
		Exit(name, 1, err)
	}
}

// Exit prints "name: msg" on stderr and exits with code: 2 for bad flags, 1 for a failed run.
func Exit(name string, code int, msg any) {
	fmt.Fprintln(os.Stderr, name+":", msg)
	os.Exit(code)
}

// Phase is one step of a run.
type Phase struct {
	Name string
	Run  func(context.Context) error
}

// Phases runs each phase in turn under a heading "== Name" on out, and stops at the first that fails,
// returning its error prefixed with its name.
func Phases(ctx context.Context, out io.Writer, phases ...Phase) error {
	for _, p := range phases {
		fmt.Fprintf(out, "\n== %s\n", p.Name)
		if err := p.Run(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}
