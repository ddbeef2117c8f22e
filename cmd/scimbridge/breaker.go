package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
)

const breakerUsage = `Usage:
  scimbridge breaker status  --config FILE [--json]   the deactivation circuit breaker and what it holds
  scimbridge breaker release --config FILE [--by NAME]
                             close it: the held deactivations go through when the IdP retries them
  scimbridge breaker reject  --config FILE [--by NAME]
                             close it: the held deactivations are answered 409 when the IdP retries them
`

// breaker runs `scimbridge breaker SUBCOMMAND ...`.
func (c *CLI) breaker(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, breakerUsage)
		return 2
	}
	sub := args[0]
	switch sub {
	case "help", "-h", "--help":
		fmt.Fprint(c.Stdout, breakerUsage)
		return 0
	case "status", "release", "reject":
	default:
		fmt.Fprintf(c.Stderr, "unknown breaker command %q\n\n%s", sub, breakerUsage)
		return 2
	}
	fs := flag.NewFlagSet("breaker "+sub, flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	asJSON := fs.Bool("json", false, "status: as one JSON object")
	by := fs.String("by", "cli", "release, reject: who decided, recorded in the breaker row and its event")
	if code, ok := c.parseFlags(fs, "scimbridge breaker "+sub+" --config FILE", "", args[1:]); !ok {
		return code
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	t := bookkeeping.NewTables(cfg.Database.BookkeepingPrefix, bookkeeping.MySQL)
	if sub == "status" {
		st, err := breaker.ReadStatus(ctx, db, t, c.now(), cfg.Breaker.Window.Duration)
		if err != nil {
			fmt.Fprintln(c.Stderr, "scimbridge: reading the breaker:", err)
			return 1
		}
		if *asJSON {
			_ = json.NewEncoder(c.Stdout).Encode(st)
			return 0
		}
		printBreaker(c.Stdout, st, cfg.Breaker.Enabled())
		return 0
	}
	decision := breaker.DecisionRelease
	if sub == "reject" {
		decision = breaker.DecisionReject
	}
	run := &bookkeeping.Runner{DB: db, Tables: t, Now: c.now}
	n, err := breaker.Decide(ctx, run, uuid.NewString, decision, *by)
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge: breaker "+sub+":", err)
		return 1
	}
	verb := "will go through when the IdP retries them"
	if decision == breaker.DecisionReject {
		verb = "will be answered 409 when the IdP retries them"
	}
	fmt.Fprintf(c.Stdout, "breaker closed; %d held deactivation(s) %s\n", n, verb)
	return 0
}

func printBreaker(w io.Writer, st breaker.Status, enabled bool) {
	line := "breaker: " + st.State
	if st.State == breaker.StateTripped && st.TrippedAt != nil {
		line += " since " + st.TrippedAt.Format(time.RFC3339)
	}
	if !enabled {
		line += " ([breaker] sets no threshold: off)"
	}
	fmt.Fprintln(w, line)
	if st.Reason != "" {
		fmt.Fprintln(w, "last trip:", st.Reason)
	}
	if st.ChangedAt != nil {
		fmt.Fprintf(w, "last change: %s by %s\n", st.ChangedAt.Format(time.RFC3339), st.ChangedBy)
	}
	fmt.Fprintf(w, "deactivations in the window: %d\n", st.InWindow)
	if len(st.Held) == 0 {
		fmt.Fprintln(w, "held: none")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "USER ID\tUSERNAME\tOPERATION\tFIRST HELD\tATTEMPTS\tDECISION")
	for _, h := range st.Held {
		decision := "held"
		if h.Decision != nil {
			decision = *h.Decision
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", h.UserID, h.UserName, h.Operation, h.FirstHeld.UTC().Format(time.RFC3339), h.Attempts, decision)
	}
	_ = tw.Flush()
}
