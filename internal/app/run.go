package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Run delivers webhooks and serves SCIM (and the gate, with [gate]) until ctx ends or a server fails.
// When ctx ends it stops gracefully: requests in flight get server.shutdown_timeout to finish, then the
// gate and the webhook worker (whose deliveries in flight get the worker's StopGrace) stop. It returns
// nil after a clean stop, else why serving or stopping failed. Run is called at most once.
func (a *App) Run(ctx context.Context) error {
	if a.ran {
		return errors.New("app: Run called twice")
	}
	a.ran = true
	// Metrics stay up until the worker has stopped (deferred first, so run last).
	defer a.serveMetrics()()
	defer a.serveConsole()()
	// The worker outlives ctx until the servers have stopped: events of requests still finishing are
	// delivered by it, not left for the next start.
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if err := a.worker.Run(workerCtx); err != nil {
			a.log.Error("webhooks stopped", "err", err)
		}
	}()
	defer func() { stopWorker(); <-workerDone }()
	pruneCtx, stopPruner := context.WithCancel(ctx)
	prunerDone := make(chan struct{})
	go func() { defer close(prunerDone); a.runAuditPruner(pruneCtx) }()
	defer func() { stopPruner(); <-prunerDone }()
	driftCtx, stopDrift := context.WithCancel(ctx)
	driftDone := make(chan struct{})
	go func() { defer close(driftDone); a.runDriftCheck(driftCtx) }()
	defer func() { stopDrift(); <-driftDone }()

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.log.Info("serving SCIM", "addr", a.ln.Addr().String(), "base_path", a.cfg.Server.BasePath, "version", a.o.Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(a.ln) }()
	gateCtx, stopGate := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGate()
	gateDone := make(chan error, 1)
	if a.gate != nil {
		go func() { gateDone <- a.gate.Serve(gateCtx, a.gateLn) }()
	}
	select {
	case err := <-errc:
		stopGate()
		a.waitGate(gateDone)
		return err
	case err := <-gateDone:
		if err == nil {
			err = errors.New("stopped")
		}
		_ = srv.Close()
		return fmt.Errorf("gate: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	stopGate()
	if gerr := a.waitGate(gateDone); err == nil {
		err = gerr
	}
	return err
}

// waitGate waits for the gate's Serve to return; nil at once without a gate.
func (a *App) waitGate(done <-chan error) error {
	if a.gate == nil {
		return nil
	}
	return <-done
}
