package config

import "time"

// Defaults of the [breaker] section.
const (
	DefaultBreakerWindow     = time.Hour
	DefaultBreakerRetryAfter = 5 * time.Minute
)

// Breaker is the [breaker] section: the deactivation circuit breaker (adapters/mysql/breaker). Off unless
// max_deactivations or max_percent is set. Past either threshold within window, further deactivations
// (PATCH or PUT active=false, DELETE) are held: answered 503 with Retry-After, which Okta and Entra retry,
// until `scimbridge breaker release` (or reject), or the window passes with auto_release.
type Breaker struct {
	MaxDeactivations int      `toml:"max_deactivations"` // more than this many within window trips it; 0: no count limit
	MaxPercent       float64  `toml:"max_percent"`       // more than this share (0-100) of active users within window trips it; 0: none
	Window           Duration `toml:"window"`            // how far back deactivations count [1h]
	// OnTrip is what a trip does: "hold" (the default) holds further deactivations; "alert" only sends
	// the event, logs and counts, letting them through (to tune the thresholds first).
	OnTrip      string   `toml:"on_trip"`
	AutoRelease bool     `toml:"auto_release"` // the breaker closes by itself once window has passed since the trip
	RetryAfter  Duration `toml:"retry_after"`  // the Retry-After of a held deactivation [5m]
}

// Enabled reports whether the breaker has a threshold.
func (b Breaker) Enabled() bool { return b.MaxDeactivations > 0 || b.MaxPercent > 0 }

func (c *Config) validateBreaker(p *problems) {
	b := &c.Breaker
	if b.Window.Duration == 0 {
		b.Window.Duration = DefaultBreakerWindow
	}
	if b.RetryAfter.Duration == 0 {
		b.RetryAfter.Duration = DefaultBreakerRetryAfter
	}
	if b.OnTrip == "" {
		b.OnTrip = "hold"
	}
	if b.MaxDeactivations < 0 {
		p.add("breaker.max_deactivations", "breaker.max_deactivations must be a positive number of deactivations (leave it out for no count limit), got %d", b.MaxDeactivations)
	}
	if b.MaxPercent < 0 || b.MaxPercent > 100 {
		p.add("breaker.max_percent", "breaker.max_percent must be a percentage of active users between 0 and 100, got %g", b.MaxPercent)
	}
	if b.Window.Duration < 0 {
		p.add("breaker.window", "breaker.window must be a positive duration such as \"1h\", got %s", b.Window.Duration)
	}
	if b.RetryAfter.Duration < time.Second {
		p.add("breaker.retry_after", "breaker.retry_after must be at least \"1s\", got %s", b.RetryAfter.Duration)
	}
	if !oneOf(b.OnTrip, "hold", "alert") {
		p.add("breaker.on_trip", `breaker.on_trip must be "hold" (hold further deactivations) or "alert" (only tell), got %q`, b.OnTrip)
	}
}

// DefaultDriftEvery is how often serve checks drift when [drift] enables it without saying.
const DefaultDriftEvery = time.Hour

// Drift is the [drift] section: the periodic drift check inside serve (the same report as `scimbridge
// drift`), exported as metrics. Off unless every is set.
type Drift struct {
	Every Duration `toml:"every"` // how often; "" or "0" turns the check off
}

func (c *Config) validateDrift(p *problems) {
	if c.Drift.Every.Duration < 0 || (c.Drift.Every.Duration > 0 && c.Drift.Every.Duration < time.Minute) {
		p.add("drift.every", "drift.every must be at least \"1m\" (leave it out to check only with `scimbridge drift`), got %s", c.Drift.Every.Duration)
	}
}
