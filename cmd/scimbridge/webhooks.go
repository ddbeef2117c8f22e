package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimbridge/scimbridge/internal/progress"
	"github.com/scimbridge/scimbridge/webhook"
)

const webhooksUsage = `Usage:
  scimbridge webhooks list   --config FILE [--endpoint NAME] [--status dead,failed,...] [--limit N]
  scimbridge webhooks retry  --config FILE --id ID          one dead or failed delivery, now
  scimbridge webhooks retry  --config FILE --dead [--endpoint NAME]   every dead delivery, now
  scimbridge webhooks skip   --config FILE --id ID [--reason TEXT]
                             make a waiting delivery dead now, so that its subject's later events go on
  scimbridge webhooks replay --config FILE --endpoint NAME --since TIME|DURATION
                             send again the events since TIME (2026-01-02T15:04:05Z) or DURATION ago (24h)
  scimbridge webhooks enable --config FILE --endpoint NAME   after a 410 Gone disabled it
  scimbridge webhooks forget --config FILE --endpoint NAME   drop what a removed endpoint was owed
`

// webhookFlags are each subcommand's own flags besides --config.
var webhookFlags = map[string]string{
	"list":   "endpoint status limit",
	"retry":  "id dead endpoint",
	"skip":   "id reason",
	"replay": "endpoint since",
	"enable": "endpoint",
	"forget": "endpoint",
}

// webhookHelp is the subcommand's lines of webhooksUsage.
func webhookHelp(sub string) string {
	var out []string
	in := false
	for _, l := range strings.Split(webhooksUsage, "\n") {
		if strings.HasPrefix(l, "  scimbridge webhooks ") {
			in = strings.HasPrefix(l, "  scimbridge webhooks "+sub+" ")
		}
		if in {
			out = append(out, l)
		}
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// webhooks runs `scimbridge webhooks SUBCOMMAND ...`.
func (c *CLI) webhooks(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, webhooksUsage)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(c.Stdout, webhooksUsage)
		return 0
	}
	sub := args[0]
	own, known := webhookFlags[sub]
	if !known {
		fmt.Fprintf(c.Stderr, "unknown webhooks command %q\n\n%s", sub, webhooksUsage)
		return 2
	}
	// Every flag is declared, then only the subcommand's own are offered: --help lists those alone and
	// another subcommand's flag is refused.
	fs := flag.NewFlagSet("webhooks "+sub, flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	endpoint := fs.String("endpoint", "", "endpoint name")
	statuses := fs.String("status", "", "list: statuses to show, comma-separated (default pending,failed,dead,disabled)")
	limit := fs.Int("limit", 50, "list: deliveries to show")
	id := fs.Int64("id", 0, "retry, skip: the delivery id (from list)")
	reason := fs.String("reason", "no reason given", "skip: why, kept as the delivery's last error")
	dead := fs.Bool("dead", false, "retry: every dead delivery (of --endpoint, or of all)")
	since := fs.String("since", "", "replay: a time (RFC 3339) or a duration ago (24h)")
	subFS := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || strings.Contains(" "+own+" ", " "+f.Name+" ") {
			subFS.Var(f.Value, f.Name, f.Usage)
		}
	})
	if code, ok := c.parseFlags(subFS, webhookHelp(sub), "", args[1:]); !ok {
		return code
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	w, err := webhook.New(db, webhook.Options{Prefix: cfg.Database.BookkeepingPrefix, Endpoints: webhook.EndpointsWithoutSecrets(cfg)})
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge:", err)
		return 1
	}
	needEndpoint := func() error {
		if *endpoint == "" {
			return errors.New("--endpoint NAME is required")
		}
		return nil
	}
	switch sub {
	case "list":
		var st []string
		if *statuses != "" {
			st = strings.Split(*statuses, ",")
		}
		var rep *webhook.Report
		if rep, err = w.List(ctx, webhook.ListOptions{Endpoint: *endpoint, Statuses: st, Limit: *limit}); err == nil {
			c.printWebhooks(rep)
		}
	case "retry":
		switch {
		case *id > 0:
			if err = w.Retry(ctx, *id); err == nil {
				fmt.Fprintf(c.Stdout, "delivery %d is due now\n", *id)
			}
		case *dead:
			var n int64
			if n, err = w.RetryDead(ctx, *endpoint); err == nil {
				fmt.Fprintf(c.Stdout, "%d dead deliveries are due now\n", n)
			}
		default:
			err = errors.New("give --id ID or --dead")
		}
	case "skip":
		if *id <= 0 {
			err = errors.New("--id ID is required")
		} else if err = w.Skip(ctx, *id, *reason); err == nil {
			fmt.Fprintf(c.Stdout, "delivery %d is dead (skipped); later events of its subject go on. `webhooks retry --id %d` sends it again\n", *id, *id)
		}
	case "replay":
		var from time.Time
		if err = needEndpoint(); err == nil {
			from, err = parseSince(*since, c.now())
		}
		if err == nil {
			var n int
			rep := progress.Start("replay", 0, progress.Options{Terminal: c.Terminal, Log: newLogger(c.Stderr, cfg), Now: c.now})
			n, err = w.ReplayProgress(ctx, *endpoint, from, func(done, total int) { rep.SetTotal(total); rep.Update(done) })
			rep.Finish()
			if err == nil {
				fmt.Fprintf(c.Stdout, "%d events since %s will be sent again to %s\n", n, from.UTC().Format(time.RFC3339), *endpoint)
			}
		}
	case "enable", "forget":
		if err = needEndpoint(); err == nil {
			var n int64
			if sub == "enable" {
				if n, err = w.Enable(ctx, *endpoint); err == nil {
					fmt.Fprintf(c.Stdout, "%s enabled; %d deliveries are due now\n", *endpoint, n)
				}
			} else if n, err = w.Forget(ctx, *endpoint); err == nil {
				fmt.Fprintf(c.Stdout, "%s forgotten; %d deliveries deleted\n", *endpoint, n)
			}
		}
	default:
		fmt.Fprintf(c.Stderr, "unknown webhooks command %q\n\n%s", sub, webhooksUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge:", err)
		return 1
	}
	return 0
}

func (c *CLI) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since must be a time such as 2026-01-02T15:04:05Z or a duration such as 24h, got %q", s)
}

func (c *CLI) printWebhooks(rep *webhook.Report) {
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tSTATE\tBACKLOG\tOLDEST AGE\tPENDING\tFAILED\tDEAD\tDISABLED\tDELIVERED\tOLDEST WAITING\tURL")
	for _, e := range rep.Endpoints {
		state := "active"
		switch {
		case e.Disabled:
			state = "DISABLED since " + e.DisabledAt.UTC().Format(time.RFC3339) + " (" + e.DisabledReason + ")"
		case !e.Configured:
			state = "not configured"
		}
		oldest := "-"
		if e.OldestWaiting != nil {
			oldest = e.OldestWaiting.UTC().Format(time.RFC3339)
		}
		age := "-"
		if e.Backlog.Oldest != nil {
			age = e.Backlog.OldestAge.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", e.Name, state, e.Backlog.Waiting+e.Backlog.NotFanned, age,
			e.Counts[webhook.StatusPending], e.Counts[webhook.StatusFailed],
			e.Counts[webhook.StatusDead], e.Counts[webhook.StatusDisabled], e.Counts[webhook.StatusDelivered], oldest, e.URL)
	}
	tw.Flush()
	if len(rep.Deliveries) == 0 {
		return
	}
	fmt.Fprintln(c.Stdout)
	tw = tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENDPOINT\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tEVENT\tTYPE\tSUBJECT\tLAST ERROR")
	for _, d := range rep.Deliveries {
		next, last := "-", ""
		if d.Status == webhook.StatusPending || d.Status == webhook.StatusFailed {
			next = d.NextAttemptAt.UTC().Format(time.RFC3339)
		}
		if d.LastError != nil {
			last = *d.LastError
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Endpoint, d.Status, d.Attempts, next, d.EventID, d.Type, d.Subject, strconv.Quote(last))
	}
	tw.Flush()
}
