package webhook

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
)

func TestSignaturesVerifyWithTheStandardWebhooksLibrary(t *testing.T) {
	body := []byte(`{"id":"e1","type":"user.created","resource":{"userName":"ann"}}`)
	ts := time.Now()
	for _, secret := range []string{whsec, "a raw secret, not base64 at all"} {
		key, err := config.WebhookSecretBytes(secret)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		setHeaders(h, key, "e1", ts, body)
		if h.Get(HeaderTimestamp) != strconv.FormatInt(ts.Unix(), 10) || h.Get(HeaderID) != "e1" {
			t.Fatalf("headers %v", h)
		}
		// The receiver configures the same text it was given: whsec_... as is, a raw secret as bytes.
		var wh *standardwebhooks.Webhook
		if secret == whsec {
			wh, err = standardwebhooks.NewWebhook(secret)
		} else {
			wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("%q: %v", secret, err)
		}
		want, _ := wh.Sign("e1", ts, body)
		if got := Sign(key, "e1", ts, body); got != want {
			t.Errorf("Sign = %s, library %s", got, want)
		}
		if err := wh.Verify(append(body, ' '), h); err == nil {
			t.Error("a changed body must not verify")
		}
	}
}

func TestWants(t *testing.T) {
	ep := Endpoint{Events: []string{"user.*", "group.members_added"}}
	for typ, want := range map[string]bool{
		"user.created": true, "user.deleted": true, "group.members_added": true,
		"group.created": false, "users.created": false, "user": false,
	} {
		if got := ep.Wants(typ); got != want {
			t.Errorf("Wants(%q) = %v", typ, got)
		}
	}
	if !(&Endpoint{Events: []string{"*"}}).Wants("group.deleted") {
		t.Error("* wants everything")
	}
}

func TestBackoffAndGivingUp(t *testing.T) {
	r := 0.0
	w := &Worker{o: withDefaults(Options{}), rand: func() float64 { return r }}
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 5: 160 * time.Second, 9: 2560 * time.Second, 10: time.Hour, 40: time.Hour} {
		r = 0.5
		if got := w.backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
		r = 0
		if got := w.backoff(n); got != want*8/10 {
			t.Errorf("backoff(%d) low = %s, want %s", n, got, want*8/10)
		}
		r = 0.99999
		if got := w.backoff(n); got < want*119/100 || got > want*12/10 {
			t.Errorf("backoff(%d) high = %s", n, got)
		}
	}

	r = 0.5
	ep := &endpoint{Endpoint: Endpoint{GiveUpAfter: 72 * time.Hour}}
	enq := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := claimed{Attempts: 0, EnqueuedAt: enq, Payload: []byte("{}")}
	if s, next := w.afterFailure(ep, c, outcome{}, enq); s != StatusFailed || next != enq.Add(10*time.Second) {
		t.Errorf("first failure: %s %s", s, next)
	}
	if _, next := w.afterFailure(ep, c, outcome{retryAfter: 5 * time.Minute}, enq); next != enq.Add(5*time.Minute) {
		t.Errorf("Retry-After is honoured: %s", next)
	}
	c.Attempts = 30
	late := enq.Add(71*time.Hour + 50*time.Minute)
	if s, next := w.afterFailure(ep, c, outcome{}, late); s != StatusFailed || next != enq.Add(72*time.Hour) {
		t.Errorf("a last attempt at the deadline: %s %s", s, next)
	}
	if s, _ := w.afterFailure(ep, c, outcome{}, enq.Add(72*time.Hour)); s != StatusDead {
		t.Errorf("dead at the deadline: %s", s)
	}
	ep.MaxAttempts = 31
	if s, _ := w.afterFailure(ep, c, outcome{}, enq); s != StatusDead {
		t.Errorf("dead after max_attempts: %s", s)
	}
}

func TestEndpointsFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`
[users]
table = "users"
[users.columns]
email = "userName"
is_active = "active"

[[webhooks]]
url = "https://app.example.com/hooks"
events = ["user.deleted"]
secret_env = "HOOK"
`), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	eps := EndpointsWithoutSecrets(cfg)
	if len(eps) != 1 || eps[0].Name != "app.example.com" || eps[0].Timeout != 5*time.Second || eps[0].Secret != nil {
		t.Fatalf("%+v", eps)
	}
	w, err := New(nil, Options{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(t.Context()); err == nil {
		t.Error("Run needs the secrets")
	}
	eps, err = EndpointsFromConfig(cfg, func(string) string { return whsec }, nil)
	if err != nil || len(eps[0].Secret) != 24 || !eps[0].Wants("user.deleted") || eps[0].Wants("user.created") {
		t.Fatalf("%+v, %v", eps, err)
	}
}

// config.WebhookEventTypes, which [[webhooks]] events are checked against, names what the store emits.
func TestConfigKnowsEveryEventType(t *testing.T) {
	for _, typ := range []string{mysql.EventUserCreated, mysql.EventUserUpdated, mysql.EventUserDeactivated, mysql.EventUserReactivated,
		mysql.EventUserDeleted, mysql.EventUserRolesChanged, mysql.EventGroupCreated, mysql.EventGroupUpdated, mysql.EventGroupDeleted,
		mysql.EventGroupMembersAdded, mysql.EventGroupMembersRemoved} {
		if !slices.Contains(config.WebhookEventTypes, typ) {
			t.Errorf("config.WebhookEventTypes lacks %q", typ)
		}
	}
}
