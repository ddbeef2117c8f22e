package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/scimbridge/scimbridge/webhook"
)

// newWorker builds the webhook worker of the [[webhooks]] endpoints and registers them. With no
// [[webhooks]], the worker only prunes old outbox events. Run delivers.
func (a *App) newWorker(ctx context.Context) (*webhook.Worker, error) {
	eps, err := webhook.EndpointsFromConfig(a.cfg, a.o.Getenv, a.o.ReadFile)
	if err != nil {
		return nil, err
	}
	o := webhook.Options{Prefix: a.cfg.Database.BookkeepingPrefix, Endpoints: eps, Log: a.log, Now: a.o.Now, Rand: a.o.Jitter}
	if a.metrics != nil {
		o.OnOutcome = a.metrics.Delivery
		o.OnTxRetry = a.metrics.TxRetried
	}
	if a.o.TuneWebhooks != nil {
		o = a.o.TuneWebhooks(o)
	}
	w, err := webhook.New(a.db, o)
	if err != nil {
		return nil, err
	}
	// Before SCIM is served, so that no change slips between a new endpoint's start and its first event.
	if err := w.Register(ctx); err != nil {
		return nil, fmt.Errorf("registering the webhook endpoints: %w", err)
	}
	return w, nil
}

// notifyOnWrite calls notify after each request that may have written (anything but GET, HEAD and
// OPTIONS), once the answer is written: the change has committed by then, and the webhook worker wakes
// to deliver its events at once instead of at its next poll.
func notifyOnWrite(h http.Handler, notify func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			notify()
		}
	})
}
