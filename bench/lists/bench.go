package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/benchsql"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/bench/internal/loadstats"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/scim"
)

const token = "bench-lists-token"

type listResponse struct {
	Total      int              `json:"totalResults"`
	Resources  []map[string]any `json:"Resources"`
	NextCursor string           `json:"nextCursor"`
}

func run(ctx context.Context, o options, dsn string, out io.Writer) error {
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
	var live int
	if err := env.DB.GetContext(ctx, &live, "SELECT COUNT(*) FROM scim_users WHERE deleted_at IS NULL"); err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(out, "seeded %d users (%d live, 1 %% tombstones, 5 %% inactive) with SQL in %s\n", o.users, live, time.Since(start).Round(time.Millisecond))
		// The seed wrote documents without scimbridge: their values table rows come from reindex, as after
		// a bulk import (`scimbridge reindex`), which also counts them (user_counts).
		start = time.Now()
		if err := mysql.Reindex(ctx, env.DB, "scim_", nil); err != nil {
			return err
		}
		if err := benchsql.Analyze(ctx, env.DB, "scim_user_values"); err != nil {
			return err
		}
		fmt.Fprintf(out, "reindexed the values of %d users in %s\n", live, time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(out, "reusing the %d users (%d live) of the kept database\n", o.users, live)
	}
	cfg, err := legacyusers.Config("")
	if err != nil {
		return err
	}
	if err := env.Serve(ctx, cfg, token, app.Options{}, o.clients, time.Minute); err != nil {
		return err
	}
	get := func(path string) (listResponse, error) {
		var r listResponse
		err := env.API.Call(ctx, "GET", path, nil, 200, &r)
		return r, err
	}
	one := func(name, path string, check func(listResponse) error) error {
		res, err := loadstats.Hammer(ctx, o.reps, 1, func(ctx context.Context, _ int) error {
			r, err := get(path)
			if err == nil && check != nil {
				err = check(r)
			}
			return err
		})
		fmt.Fprintf(out, "%-44s 1 client   %s\n", name, res)
		return err
	}
	wantTotal := func(n int) func(listResponse) error {
		return func(r listResponse) error {
			if r.Total != n {
				return fmt.Errorf("totalResults %d, want %d", r.Total, n)
			}
			return nil
		}
	}
	for _, p := range []struct{ name, path string }{
		{"GET /Users?count=1", "/Users?count=1"},
		{"GET /Users?startIndex=1&count=100", "/Users?startIndex=1&count=100"},
		{"GET /Users?startIndex=<middle>&count=100", "/Users?count=100&startIndex=" + strconv.Itoa(live/2)},
		{"GET /Users?startIndex=<last 100>&count=100", "/Users?count=100&startIndex=" + strconv.Itoa(live-99)},
		{"GET /Users?cursor=&count=100", "/Users?cursor=&count=100"},
	} {
		if err := one(p.name, p.path, wantTotal(live)); err != nil {
			return err
		}
	}
	first, err := get("/Users?cursor=&count=100")
	if err != nil {
		return err
	}
	if err := one("GET /Users?cursor=<second page>&count=100", "/Users?count=100&cursor="+url.QueryEscape(first.NextCursor), wantTotal(live)); err != nil {
		return err
	}
	if o.full {
		for _, byCursor := range []bool{true, false} {
			if err := fullListing(ctx, out, get, live, byCursor); err != nil {
				return err
			}
		}
	}
	for _, f := range []struct{ name, filter string }{
		{"userName eq", `userName eq "user%d@bench.example.com"`},
		{"emails.value eq (bookkeeping doc)", `emails.value eq "user%d@bench.example.com"`},
		{"externalId eq", `externalId eq "ext-%d"`},
	} {
		if !o.emails && strings.HasPrefix(f.name, "emails") {
			continue
		}
		res, err := loadstats.Hammer(ctx, o.lookups, o.clients, func(ctx context.Context, _ int) error {
			n := 1 + rand.IntN(o.users)
			for n%100 == 0 { // tombstones
				n = 1 + rand.IntN(o.users)
			}
			r, err := get("/Users?filter=" + url.QueryEscape(fmt.Sprintf(f.filter, n)))
			if err == nil && r.Total != 1 {
				err = fmt.Errorf("%s for user %d: totalResults %d", f.name, n, r.Total)
			}
			return err
		})
		fmt.Fprintf(out, "filter %-37s %d clients  %s\n", f.name, o.clients, res)
		if err != nil {
			return err
		}
		if err := explain(ctx, out, env.DB, mysql.New(env.DB, cfg.UsersMapping(), mysql.Options{}), fmt.Sprintf(f.filter, 1+live/2)); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "peak RSS of this process (client and scimbridge): %s\n", peakRSS())
	return nil
}

// fullListing pages through every user, 200 at a time, as an IdP's import does: by cursor, or by
// startIndex (Okta's import).
func fullListing(ctx context.Context, out io.Writer, get func(string) (listResponse, error), live int, byCursor bool) error {
	start := time.Now()
	seen, cursor, pages := 0, "", 0
	var lat []time.Duration
	for {
		path := "/Users?count=200&cursor=" + url.QueryEscape(cursor)
		if !byCursor {
			path = "/Users?count=200&startIndex=" + strconv.Itoa(seen+1)
		}
		t := time.Now()
		r, err := get(path)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
		if r.Total != live {
			return fmt.Errorf("page %d: totalResults %d, want %d", pages+1, r.Total, live)
		}
		seen += len(r.Resources)
		pages++
		if ctx.Err() != nil || len(r.Resources) == 0 || (byCursor && r.NextCursor == "") || (!byCursor && seen >= r.Total) {
			break
		}
		cursor = r.NextCursor
	}
	res := loadstats.Result{N: pages, Elapsed: time.Since(start), Latencies: lat}
	slices.Sort(res.Latencies)
	how := "cursor"
	if !byCursor {
		how = "startIndex"
	}
	fmt.Fprintf(out, "full listing by %s, pages of 200: %d users in %d pages, %s (%s)\n", how, seen, pages, res.Elapsed.Round(time.Millisecond), res)
	if seen != live {
		return fmt.Errorf("full listing by %s saw %d users, want %d", how, seen, live)
	}
	return ctx.Err()
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// explain prints MariaDB's plan of the first page query a list with this filter runs.
func explain(ctx context.Context, out io.Writer, db *sqlx.DB, store *mysql.Store, filter string) error {
	f, err := scim.ParseFilter(filter)
	if err != nil {
		return err
	}
	_, page, args, err := store.ListUsersSQL(f, 100)
	if err != nil {
		return err
	}
	cols, rows, err := benchsql.Strings(ctx, db, "EXPLAIN "+page, args...)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  EXPLAIN of its page query (%s):\n", filter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
	}
	return tw.Flush()
}
