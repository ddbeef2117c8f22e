package webhook

import (
	"fmt"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// Endpoint is one receiver of events: a [[webhooks]] entry with its secret read.
type Endpoint struct {
	Name        string        // unique and stable: deliveries and the cursor are kept under it
	URL         string        // events are POSTed here
	Events      []string      // patterns: "user.created", "user.*", "*"
	Secret      []byte        // HMAC-SHA256 key (a "whsec_" secret already base64-decoded)
	Timeout     time.Duration // per HTTP request
	GiveUpAfter time.Duration // a delivery failing for this long since it was enqueued is dead
	MaxAttempts int           // also dead after this many attempts; 0: no limit
	Retention   time.Duration // delivered deliveries are pruned after this long
	// MaxPayloadBytes bounds a request body: a larger event is sent reduced, with a "truncated" marker
	// (payload.go). A body a receiver cannot read whole fails its signature check on every retry.
	MaxPayloadBytes int
	// MaxRejections: refused this many times with a 4xx other than 408/410/429, a delivery is dead, so
	// that the later events of its subject are not held back for give_up_after.
	MaxRejections int
	// Concurrency is how many posts to this endpoint may be in flight at once, each about another
	// subject (a subject's events are posted one after the other); 0: Options.Parallel.
	Concurrency int
}

// Wants reports whether the endpoint subscribes to events of type typ: a pattern is "*", an exact
// type, or "family.*" for every type starting with "family.".
func (e *Endpoint) Wants(typ string) bool {
	for _, p := range e.Events {
		if p == "*" || p == typ {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(typ, prefix) {
			return true
		}
	}
	return false
}

// EndpointsFromConfig builds the endpoints of cfg's [[webhooks]], reading each secret from its
// variable or file, for a Worker that delivers. main passes os.Getenv and os.ReadFile.
func EndpointsFromConfig(cfg *config.Config, getenv func(string) string, readFile func(string) ([]byte, error)) ([]Endpoint, error) {
	out := EndpointsWithoutSecrets(cfg)
	for i := range out {
		key, err := cfg.WebhookSecret(i, getenv, readFile)
		if err != nil {
			return nil, err
		}
		out[i].Secret = key
	}
	return out, nil
}

// EndpointsWithoutSecrets builds the endpoints of cfg's [[webhooks]] without reading their secrets:
// enough for the operations (List, Retry, Replay, ...), which send nothing.
func EndpointsWithoutSecrets(cfg *config.Config) []Endpoint {
	out := make([]Endpoint, 0, len(cfg.Webhooks))
	for _, w := range cfg.Webhooks {
		out = append(out, Endpoint{
			Name:        w.Name,
			URL:         w.URL,
			Events:      append([]string(nil), w.Events...),
			Timeout:     w.Timeout.Duration,
			GiveUpAfter: w.GiveUpAfter.Duration,
			MaxAttempts: w.MaxAttempts,
			Retention:   w.Retention.Duration,

			MaxPayloadBytes: w.MaxPayloadBytes,
			MaxRejections:   w.MaxRejections,
			Concurrency:     w.Concurrency,
		})
	}
	return out
}

// check fills in defaults for fields left zero and rejects what cannot work.
func (e *Endpoint) check() error {
	if e.Name == "" || len(e.Name) > 64 {
		return fmt.Errorf("webhook endpoint name %q: 1 to 64 characters", e.Name)
	}
	if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
		return fmt.Errorf("webhook %q: url %q is not http(s)", e.Name, e.URL)
	}
	if len(e.Events) == 0 {
		e.Events = []string{"*"}
	}
	if e.Timeout <= 0 {
		e.Timeout = config.DefaultWebhookTimeout
	}
	if e.GiveUpAfter <= 0 {
		e.GiveUpAfter = config.DefaultWebhookGiveUpAfter
	}
	if e.Retention <= 0 {
		e.Retention = config.DefaultWebhookRetention
	}
	if e.MaxPayloadBytes <= 0 {
		e.MaxPayloadBytes = config.DefaultWebhookMaxPayloadBytes
	}
	if e.MaxRejections <= 0 {
		e.MaxRejections = config.DefaultWebhookMaxRejections
	}
	return nil
}
