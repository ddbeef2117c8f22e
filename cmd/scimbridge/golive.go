package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"

	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/progress"
	"github.com/scimbridge/scimbridge/scim"
)

const planAbout = `What going live would do to the app's tables now: the users adopted, created, updated, deactivated,
the roles granted and revoked, and the conflicts go-live would stop at. Nothing is written: go-live
runs whole in one transaction that is rolled back. Exit 1 when go-live would stop at a conflict or error.`

const goliveAbout = `Apply shadow mode's state to the app's tables, N users or groups per transaction, with the audit rows
and events live mode would have written. Stop the shadow-mode serve first. Killed or stopped at a
conflict, it resumes where it stopped when run again.`

// plan runs `scimbridge plan`.
func (c *CLI) plan(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	asJSON := fs.Bool("json", false, "the plan as one JSON document")
	user := fs.String("user", "", "show only this user (SCIM id or userName, any letter case)")
	if code, ok := c.parseFlags(fs, "scimbridge plan --config FILE [--json] [--user ID|userName]", planAbout, args); !ok {
		return code
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	p, err := app.PlanGoLive(ctx, db, cfg, app.Options{})
	if err != nil {
		fmt.Fprintln(c.Stderr, "scimbridge:", err)
		return 1
	}
	if *user != "" {
		p.Users = slices.DeleteFunc(p.Users, func(u app.PlanUser) bool {
			return u.ID != *user && !scim.SameIdentity(u.UserName, *user)
		})
		p.Groups = nil
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p)
	} else {
		p.WriteText(c.Stdout, *user == "")
	}
	if p.Summary.Errors > 0 {
		return 1 // go-live would stop: a script can tell without reading the plan
	}
	return 0
}

// golive runs `scimbridge golive`.
func (c *CLI) golive(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("golive", flag.ContinueOnError)
	path := fs.String("config", "scimbridge.toml", "configuration file")
	batch := fs.Int("batch", app.DefaultGoLiveBatch, "users or groups per transaction")
	if code, ok := c.parseFlags(fs, "scimbridge golive --config FILE [--batch N]", goliveAbout, args); !ok {
		return code
	}
	cfg, db, code := c.loadDB(*path)
	if db == nil {
		return code
	}
	defer db.Close()
	log := newLogger(c.Stderr, cfg)
	rep := progress.Start("golive", 0, progress.Options{Terminal: c.Terminal, Log: log, Now: c.now})
	err := app.GoLive(ctx, db, cfg, app.Options{Log: log, Getenv: c.Getenv, ReadFile: c.ReadFile}, *batch, func(phase string, done, total int) {
		rep.SetTotal(total)
		rep.Update(done)
	})
	rep.Finish()
	switch {
	case errors.Is(err, app.ErrShadowLocked):
		fmt.Fprintln(c.Stderr, "scimbridge: a shadow-mode serve is running on this database: stop it, then run golive again")
		return 1
	case err != nil:
		fmt.Fprintln(c.Stderr, "scimbridge:", err)
		return 1
	}
	fmt.Fprintln(c.Stdout, "live: the app's tables hold the shadow state; serve with [server] mode = \"live\"")
	return 0
}
