package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/scimbridge/scimbridge/agent"
	"github.com/scimbridge/scimbridge/internal/metrics"
	"github.com/scimbridge/scimbridge/saml"
	"github.com/scimbridge/scimbridge/webhook"
)

// metricsOn reports whether Prometheus metrics are served: [metrics] listen is set, or the caller gave
// a listener.
func (a *App) metricsOn() bool { return a.cfg.Metrics.Listen != "" || a.o.MetricsListener != nil }

// onRequest is the agent's OnRequest: the request metrics and the console's recent requests; nil
// without either.
func (a *App) onRequest() func(agent.RequestDone) {
	m, ring := a.metrics, a.requests
	switch {
	case m == nil && ring == nil:
		return nil
	case ring == nil:
		return func(d agent.RequestDone) { m.Request(d.Operation, d.Status, d.TokenName, d.Duration) }
	case m == nil:
		return ring.Add
	}
	return func(d agent.RequestDone) {
		m.Request(d.Operation, d.Status, d.TokenName, d.Duration)
		ring.Add(d)
	}
}

// watch registers the collectors that read state at scrape time: the connection pool, the webhook
// backlog and, with a gate, the gate's counters. Called once the parts exist.
func (a *App) watch() {
	a.metrics.WatchDB(a.db.DB)
	a.metrics.WatchWebhooks(a.webhookBacklog, a.o.Now)
	if g := a.gate; g != nil {
		a.metrics.WatchGate(func() metrics.GateCounts { return gateCounts(g.Stats()) })
	}
}

// webhookBacklog reads, per endpoint, the dead letters and the 410 state (webhook.Worker.List), and the
// backlog as `webhooks list` shows it (webhook.Worker.Backlog: deliveries waiting, events not fanned
// out yet, and the commit time of the oldest of them).
func (a *App) webhookBacklog(ctx context.Context) ([]metrics.Backlog, error) {
	rep, err := a.worker.List(ctx, webhook.ListOptions{Statuses: []string{webhook.StatusDead}, Limit: 1})
	if err != nil {
		return nil, err
	}
	backlog, err := a.worker.Backlog(ctx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]webhook.Backlog, len(backlog))
	for _, b := range backlog {
		byName[b.Endpoint] = b
	}
	out := make([]metrics.Backlog, 0, len(rep.Endpoints))
	for _, e := range rep.Endpoints {
		wb := byName[e.Name]
		b := metrics.Backlog{Endpoint: e.Name, Disabled: e.Disabled, Dead: int64(e.Counts[webhook.StatusDead]),
			Waiting: int64(wb.Waiting), Unsent: int64(wb.NotFanned)}
		if wb.Oldest != nil {
			b.OldestWaiting = *wb.Oldest
		}
		out = append(out, b)
	}
	return out, nil
}

func gateCounts(s saml.Stats) metrics.GateCounts {
	return metrics.GateCounts{Logins: s.Logins, Refusals: map[string]int64{
		"not_provisioned": s.NotProvisioned,
		"deactivated":     s.Deactivated,
		"rebound":         s.Rebound,
		"login_failed":    s.LoginFailures - s.Replays,
		"replay":          s.Replays,
		"directory_error": s.DirectoryErrors,
	}}
}

// listenMetrics opens the metrics listener unless the caller gave one.
func (a *App) listenMetrics() error {
	if a.metricsLn != nil || a.metrics == nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.Metrics.Listen)
	if err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	a.metricsLn = ln
	return nil
}

// serveMetrics serves GET /metrics on the metrics listener until the returned stop is called; nothing
// without metrics.
func (a *App) serveMetrics() (stop func()) {
	if a.metrics == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(a.metricsLn); err != nil && err != http.ErrServerClosed {
			a.log.Error("metrics stopped", "err", err)
		}
	}()
	a.log.Info("serving metrics", "addr", a.metricsLn.Addr().String(), "path", "/metrics")
	return func() { _ = srv.Close(); <-done }
}

// MetricsAddr is where the metrics are served; nil without metrics.
func (a *App) MetricsAddr() net.Addr {
	if a.metricsLn == nil {
		return nil
	}
	return a.metricsLn.Addr()
}
