package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backlog is one webhook endpoint's state, read when Prometheus scrapes.
type Backlog struct {
	Endpoint      string
	Unsent        int64     // outbox events not fanned out to the endpoint yet
	Waiting       int64     // deliveries pending or failed (to be sent)
	Dead          int64     // dead letters: deliveries given up, kept for `webhooks retry`
	Disabled      bool      // the endpoint answered 410 Gone
	OldestWaiting time.Time // commit time of the oldest event waiting or not fanned out; zero when none waits
}

var (
	unsentDesc = prometheus.NewDesc("scimbridge_webhook_outbox_unsent",
		"Outbox events not fanned out to the endpoint yet.", []string{"endpoint"}, nil)
	waitingDesc = prometheus.NewDesc("scimbridge_webhook_backlog",
		"Deliveries waiting to be sent (pending or failed), by endpoint.", []string{"endpoint"}, nil)
	oldestDesc = prometheus.NewDesc("scimbridge_webhook_oldest_waiting_age_seconds",
		"Age of the oldest waiting delivery, by endpoint; 0 when none waits.", []string{"endpoint"}, nil)
	deadDesc = prometheus.NewDesc("scimbridge_webhook_dead_letters",
		"Dead deliveries kept (given up; `scimbridge webhooks retry` sends them again), by endpoint.", []string{"endpoint"}, nil)
	disabledDesc = prometheus.NewDesc("scimbridge_webhook_endpoint_disabled",
		"1 when the endpoint is disabled (it answered 410 Gone), else 0.", []string{"endpoint"}, nil)
)

// WatchWebhooks reads each endpoint's backlog with read at every scrape; now is the clock of ages.
func (m *Metrics) WatchWebhooks(read func(context.Context) ([]Backlog, error), now func() time.Time) {
	m.reg.MustRegister(&backlogCollector{read: read, now: now})
}

type backlogCollector struct {
	read func(context.Context) ([]Backlog, error)
	now  func() time.Time
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{unsentDesc, waitingDesc, oldestDesc, deadDesc, disabledDesc} {
		ch <- d
	}
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := scrapeContext()
	defer cancel()
	bs, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(waitingDesc, err)
		return
	}
	now := c.now()
	for _, b := range bs {
		age := 0.0
		if !b.OldestWaiting.IsZero() {
			age = max(now.Sub(b.OldestWaiting).Seconds(), 0)
		}
		disabled := 0.0
		if b.Disabled {
			disabled = 1
		}
		ch <- prometheus.MustNewConstMetric(unsentDesc, prometheus.GaugeValue, float64(b.Unsent), b.Endpoint)
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(b.Waiting), b.Endpoint)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, b.Endpoint)
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(b.Dead), b.Endpoint)
		ch <- prometheus.MustNewConstMetric(disabledDesc, prometheus.GaugeValue, disabled, b.Endpoint)
	}
}

// GateCounts are the gate's counters since it started.
type GateCounts struct {
	Logins   int64
	Refusals map[string]int64 // by reason: not_provisioned, deactivated, login_failed, ...
}

var (
	loginsDesc = prometheus.NewDesc("scimbridge_gate_logins_total",
		"Sessions the SAML gate started.", nil, nil)
	refusalsDesc = prometheus.NewDesc("scimbridge_gate_refusals_total",
		"Logins and requests the SAML gate refused, by reason.", []string{"reason"}, nil)
)

// WatchGate reads the gate's counters with read at every scrape.
func (m *Metrics) WatchGate(read func() GateCounts) {
	m.reg.MustRegister(gateCollector(read))
}

type gateCollector func() GateCounts

func (c gateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- loginsDesc; ch <- refusalsDesc }

func (c gateCollector) Collect(ch chan<- prometheus.Metric) {
	g := c()
	ch <- prometheus.MustNewConstMetric(loginsDesc, prometheus.CounterValue, float64(g.Logins))
	for reason, n := range g.Refusals {
		ch <- prometheus.MustNewConstMetric(refusalsDesc, prometheus.CounterValue, float64(n), reason)
	}
}
