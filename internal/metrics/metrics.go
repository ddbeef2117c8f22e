// Package metrics is scimbridge's Prometheus registry: the counters and histograms the running parts
// feed (SCIM requests, transaction retries, webhook deliveries, role reconciles) and the collectors
// that read state when Prometheus scrapes (the connection pool, the webhook backlog, the gate's
// counters). It knows none of those parts: internal/app connects them through plain functions. Every
// metric is described in README.md, "Operating scimbridge".
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry and what feeds it. Its methods are safe for concurrent use.
type Metrics struct {
	reg        *prometheus.Registry
	log        *slog.Logger
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	txRetries  prometheus.Counter
	deliveries *prometheus.CounterVec
	reconcile  prometheus.Histogram
	reconciled *prometheus.CounterVec
	breaker    *prometheus.CounterVec
	drift      *prometheus.GaugeVec
	driftAt    prometheus.Gauge
}

// New is a registry with the Go runtime's and the process's metrics and scimbridge's own. log gets
// the errors of scrape-time collectors (nil discards).
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimbridge_http_requests_total",
		Help: "SCIM requests answered, by operation (method and route), status code and token name.",
	}, []string{"operation", "status", "token"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scimbridge_http_request_duration_seconds",
		Help:    "Time to answer a SCIM request, by operation, status code and token name.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
	}, []string{"operation", "status", "token"})
	m.txRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scimbridge_db_transaction_retries_total",
		Help: "Transactions run again after a deadlock or lock-wait timeout.",
	})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimbridge_webhook_deliveries_total",
		Help: "Webhook delivery attempts recorded, by endpoint and result (delivered, failed, dead, interrupted).",
	}, []string{"endpoint", "result"})
	m.reconcile = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "scimbridge_roles_reconcile_duration_seconds",
		Help:    "Duration of role reconciles (at start).",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
	})
	m.reconciled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimbridge_roles_reconciled_users_total",
		Help: "Users whose roles a reconcile checked (outcome checked) or changed (outcome changed).",
	}, []string{"outcome"})
	m.breaker = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimbridge_breaker_events_total",
		Help: "Deactivation circuit breaker events in this process: tripped, held, released, auto_released, rejected.",
	}, []string{"event"})
	m.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scimbridge_drift_users",
		Help: "Users the last drift check found, by kind (column, role_removed, role_added, row_gone, unmanaged_active).",
	}, []string{"kind"})
	m.driftAt = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scimbridge_drift_last_check_timestamp_seconds",
		Help: "When the last drift check finished (Unix time); 0 before the first.",
	})
	m.reg.MustRegister(m.requests, m.latency, m.txRetries, m.deliveries, m.reconcile, m.reconciled, m.breaker, m.drift, m.driftAt,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus' text format. A collector that fails is logged and left
// out; the rest are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{m.log}, ErrorHandling: promhttp.ContinueOnError})
}

// Request counts one answered SCIM request. token is the token's name ("" unauthenticated: "none").
func (m *Metrics) Request(operation string, status int, token string, took time.Duration) {
	if token == "" {
		token = "none"
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(operation, code, token).Inc()
	m.latency.WithLabelValues(operation, code, token).Observe(took.Seconds())
}

// TxRetried counts one transaction run again.
func (m *Metrics) TxRetried() { m.txRetries.Inc() }

// Delivery counts one webhook delivery outcome.
func (m *Metrics) Delivery(endpoint, result string) {
	m.deliveries.WithLabelValues(endpoint, result).Inc()
}

// Reconciled records one role reconcile.
func (m *Metrics) Reconciled(took time.Duration, checked, changed int) {
	m.reconcile.Observe(took.Seconds())
	m.reconciled.WithLabelValues("checked").Add(float64(checked))
	m.reconciled.WithLabelValues("changed").Add(float64(changed))
}

// BreakerEvent counts one event of the deactivation circuit breaker.
func (m *Metrics) BreakerEvent(event string) { m.breaker.WithLabelValues(event).Inc() }

// DriftChecked records the counts of one drift check, by kind, finished at.
func (m *Metrics) DriftChecked(counts map[string]int, at time.Time) {
	for kind, n := range counts {
		m.drift.WithLabelValues(kind).Set(float64(n))
	}
	m.driftAt.Set(float64(at.UnixNano()) / 1e9)
}

// WatchDB adds the connection pool's statistics (sql.DBStats) as go_sql_* metrics with db_name="scimbridge".
func (m *Metrics) WatchDB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, "scimbridge"))
}

// slogPrinter gives promhttp a logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: collecting", "err", v) }

// timeout bounds each scrape-time query, so that a slow database does not hang the scrape.
const timeout = 5 * time.Second

func scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), timeout)
}
