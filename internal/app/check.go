package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/schemacheck"
	"github.com/scimbridge/scimbridge/config"
)

// Check is `scimbridge check`: it loads everything New would (the tokens, the DSN, each webhook's secret,
// the gate's certificate, key and IdP metadata) and looks at the database as serve would use it (the
// login, the migration version, the account's privileges, the app's tables against the mapping), without
// starting, migrating or writing anything. A Problem is something that makes serve fail or the mapping
// not work; each says how to fix it. The error is for a check that could not run at all.
func Check(ctx context.Context, cfg *config.Config, o Options) (schemacheck.Report, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var rep schemacheck.Report
	add := func(r schemacheck.Report) {
		rep.Problems = append(rep.Problems, r.Problems...)
		rep.Warnings = append(rep.Warnings, r.Warnings...)
	}
	problem := func(err error) { rep.Problems = append(rep.Problems, err.Error()) }
	if _, err := cfg.Tokens(o.Getenv, o.ReadFile); err != nil {
		problem(err)
	}
	for i := range cfg.Webhooks {
		if _, err := cfg.WebhookSecret(i, o.Getenv, o.ReadFile); err != nil {
			problem(fmt.Errorf("%w (serve refuses to start without it: set the variable or the file)", err))
		}
	}
	dsn, err := cfg.DSN(o.Getenv, o.ReadFile)
	if err != nil {
		problem(err)
		return rep, nil
	}
	db, err := mysql.Open(dsn, 2)
	if err != nil {
		problem(err)
		return rep, nil
	}
	defer db.Close()
	a := &App{cfg: cfg, o: o, log: o.Log, db: db}
	if err := a.checkGate(ctx, &rep); err != nil {
		return rep, err
	}
	if err := db.PingContext(ctx); err != nil {
		if refused := mysql.LoginRefused(err); refused != nil {
			problem(refused)
			return rep, nil
		}
		problem(fmt.Errorf("database not reachable: %w", err))
		return rep, nil
	}
	topo, err := schemacheck.DetectTopology(ctx, db)
	if err != nil {
		return rep, fmt.Errorf("detecting the topology: %w", err)
	}
	rep.Notes = append(rep.Notes, topo.Note)
	prefix := cfg.Database.BookkeepingPrefix
	version, err := bookkeeping.Version(ctx, db, prefix)
	if err != nil {
		return rep, fmt.Errorf("reading the migration version: %w", err)
	}
	grants, err := schemacheck.CheckGrants(ctx, db, schemacheck.Setup{Users: cfg.UsersMapping(), Roles: cfg.RolesMapping(),
		MoreRoles: cfg.MoreRoleStores(), Mirror: cfg.GroupsMapping().MirrorMapping(), Prefix: prefix}, version)
	if err != nil {
		return rep, fmt.Errorf("checking the account's privileges: %w", err)
	}
	add(grants)
	users, err := schemacheck.Check(ctx, db, cfg.UsersMapping(), prefix)
	if err != nil {
		return rep, fmt.Errorf("checking the database: %w", err)
	}
	add(users)
	for _, r := range cfg.RoleStores() {
		roles, err := schemacheck.CheckRoles(ctx, db, r, cfg.UsersMapping(), prefix)
		if err != nil {
			return rep, fmt.Errorf("checking the role tables: %w", err)
		}
		add(roles)
	}
	mirror, err := schemacheck.CheckGroupMirror(ctx, db, cfg.GroupsMapping().MirrorMapping())
	if err != nil {
		return rep, fmt.Errorf("checking the group mirror tables: %w", err)
	}
	add(mirror)
	return rep, nil
}

// checkGate builds the gate as New does (its files, secret and IdP metadata loaded, nothing served):
// what makes New fail is a problem; IdP metadata that cannot be fetched is a warning, since serve then
// starts and answers sign-ins with 503 until it loads.
func (a *App) checkGate(ctx context.Context, rep *schemacheck.Report) error {
	if a.cfg.Gate == nil {
		return nil
	}
	a.store = mysql.New(a.db, a.cfg.UsersMapping(), mysql.Options{Prefix: a.cfg.Database.BookkeepingPrefix})
	if err := a.newGate(ctx); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("gate: %v (serve would not start: fix the file or setting named)", err))
		return nil
	}
	if a.gate.Stats().MetadataFailures > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("gate: the IdP metadata could not be loaded from %s: serve starts, but sign-in answers 503 until it can (check the URL and that this host reaches the IdP)",
			a.cfg.Gate.IDPMetadataURL))
	}
	return nil
}
