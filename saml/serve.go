package saml

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long requests in flight may finish when Serve's context ends.
const ShutdownTimeout = 15 * time.Second

// ListenAndServe listens on addr and serves the gate until ctx ends (see Serve).
func (g *Gate) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return g.Serve(ctx, ln)
}

// Serve serves the gate on ln with its own http.Server and refreshes the IdP metadata in the background,
// until ctx ends; then it shuts down gracefully and returns nil.
func (g *Gate) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads to the application included
		WriteTimeout:      3 * time.Minute, // longer than the upstream's response-header timeout
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	go g.refreshLoop(loopCtx)

	g.log.Info("gate: serving", "addr", ln.Addr().String(), "public_url", g.opts.PublicURL.String(),
		"upstream", g.opts.Upstream.String(), "acs", g.paths.acsURL, "entity_id", g.paths.metadataURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
