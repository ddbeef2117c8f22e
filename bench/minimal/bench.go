package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/bench/internal/loopback"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
)

const token = "bench-minimal-token"

type target struct {
	name  string // in the users' names and the totals
	label string // in the headings
	api   *loopback.Server
}

// ops are the measurements, in the order of the table.
var ops = []string{"POST /Users", "PATCH active", "filter userName eq", "filter userName eq, 1 client"}

func run(ctx context.Context, o options, dsn string, out io.Writer) (err error) {
	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: 20, Schema: legacyapp.UsersTable(), Prefix: "scim_", Reuse: o.db != ""})
	if err != nil {
		return err
	}
	defer env.Close()
	start := time.Now()
	seeded, err := legacyusers.SeedSeq(ctx, env.DB, o.users)
	if err != nil {
		return err
	}
	if seeded {
		if err := mysql.Reindex(ctx, env.DB, "scim_", nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "seeded and reindexed %d users in %s\n", o.users, time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(out, "reusing the %d users of the kept database\n", o.users)
	}
	// The users this run writes go again at the end, so that a kept database stays the dataset it was.
	defer func() { err = errors.Join(err, cleanUp(context.WithoutCancel(ctx), env, out)) }()
	extra := ""
	if o.roles {
		// Every seeded user already holds the default role, as after scimbridge's first reconcile.
		if _, err := env.DB.ExecContext(ctx, "ALTER TABLE users ADD COLUMN IF NOT EXISTS role VARCHAR(32) NULL DEFAULT 'viewer'"); err != nil {
			return err
		}
		extra = "\n[roles]\n" + strings.ReplaceAll(legacyapp.ColumnRolesTOML, "[[rules]]", "[[roles.rules]]")
	}
	cfg, err := legacyusers.Config(extra)
	if err != nil {
		return err
	}
	start = time.Now()
	if err := env.Serve(ctx, cfg, token, app.Options{}, o.clients, time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(out, "scimbridge built and started (roles %v, its start-up role reconcile included) in %s\n", o.roles, time.Since(start).Round(time.Millisecond))

	db, err := mysql.Open(dsn, 20)
	if err != nil {
		return err
	}
	defer db.Close()
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	targets := []target{{"scimbridge", "scimbridge", env.API}}
	serve := func(name, label string, features bool) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: &minimal{db: db.DB, token: token, role: o.roles, features: features}, ReadHeaderTimeout: time.Minute}
		go func() { _ = srv.Serve(ln) }()
		stops = append(stops, func() { _ = srv.Close() })
		api := loopback.Client("http://"+ln.Addr().String()+"/scim/v2", token, o.clients, time.Minute)
		stops = append(stops, api.Close)
		targets = append(targets, target{name, label, api})
		return nil
	}
	if err := serve("minimal", "minimal", false); err != nil {
		return err
	}
	if o.feats {
		if err := serve("features", "minimal +features", true); err != nil {
			return err
		}
	}
	total := map[string]map[string]*loadstats.Result{}
	for _, t := range targets {
		total[t.name] = map[string]*loadstats.Result{}
		for _, op := range ops {
			total[t.name][op] = &loadstats.Result{}
		}
	}
	for round := 1; round <= o.rounds; round++ {
		// Each round starts with another server: the first of a round runs on the previous one's page cache.
		k := (round - 1) % len(targets)
		order := append(slices.Clone(targets[k:]), targets[:k]...)
		for _, t := range order {
			fmt.Fprintf(out, "\n== round %d: %s\n", round, t.label)
			res, err := measure(ctx, o, t, round)
			for i, r := range res {
				fmt.Fprintf(out, "%-30s %s\n", ops[i], r)
				total[t.name][ops[i]].Merge(r)
			}
			if err != nil {
				return err
			}
		}
	}
	summary(out, o, targets, total)
	return nil
}

// summary prints every server's throughput and p50 per measurement, scimbridge's ratios to the minimal
// server (the ceiling) and, with -features, to the minimal server with scimbridge's features (the floor
// of those features), and the CPU each request cost.
func summary(out io.Writer, o options, targets []target, total map[string]map[string]*loadstats.Result) {
	fmt.Fprintf(out, "\n== summary: %d rounds, each started by the next server; %d users; %d clients (but the last row); roles %v\n", o.rounds, o.users, o.clients, o.roles)
	fmt.Fprintf(out, "%-30s", "")
	for _, t := range targets {
		fmt.Fprintf(out, " %24s", t.label)
	}
	fmt.Fprintf(out, " %10s %10s", "rate", "p50")
	if o.feats {
		fmt.Fprintf(out, " %10s %10s", "rate +f", "p50 +f")
	}
	fmt.Fprintln(out)
	ratios := func(s, m *loadstats.Result) string {
		return fmt.Sprintf(" %9.2fx %9.2fx", s.PerSecond()/m.PerSecond(), float64(s.Pct(50))/float64(m.Pct(50)))
	}
	for _, op := range ops {
		fmt.Fprintf(out, "%-30s", op)
		for _, t := range targets {
			r := total[t.name][op]
			fmt.Fprintf(out, " %10.0f/s p50 %8s", r.PerSecond(), loadstats.MS(r.Pct(50)))
		}
		s := total["scimbridge"][op]
		fmt.Fprint(out, ratios(s, total["minimal"][op]))
		if o.feats {
			fmt.Fprint(out, ratios(s, total["features"][op]))
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "rate: scimbridge's throughput / the minimal server's (1 = the ceiling); p50: scimbridge's p50 / the minimal server's")
	if o.feats {
		fmt.Fprintln(out, "rate +f, p50 +f: the same against the minimal server doing the SQL of scimbridge's features by hand (features.go; 1 = the floor of those features)")
	}
	fmt.Fprintf(out, "\nCPU per request, the database server's and this process's (client and server), microseconds\n%-30s", "")
	for _, t := range targets {
		fmt.Fprintf(out, " %24s", t.label+": db / proc")
	}
	fmt.Fprintln(out)
	for _, op := range ops {
		fmt.Fprintf(out, "%-30s", op)
		for _, t := range targets {
			proc, db := total[t.name][op].CPUPerOp()
			fmt.Fprintf(out, " %14s / %7.0f", usOrDash(db), us(proc))
		}
		fmt.Fprintln(out)
	}
}

// measure runs one round's phases against t: POSTs of new users, a PATCH of active on each, and lookups of
// random seeded users, every answer checked.
func measure(ctx context.Context, o options, t target, round int) ([]loadstats.Result, error) {
	var out []loadstats.Result
	ids := make([]string, o.posts)
	phase := func(n, conc int, op func(ctx context.Context, i int) error) error {
		stop := profile(o, t, ops[len(out)], round)
		cpu := loadstats.ReadCPU()
		r, err := loadstats.Hammer(ctx, n, conc, op)
		r.CPU = loadstats.ReadCPU().Sub(cpu)
		stop()
		out = append(out, r)
		return loadstats.Check(r, err)
	}
	if err := phase(o.posts, o.clients, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("mb-%s-r%d-%d@bench.example.com", t.name, round, i)
		body, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name,
			"name": map[string]any{"givenName": "Mia", "familyName": "Bench"}, "active": true,
			"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}}})
		var r struct {
			ID string `json:"id"`
		}
		err := t.api.Call(ctx, "POST", "/Users", body, 201, &r)
		ids[i] = r.ID
		return err
	}); err != nil {
		return out, err
	}
	patch := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
	if err := phase(o.posts, o.clients, func(ctx context.Context, i int) error {
		var r struct {
			Active bool `json:"active"`
		}
		err := t.api.Call(ctx, "PATCH", "/Users/"+ids[i], patch, 200, &r)
		if err == nil && r.Active {
			err = fmt.Errorf("PATCH of %s: still active", ids[i])
		}
		return err
	}); err != nil {
		return out, err
	}
	lookup := func(ctx context.Context, _ int) error {
		n := 1 + rand.IntN(o.users)
		for n%100 == 0 { // tombstones
			n = 1 + rand.IntN(o.users)
		}
		name := fmt.Sprintf("user%d@bench.example.com", n)
		var r struct {
			Total     int `json:"totalResults"`
			Resources []struct {
				UserName string `json:"userName"`
			} `json:"Resources"`
		}
		err := t.api.Call(ctx, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), nil, 200, &r)
		if err == nil && (r.Total != 1 || len(r.Resources) != 1 || r.Resources[0].UserName != name) {
			err = fmt.Errorf("lookup of %s: totalResults %d, %d resources", name, r.Total, len(r.Resources))
		}
		return err
	}
	if err := phase(o.gets, o.clients, lookup); err != nil {
		return out, err
	}
	return out, phase(max(1, o.gets/4), 1, lookup)
}

// profile starts a CPU profile of one of scimbridge's phases when -profile-op names it, into
// -cpuprofile with the round appended; the func it returns stops it.
func profile(o options, t target, op string, round int) func() {
	if o.cpuProf == "" || o.profOp != op || t.name != "scimbridge" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", o.cpuProf, round))
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile-op:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

// cleanUp deletes the users the rounds wrote (app rows, bookkeeping, their values rows and records of
// the columns written) and the outbox and audit rows, and counts the users again: the minimal server
// keeps user_counts only with -features.
func cleanUp(ctx context.Context, env *benchenv.Env, out io.Writer) error {
	for _, q := range []string{
		"DELETE v FROM scim_user_values v JOIN scim_users b ON b.id = v.user_id WHERE b.user_name_lc LIKE 'mb-%'",
		"DELETE w FROM scim_user_written w JOIN scim_users b ON b.id = w.user_id WHERE b.user_name_lc LIKE 'mb-%'",
		"DELETE FROM scim_users WHERE user_name_lc LIKE 'mb-%'",
		"DELETE FROM users WHERE email LIKE 'mb-%'",
		"DELETE FROM scim_outbox",
		"DELETE FROM scim_audit",
		"DELETE g FROM scim_role_grants g LEFT JOIN scim_users b ON b.id = g.user_id WHERE b.id IS NULL",
	} {
		if _, err := env.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("clean-up: %w", err)
		}
	}
	if err := mysql.Recount(ctx, env.DB, "scim_"); err != nil {
		return err
	}
	fmt.Fprintln(out, "the users of the rounds deleted, users counted again")
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// usOrDash is d in microseconds, or "-" when the database's CPU could not be read (not on this machine).
func usOrDash(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", us(d))
}
