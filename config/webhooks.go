package config

import (
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults of a [[webhooks]] entry.
const (
	DefaultWebhookTimeout     = 5 * time.Second
	DefaultWebhookGiveUpAfter = 72 * time.Hour
	DefaultWebhookRetention   = 168 * time.Hour
	// DefaultWebhookMaxPayloadBytes keeps bodies well under the 1 MiB that receivers commonly read
	// (the example receiver, the README's snippets): a body cut short fails its signature check.
	DefaultWebhookMaxPayloadBytes = 256 << 10
	// DefaultWebhookMaxRejections is how many attempts a receiver may refuse with a 4xx (other than 408,
	// 410, 429) before the delivery is dead: such an answer repeats, and the subject's later events wait.
	DefaultWebhookMaxRejections = 3

	// MinWebhookSecretBytes is the shortest signing secret accepted, after "whsec_" base64 decoding.
	MinWebhookSecretBytes = 16
)

// WebhookEventTypes are the events scimbridge emits (adapters/mysql writes them to the outbox); a
// [[webhooks]] entry subscribes to some of them, by name or by family ("user.*").
var WebhookEventTypes = []string{
	"user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted", "user.roles_changed",
	"group.created", "group.updated", "group.deleted", "group.members_added", "group.members_removed",
	"breaker.tripped", "breaker.released",
}

// Webhook is one [[webhooks]] entry: an endpoint of the host app that receives change events, signed
// the Standard Webhooks way (https://www.standardwebhooks.com).
type Webhook struct {
	Name        string   `toml:"name"`          // unique; default: the URL's host. Deliveries are kept under it.
	URL         string   `toml:"url"`           // http(s) address events are POSTed to
	Events      []string `toml:"events"`        // "user.created", "user.*", "*"; default ["*"]
	Secret      string   `toml:"secret"`        // literal signing secret; allowed but discouraged (see WebhookWarnings)
	SecretEnv   string   `toml:"secret_env"`    // environment variable holding the secret
	SecretFile  string   `toml:"secret_file"`   // file holding the secret
	Timeout     Duration `toml:"timeout"`       // per HTTP request; default 5s
	GiveUpAfter Duration `toml:"give_up_after"` // a delivery failing for this long is dead; default 72h
	MaxAttempts int      `toml:"max_attempts"`  // also dead after this many attempts; 0: no limit
	Retention   Duration `toml:"retention"`     // how long delivered deliveries are kept; default 168h
	// MaxPayloadBytes bounds a request body; a larger event is sent without its resource (and member
	// list), marked "truncated". Default 256 KiB.
	MaxPayloadBytes int `toml:"max_payload_bytes"`
	// MaxRejections: a delivery refused this many times with a 4xx other than 408/410/429 is dead. Default 3.
	MaxRejections int `toml:"max_rejections"`
	// Concurrency: posts in flight at once to this endpoint, each about another user or group (one
	// subject's events are posted one after the other, in order). Default 8.
	Concurrency int `toml:"concurrency"`
}

var (
	webhookNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	eventPatternPattern = regexp.MustCompile(`^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*))$`)
)

// validateWebhooks fills in the defaults of each [[webhooks]] entry and reports every wrong value.
func (c *Config) validateWebhooks(p *problems) {
	names := map[string]int{}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		u, err := url.Parse(w.URL)
		switch {
		case w.URL == "":
			p.addWebhook(i, "url", "webhooks[%d].url is missing: the address events are POSTed to, such as \"https://app.example.com/hooks/scim\"", i)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "":
			p.addWebhook(i, "url", "webhooks[%d].url must be an http:// or https:// address without user info or fragment, such as \"https://app.example.com/hooks/scim\", got %q", i, w.URL)
		}
		if w.Name == "" && err == nil && u.Hostname() != "" {
			w.Name = u.Hostname()
			if u.Port() != "" {
				w.Name += "-" + u.Port()
			}
		}
		switch first, dup := names[w.Name]; {
		case w.Name == "":
		case !webhookNamePattern.MatchString(w.Name):
			p.addWebhook(i, "name url", "webhooks[%d].name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", i, w.Name)
		case dup:
			p.addWebhook(i, "name url", "webhooks[%d].name %q is already the name of webhooks[%d]; give each webhook its own name (a name defaults to the URL's host)", i, w.Name, first)
		default:
			names[w.Name] = i
		}
		if len(w.Events) == 0 {
			w.Events = []string{"*"}
		}
		for j, e := range w.Events {
			if msg := checkEventPattern(e); msg != "" {
				p.addWebhook(i, "events", "webhooks[%d].events[%d]: %s", i, j, msg)
			}
		}
		c.validateWebhookSecret(p, i)
		for _, d := range []struct {
			name string
			v    *Duration
			def  time.Duration
		}{{"timeout", &w.Timeout, DefaultWebhookTimeout}, {"give_up_after", &w.GiveUpAfter, DefaultWebhookGiveUpAfter}, {"retention", &w.Retention, DefaultWebhookRetention}} {
			switch {
			case d.v.Duration < 0:
				p.addWebhook(i, d.name, "webhooks[%d].%s must be positive (leave it out for the default, %s), got %s", i, d.name, d.def, d.v.Duration)
			case d.v.Duration == 0:
				d.v.Duration = d.def
			}
		}
		if w.Timeout.Duration > 5*time.Minute {
			p.addWebhook(i, "timeout", "webhooks[%d].timeout must be at most 5m (a receiver should answer quickly and work afterwards), got %s", i, w.Timeout.Duration)
		}
		if w.Retention.Duration > 0 && w.Retention.Duration < time.Hour {
			p.addWebhook(i, "retention", "webhooks[%d].retention must be at least 1h, got %s", i, w.Retention.Duration)
		}
		// Zero stays zero here (the defaults are filled in by package webhook).
		if w.MaxPayloadBytes != 0 && w.MaxPayloadBytes < 4096 {
			p.addWebhook(i, "max_payload_bytes", "webhooks[%d].max_payload_bytes must be at least 4096 (the event without its resource must fit), got %d", i, w.MaxPayloadBytes)
		}
		if w.MaxRejections < 0 {
			p.addWebhook(i, "max_rejections", "webhooks[%d].max_rejections must be a positive number of attempts, or left out for 3, got %d", i, w.MaxRejections)
		}
		if w.Concurrency < 0 || w.Concurrency > 256 {
			p.addWebhook(i, "concurrency", "webhooks[%d].concurrency must be 1 to 256 posts in flight, or left out for 8, got %d", i, w.Concurrency)
		}
		if w.MaxAttempts < 0 {
			p.addWebhook(i, "max_attempts", "webhooks[%d].max_attempts must be a positive number of attempts, or left out for no limit, got %d", i, w.MaxAttempts)
		}
	}
}

// checkEventPattern returns what is wrong with an events pattern, or "".
func checkEventPattern(e string) string {
	if !eventPatternPattern.MatchString(e) {
		return fmt.Sprintf("%q is not an event type or pattern such as \"user.created\", \"user.*\" or \"*\"", e)
	}
	if e == "*" {
		return ""
	}
	family, name, _ := strings.Cut(e, ".")
	if name == "*" {
		for _, t := range WebhookEventTypes {
			if strings.HasPrefix(t, family+".") {
				return ""
			}
		}
		return fmt.Sprintf("%q: there are no %q events; the families are user, group and breaker", e, family)
	}
	if !slices.Contains(WebhookEventTypes, e) {
		msg := fmt.Sprintf("%q is not an event scimbridge sends; they are %s", e, joinWith(WebhookEventTypes, "and"))
		if s := closest(e, WebhookEventTypes); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return msg
	}
	return ""
}

func (c *Config) validateWebhookSecret(p *problems, i int) {
	w := &c.Webhooks[i]
	set := 0
	for _, v := range []string{w.Secret, w.SecretEnv, w.SecretFile} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		p.addWebhook(i, "", "webhooks[%d] has no signing secret: set secret_env (an environment variable) or secret_file; make one with: echo \"whsec_$(openssl rand -base64 32)\"", i)
	case set > 1:
		p.addWebhook(i, "secret_env secret_file secret", "webhooks[%d]: set only one of secret, secret_env and secret_file", i)
	case w.SecretEnv != "" && !envNamePattern.MatchString(w.SecretEnv):
		// The value is not printed: someone may have put the secret here instead of a variable name.
		p.addWebhook(i, "secret_env", "webhooks[%d].secret_env is not an environment variable name (letters, digits and _); put the secret in that variable, not here", i)
	case w.Secret != "":
		if _, err := WebhookSecretBytes(w.Secret); err != nil {
			p.addWebhook(i, "secret", "webhooks[%d].secret: %v", i, err)
		}
	}
}

// WebhookSecretBytes decodes a signing secret: "whsec_<base64>" as Standard Webhooks writes it, or else
// the raw text. Messages never contain the secret.
func WebhookSecretBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key := []byte(s)
	if b64, ok := strings.CutPrefix(s, "whsec_"); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return nil, fmt.Errorf("the secret starts with whsec_ but what follows is not base64")
		}
	}
	if len(key) < MinWebhookSecretBytes {
		return nil, fmt.Errorf("the secret is %d bytes long; it needs at least %d (make one with: echo \"whsec_$(openssl rand -base64 32)\")", len(key), MinWebhookSecretBytes)
	}
	return key, nil
}

// WebhookSecret returns the signing key of webhook i: its secret, the content of secret_file, or the
// variable named by secret_env, decoded by WebhookSecretBytes. main passes os.Getenv and os.ReadFile.
func (c *Config) WebhookSecret(i int, getenv func(string) string, readFile func(string) ([]byte, error)) ([]byte, error) {
	w := c.Webhooks[i]
	var secret, from string
	switch {
	case w.Secret != "":
		secret, from = w.Secret, "secret"
	case w.SecretFile != "":
		data, err := readFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook %q: secret_file: %w", w.Name, err)
		}
		secret, from = string(data), w.SecretFile
	default:
		secret, from = getenv(w.SecretEnv), "$"+w.SecretEnv
	}
	if strings.TrimSpace(secret) == "" {
		return nil, fmt.Errorf("webhook %q: no signing secret: %s is empty or not set", w.Name, from)
	}
	key, err := WebhookSecretBytes(secret)
	if err != nil {
		return nil, fmt.Errorf("webhook %q: %s: %w", w.Name, from, err)
	}
	return key, nil
}

// WebhookWarnings lists [[webhooks]] settings that work but are unwise, for the caller to log at startup.
func (c *Config) WebhookWarnings() []string {
	var w []string
	for i, h := range c.Webhooks {
		if h.Secret != "" {
			w = append(w, fmt.Sprintf("webhooks[%d].secret keeps the signing secret of webhook %q in the configuration file; prefer secret_env or secret_file", i, h.Name))
		}
		if u, err := url.Parse(h.URL); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			w = append(w, fmt.Sprintf("webhooks[%d].url is http://: events about users travel unencrypted to %s; use https://", i, u.Host))
		}
	}
	return w
}

// addWebhook records a problem about webhook i at the line of the first of keys (space-separated) that
// the entry sets, else at its [[webhooks]] header.
func (p *problems) addWebhook(i int, keys, format string, args ...any) {
	headers := p.lines[joinKey([]string{"webhooks"})]
	line := 0
	if i < len(headers) {
		line = headers[i]
		end := math.MaxInt
		if i+1 < len(headers) {
			end = headers[i+1]
		}
	search:
		for _, k := range strings.Fields(keys) {
			for _, l := range p.lines[joinKey([]string{"webhooks", k})] {
				if l > line && l < end {
					line = l
					break search
				}
			}
		}
	}
	p.errs = append(p.errs, &lineError{file: p.name, line: line, msg: fmt.Sprintf(format, args...)})
}

func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
