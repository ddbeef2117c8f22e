package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/bench/internal/benchenv"
	"github.com/scimbridge/scimbridge/bench/internal/legacyusers"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/legacyapp"
	"github.com/scimbridge/scimbridge/webhook"
)

const (
	secret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretEnv = "BENCH_WEBHOOK_SECRET" // answered by the tool's own getenv
	token     = "bench-webhooklag-bearer-token"
)

func run(ctx context.Context, dsn string, o options, out io.Writer) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	rec := &receiver{wh: wh, ids: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	env, err := benchenv.Open(ctx, dsn, benchenv.Options{Conns: 20, Schema: legacyapp.UsersTable(), Prefix: "scim_"})
	if err != nil {
		return err
	}
	defer env.Close()
	cfg, err := legacyusers.Config(fmt.Sprintf("\n[[webhooks]]\nname = \"lag\"\nurl = \"http://%s/hooks\"\nevents = [\"*\"]\nsecret_env = %q\n",
		ln.Addr().String(), secretEnv))
	if err != nil {
		return err
	}
	opts := app.Options{
		Getenv: func(name string) string {
			if name == secretEnv {
				return secret
			}
			return ""
		},
		TuneWebhooks: func(wo webhook.Options) webhook.Options {
			if o.lanes > 0 {
				wo.Parallel = o.lanes
			}
			if o.poll > 0 {
				wo.PollInterval = o.poll
			}
			return wo
		},
	}
	if err := env.Serve(ctx, cfg, token, opts, o.clients, 30*time.Second); err != nil {
		return err
	}
	env.Log = slog.New(slog.DiscardHandler)
	var version string
	_ = env.DB.GetContext(ctx, &version, "SELECT VERSION()")
	fmt.Fprintf(out, "machine: %s %s/%s, NumCPU %d, GOMAXPROCS %d; server %s; scimbridge, receiver and database on this machine\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), version)

	l := &load{api: env.API}
	if err := l.makeGroups(ctx, o.groups); err != nil {
		return err
	}
	fmt.Fprintf(out, "== load: %d clients, mixed POST/PUT/PATCH/DELETE /Users and group member adds/removes, for %s\n", o.clients, o.duration)
	var before int
	if err := env.DB.GetContext(ctx, &before, "SELECT COUNT(*) FROM scim_outbox"); err != nil {
		return err
	}
	lctx, stop := context.WithTimeout(ctx, o.duration)
	start := time.Now()
	l.run(lctx, o.clients)
	stop()
	loadEnd := time.Now()
	loadTime := loadEnd.Sub(start)
	receivedDuringLoad := rec.distinct()

	var events int
	if err := env.DB.GetContext(ctx, &events, "SELECT COUNT(*) FROM scim_outbox"); err != nil {
		return err
	}
	events -= before
	backlogAtStop := events - receivedDuringLoad
	fmt.Fprintf(out, "  writes %d (%.0f/s), refused %d, transport errors %d; events committed %d (%.0f/s)\n",
		l.writes.Load(), float64(l.writes.Load())/loadTime.Seconds(), l.refused.Load(), l.errs.Load(), events, float64(events)/loadTime.Seconds())
	fmt.Fprintf(out, "  delivered during the load %d (%.0f/s); backlog when the load stopped %d\n",
		receivedDuringLoad, float64(receivedDuringLoad)/loadTime.Seconds(), backlogAtStop)

	var drained time.Duration
	for {
		if rec.distinct() >= events+before {
			drained = time.Since(loadEnd)
			break
		}
		if time.Since(loadEnd) > o.drainMax || ctx.Err() != nil {
			return fmt.Errorf("backlog not drained %s after the load: %d of %d events received", o.drainMax, rec.distinct(), events+before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintf(out, "  backlog drained %s after the load stopped\n", drained.Round(time.Millisecond))
	return report(ctx, env, rec, out)
}

// report prints the latency percentiles and checks the events against the outbox: each once, in seq
// order per subject.
func report(ctx context.Context, env *benchenv.Env, rec *receiver, out io.Writer) error {
	got, requests, bad := rec.snapshot()
	lat := make([]time.Duration, len(got))
	for i, r := range got {
		lat[i] = r.At.Sub(r.Time)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(out, "  commit-to-receipt latency over %d events: p50 %s, p90 %s, p99 %s, max %s\n", len(lat),
		pct(0.50).Round(time.Millisecond), pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))

	var rows []struct {
		Seq     int64  `db:"seq"`
		EventID string `db:"event_id"`
		Subject string `db:"subject"`
	}
	if err := env.DB.SelectContext(ctx, &rows, "SELECT seq, event_id, subject FROM scim_outbox"); err != nil {
		return err
	}
	type ref struct {
		seq     int64
		subject string
	}
	byID := make(map[string]ref, len(rows))
	for _, r := range rows {
		byID[r.EventID] = ref{r.Seq, r.Subject}
	}
	last := map[string]int64{}
	outOfOrder, unknown := 0, 0
	for _, r := range got {
		ref, ok := byID[r.ID]
		if !ok {
			unknown++
			continue
		}
		if ref.seq < last[ref.subject] {
			outOfOrder++
		}
		last[ref.subject] = ref.seq
	}
	fmt.Fprintf(out, "  requests %d, duplicates %d, bad signatures %d, out of order per subject %d, not in the outbox %d\n",
		requests, requests-len(got), bad, outOfOrder, unknown)
	if bad+outOfOrder+unknown > 0 {
		return fmt.Errorf("%d bad signatures, %d out of order, %d unknown events", bad, outOfOrder, unknown)
	}
	return nil
}
