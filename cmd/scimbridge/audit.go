package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
)

const auditUsage = `Usage:
  scimbridge audit --config FILE [--user ID|userName] [--since TIME|DURATION] [--actor NAME] [--limit N] [--json] [--shadow]
      the audit trail, oldest first: who changed what, when, with the before and after
      (--shadow: shadow mode's, what each request would have done to the app's tables)
`

// audit runs `scimbridge audit`: the audit trail, readable or as JSON lines.
func (c *CLI) audit(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() { fmt.Fprint(c.Stderr, auditUsage); fs.PrintDefaults() }
	path := fs.String("config", "scimbridge.toml", "configuration file")
	user := fs.String("user", "", "a user's (or group's) SCIM id, or a userName (any letter case)")
	since := fs.String("since", "", "a time (RFC 3339) or a duration ago (24h, 7d)")
	actor := fs.String("actor", "", "the name of the token that made the changes")
	limit := fs.Int("limit", 1000, "the most recent rows to show")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	shadow := fs.Bool("shadow", false, "shadow mode's trail: the changes each request made to the copies of the app's tables")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	f := audit.Filter{Subject: *user, Actor: *actor, Limit: *limit}
	if *since != "" {
		t, err := parseAuditSince(*since, c.now())
		if err != nil {
			fmt.Fprintln(c.Stderr, "scimbridge:", err)
			return 2
		}
		f.Since = t
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	prefix := cfg.Database.BookkeepingPrefix
	if *shadow {
		prefix = config.ShadowPrefix(prefix)
	}
	recs, err := audit.List(ctx, db, bookkeeping.NewTables(prefix, bookkeeping.MySQL), f)
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge: reading the audit trail:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		for _, r := range recs {
			_ = enc.Encode(r)
		}
		return 0
	}
	for _, r := range recs {
		printAuditRecord(c.Stdout, r)
	}
	if len(recs) == 0 {
		fmt.Fprintln(c.Stdout, "no audit rows match")
	}
	return 0
}

// parseAuditSince is parseSince, with days too ("7d").
func parseAuditSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n > 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	return parseSince(s, now)
}

// printAuditRecord writes one row: a line saying who did what to whom, then one indented line per
// changed value.
func printAuditRecord(w io.Writer, r audit.Record) {
	actor := r.Actor
	if actor == "" {
		actor = "(scimbridge)" // no request: the role reconcile at start
	}
	line := fmt.Sprintf("%s  %s  %s %s", r.At.Format(time.RFC3339), actor, r.Operation, r.ResourceType)
	if r.Name != "" {
		line += fmt.Sprintf(" %q", r.Name)
	}
	line += " " + r.SCIMID
	if r.AppKey != nil {
		line += " app key " + *r.AppKey
	}
	if r.MemberID != nil {
		line += " member " + *r.MemberID
	}
	if r.RequestID != "" {
		line += "  request " + r.RequestID
	}
	fmt.Fprintln(w, line)
	diffs := func(kind string, m map[string]audit.Diff) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(w, "    %s %s: %s -> %s\n", kind, k, showValue(m[k].Before), showValue(m[k].After))
		}
	}
	diffs("column", r.Changes.Columns)
	diffs("attribute", r.Changes.Attributes)
	if ro := r.Changes.Roles; ro != nil {
		fmt.Fprintf(w, "    roles: %s -> %s\n", showValue(ro.Before), showValue(ro.After))
	}
	if len(r.Changes.Direct) > 0 { // the roles of "roles:" assigned on the user itself, not by a group
		fmt.Fprintf(w, "    direct: %s\n", showValue(r.Changes.Direct))
	}
	if len(r.Changes.Changed) > 0 {
		fmt.Fprintf(w, "    changed: %s\n", strings.Join(r.Changes.Changed, ", "))
	}
}

func showValue(v any) string {
	if v == nil {
		return "NULL"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
