package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
)

// drift runs `scimbridge drift`: the app's tables against what scimbridge last wrote, and --repair.
func (c *CLI) drift(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("drift", flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	asJSON := fs.Bool("json", false, "the report as one JSON object")
	repair := fs.Bool("repair", false, "write scimbridge's values back (managed columns and granted roles), one audited transaction per user")
	about := "Compare the app's users table and role storage with what scimbridge last wrote: columns changed in the app, rows the app " +
		"deleted, granted roles removed and managed roles given by hand, and active accounts SCIM does not manage."
	if code, ok := c.parseFlags(fs, "scimbridge drift --config FILE [--json] [--repair]", about, args); !ok {
		return code
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	s := app.NewStore(db, cfg, app.Options{Now: c.Now})
	rep, err := s.Drift(ctx)
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge: drift:", err)
		return 1
	}
	var res *mysql.RepairResult
	if *repair {
		r, err := s.RepairDrift(reqinfo.With(ctx, reqinfo.Info{Actor: mysql.RepairActor}), rep)
		if err != nil {
			fmt.Fprintln(c.Stderr, "scimbridge: drift --repair:", err)
			return 1
		}
		res = &r
	}
	if *asJSON {
		_ = json.NewEncoder(c.Stdout).Encode(struct {
			*mysql.DriftReport
			Repair *mysql.RepairResult `json:"repair,omitempty"`
		}{rep, res})
		return 0
	}
	printDrift(c.Stdout, rep)
	if res != nil {
		fmt.Fprintf(c.Stdout, "repaired %d user(s); %d left as they are (row gone, or roles given by hand)\n", len(res.Repaired), len(res.Skipped))
		for _, f := range res.Failed {
			fmt.Fprintf(c.Stdout, "repair failed for %q %s (nothing of it written): %s\n", f.UserName, f.ID, f.Error)
		}
	}
	if res != nil && len(res.Failed) > 0 {
		return 1
	}
	return 0
}

func printDrift(w io.Writer, rep *mysql.DriftReport) {
	fmt.Fprintf(w, "checked %d user(s) at %s\n", rep.Checked, rep.At.Format("2006-01-02T15:04:05Z"))
	for _, u := range rep.Users {
		line := fmt.Sprintf("user %q %s app key %v", u.UserName, u.ID, u.AppKey)
		if u.Deleted {
			line += " (deleted through SCIM)"
		}
		fmt.Fprintln(w, line)
		if u.RowGone {
			fmt.Fprintln(w, "    row gone: the app deleted the row (re-provision or DELETE the user in the IdP)")
		}
		if u.NoBaseline {
			fmt.Fprintln(w, "    columns not checked: no record of scimbridge's last write, nor an audit row (written before this version)")
		}
		if u.FromAudit {
			fmt.Fprintln(w, "    columns compared with the audit trail (last written before this version)")
		}
		for _, d := range u.Columns {
			fmt.Fprintf(w, "    column %s (%s): wrote %s, now %s\n", d.Column, d.Attribute, showValue(d.Wrote), showValue(d.Now))
		}
		for _, r := range u.Roles {
			if len(r.Removed) > 0 {
				fmt.Fprintf(w, "    roles [%s] removed by hand: %s\n", r.Store, strings.Join(r.Removed, ", "))
			}
			if len(r.Added) > 0 {
				fmt.Fprintf(w, "    roles [%s] given by hand (kept): %s\n", r.Store, strings.Join(r.Added, ", "))
			}
			if len(r.Extra) > 0 {
				fmt.Fprintf(w, "    roles [%s] given by hand (authoritative: --repair removes them): %s\n", r.Store, strings.Join(r.Extra, ", "))
			}
		}
	}
	for _, a := range rep.Unmanaged {
		line := fmt.Sprintf("unmanaged active account %q app key %v", a.UserName, a.AppKey)
		if len(a.Roles) > 0 {
			roles := make([]string, len(a.Roles))
			for i, r := range a.Roles {
				roles[i] = r.Role
			}
			line += " roles " + strings.Join(roles, ", ")
		}
		fmt.Fprintln(w, line)
	}
	parts := make([]string, 0, len(mysql.DriftKinds))
	for _, k := range mysql.DriftKinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, rep.Counts[k]))
	}
	fmt.Fprintln(w, "drift:", strings.Join(parts, ", "))
}

// access runs `scimbridge access`: every account, its groups and roles and where each came from.
func (c *CLI) access(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("access", flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	format := fs.String("format", "csv", "csv (one line per account and role) or json (one array)")
	about := "Export every account for an access review: app key, userName, active, SCIM groups, app roles and the rule that granted each; " +
		"then the accounts SCIM does not manage, with their roles."
	if code, ok := c.parseFlags(fs, "scimbridge access --config FILE [--format csv|json]", about, args); !ok {
		return code
	}
	if *format != "csv" && *format != "json" {
		fmt.Fprintf(c.Stderr, "scimbridge: --format must be csv or json, got %q\n", *format)
		return 2
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	entries, err := app.NewStore(db, cfg, app.Options{Now: c.Now}).Access(ctx)
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge: access:", err)
		return 1
	}
	if *format == "json" {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(entries)
		return 0
	}
	cw := csv.NewWriter(c.Stdout)
	_ = cw.Write([]string{"app_key", "scim_id", "userName", "active", "managed", "groups", "role", "store", "granted_by"})
	for _, e := range entries {
		base := []string{fmt.Sprint(e.AppKey), e.SCIMID, e.UserName, fmt.Sprint(e.Active), fmt.Sprint(e.Managed), strings.Join(e.Groups, "; ")}
		if len(e.Roles) == 0 {
			_ = cw.Write(append(base, "", "", ""))
		}
		for _, r := range e.Roles {
			_ = cw.Write(append(append([]string(nil), base...), r.Role, r.Store, strings.Join(r.Sources, "; ")))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge: access:", err)
		return 1
	}
	return 0
}
