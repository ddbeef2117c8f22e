package app

import (
	"crypto/rand"
	"io"

	"github.com/google/uuid"

	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
	"github.com/scimbridge/scimbridge/config"
)

// BreakerConfig compiles the [breaker] section for package breaker.
func BreakerConfig(b config.Breaker) breaker.Config {
	return breaker.Config{MaxDeactivations: b.MaxDeactivations, MaxPercent: b.MaxPercent, Window: b.Window.Duration,
		Hold: b.OnTrip != "alert", AutoRelease: b.AutoRelease, RetryAfter: b.RetryAfter.Duration}
}

// newBreaker is the deactivation circuit breaker of [breaker]; nil when it sets no threshold.
func (a *App) newBreaker() *breaker.Breaker {
	if !a.cfg.Breaker.Enabled() {
		return nil
	}
	var onEvent func(string)
	if a.metrics != nil {
		onEvent = a.metrics.BreakerEvent
	}
	return breaker.New(a.db, BreakerConfig(a.cfg.Breaker), breaker.Options{Prefix: a.cfg.Database.BookkeepingPrefix, Now: a.o.Now,
		NewID: uuidFrom(a.o.Rand), Log: a.log, OnEvent: onEvent})
}

// uuidFrom makes random UUIDs from r (crypto/rand when nil).
func uuidFrom(r io.Reader) func() string {
	if r == nil {
		r = rand.Reader
	}
	return func() string { return uuid.Must(uuid.NewRandomFromReader(r)).String() }
}
