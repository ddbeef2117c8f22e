package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimbridge/scimbridge/webhook"
)

// The demo's webhooks: scimbridge delivers every change to the sample app's POST /hooks/scim (hooks.go),
// configured by a [[webhooks]] entry appended to config.example.toml, and run by internal/app as for
// `scimbridge serve`.

const (
	webhookSecretEnv = "SCIMBRIDGE_DEMO_WEBHOOK_SECRET" // answered by the demo's own getenv, not the environment
	webhookName      = "legacy-app"
	webhookPath      = "/hooks/scim"
)

// webhookSection is the [[webhooks]] entry the demo runs with: every event to the sample app, with
// short timeouts and a short give-up time, as suits a demo whose receiver runs in the same process.
func webhookSection(appURL string) string {
	return fmt.Sprintf(`
[[webhooks]]
name = %q
url = "%s%s"
events = ["*"]
secret_env = %q
timeout = "2s"
give_up_after = "10m"
retention = "1h"
`, webhookName, appURL, webhookPath, webhookSecretEnv)
}

// WebhookTOML is the [[webhooks]] entry scimbridge runs with, appended to config.example.toml.
func (d *Demo) WebhookTOML() string { return d.hooksTOML }

// newWebhookSecret is a signing secret in the Standard Webhooks format, "whsec_" and 32 random bytes.
func newWebhookSecret() string {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	return "whsec_" + base64.StdEncoding.EncodeToString(buf)
}

// demoWorkerOptions are the demo's departures from serve's webhook.Options defaults: a shorter poll, so
// that an event reaches the page within a fraction of a second, retries seconds apart rather than
// minutes, and, where pruning fails on the engine (see probeLimits), a daily prune.
func demoWorkerOptions(o webhook.Options, noPrune bool) webhook.Options {
	o.PollInterval = 100 * time.Millisecond
	o.BackoffBase = time.Second
	o.BackoffMax = 15 * time.Second
	if noPrune {
		o.PruneEvery = 24 * time.Hour
	}
	return o
}

// HookWait bounds how long the walkthrough waits after a step for the app to receive its webhooks.
const HookWait = 3 * time.Second

// hookMark is how far the walkthrough has printed the app's webhooks.
type hookMark struct {
	seq      int64 // the last outbox event seen
	n        int   // the last event received (WebhookEvent.N)
	complete bool  // every event committed until seq has been received
}

// writeNewHooks waits, up to HookWait, until the app has received every event scimbridge committed
// since the last call, then prints the events the app received since; late ones show after a later
// step. It returns the types printed, and whether they are complete: every event committed so far received.
func (d *Demo) writeNewHooks(ctx context.Context, w io.Writer, m *hookMark) ([]string, bool, error) {
	var ids []struct {
		Seq     int64  `db:"seq"`
		EventID string `db:"event_id"`
	}
	if err := d.scimDB.SelectContext(ctx, &ids, "SELECT seq, event_id FROM `"+d.cfg.Database.BookkeepingPrefix+"outbox`"+
		" WHERE seq > ? ORDER BY seq", m.seq); err != nil {
		return nil, false, fmt.Errorf("reading scimbridge's outbox: %w", err)
	}
	missing := 0
	for deadline := time.Now().Add(HookWait); ; {
		missing = 0
		for _, e := range ids {
			if !d.hooks.has(e.EventID) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		if err := sleepUntil(ctx, time.Now().Add(20*time.Millisecond)); err != nil {
			return nil, false, err
		}
	}
	if len(ids) > 0 {
		m.seq = ids[len(ids)-1].Seq
	}
	wasComplete := m.complete
	m.complete = missing == 0
	got := d.hooks.since(m.n)
	if len(got) == 0 {
		fmt.Fprintln(w, "Webhooks the app received: none (nothing changed)")
	} else {
		m.n = got[len(got)-1].N
		fmt.Fprintf(w, "Webhooks the app received at %s (signature verified):\n", webhookPath)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range got {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Type, e.Subject, strings.TrimSpace(cell(e.Name)+"  "+e.Summary))
		}
		_ = tw.Flush()
	}
	if missing > 0 {
		fmt.Fprintf(w, "  (%d more still on their way after %s: they will show after a later step)\n", missing, HookWait)
	}
	types := make([]string, len(got))
	for i, e := range got {
		types[i] = e.Type
	}
	return types, wasComplete && m.complete, nil
}
