package demo_test

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/scimbridge/scimbridge/demo"
)

// checkWalkthroughWebhooks: after the walkthrough, the app has received every event once, each subject's
// in commit order, and its page lists them newest first.
func checkWalkthroughWebhooks(t *testing.T, d *demo.Demo, out, carolID string) {
	t.Helper()
	evs := d.Webhooks()
	bySubject := map[string][]string{}
	ids := map[string]bool{}
	for _, e := range evs {
		bySubject[e.Subject] = append(bySubject[e.Subject], e.Type)
		if ids[e.ID] {
			t.Errorf("event %s kept twice", e.ID)
		}
		ids[e.ID] = true
	}
	carol := bySubject["user:"+carolID]
	want := []string{"user.created", "user.updated", "user.roles_changed", "user.roles_changed", "user.deactivated",
		"user.roles_changed", "user.deleted"}
	if !slices.Equal(carol, want) {
		t.Errorf("carol's webhooks: %v, want %v", carol, want)
	}
	var group []string
	for s, types := range bySubject {
		if strings.HasPrefix(s, "group:") {
			group = types
		}
	}
	if want := []string{"group.created", "group.members_added", "group.updated", "group.members_removed"}; len(bySubject) != 3 ||
		!slices.Equal(group, want) {
		t.Errorf("webhooks by subject: %v; want carol's, alice's and the group's %v", bySubject, want)
	}
	users, _ := usersByEmail(t, d)
	for _, e := range evs {
		if e.Subject == "user:"+carolID && (e.Name != demo.NewUser || e.AppKey != strconv.FormatInt(users[demo.NewUser].ID, 10)) {
			t.Errorf("carol's %s: name %q, app_user_key %q", e.Type, e.Name, e.AppKey)
		}
	}
	if st := d.WebhookStats(); st.Received != 12 || len(evs) != 12 || st.Duplicates != 0 || st.Rejected != 0 {
		t.Errorf("webhook stats %+v, %d kept; want 12 received, no duplicate, none rejected", st, len(evs))
	}
	var total int
	for _, s := range demo.Steps {
		total += len(s.Hooks)
	}
	if total != 12 || strings.Count(out, "Webhooks the app received") != len(demo.Steps) || !strings.Contains(out, "  user.deleted ") {
		t.Errorf("the walkthrough did not print the webhooks after each step (%d expected in Steps):\n%s", total, out)
	}
	_, page := get(t, http.DefaultClient, d.AppURL(), nil)
	del, created := strings.Index(page, "<td>user.deleted</td>"), strings.Index(page, "<td>user.created</td>")
	if del < 0 || created < del || !strings.Contains(page, "roles: [admin] -&gt; [support]") {
		t.Errorf("the page does not list the webhooks newest first:\n%s", page)
	}
}

// post sends a webhook to the app as scimbridge would, signed with secret at ts ("" signs nothing).
func post(t *testing.T, d *demo.Demo, secret, id string, ts time.Time, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.WebhookURL(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := wh.Sign(id, ts, []byte(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// The app keeps only events signed with the shared secret, recently, and each once; its page escapes them.
func TestWebhookReceiverVerifiesAndDeduplicates(t *testing.T) {
	d := start(t, demo.Options{})
	provision(t, d, `{"userName":"erin@example.com"}`)
	for deadline := time.Now().Add(5 * time.Second); len(d.Webhooks()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no webhook for erin's creation")
		}
	}
	real := d.Webhooks()[0]
	now := time.Now()
	forged := `{"id":"forged","type":"user.deleted","resource":{"id":"x","userName":"erin@example.com"}}`
	for name, code := range map[string]int{
		"unsigned":  post(t, d, "", "forged", now, forged),
		"wrong key": post(t, d, "whsec_"+"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "forged", now, forged),
		"too old":   post(t, d, d.WebhookSecret(), "forged", now.Add(-10*time.Minute), forged),
	} {
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	// A redelivery of an event the app has: 2xx, so that scimbridge stops, and not kept twice.
	if code := post(t, d, d.WebhookSecret(), real.ID, now, `{"id":"`+real.ID+`","type":"user.created","resource":{}}`); code != 204 {
		t.Errorf("redelivery: %d, want 204", code)
	}
	evil := `{"id":"e2","type":"user.updated","app_user_key":"<b>","changed":["<script>"],"resource":{"id":"<i>x</i>","userName":"<script>alert(1)</script>"}}`
	if code := post(t, d, d.WebhookSecret(), "e2", now, evil); code != 204 {
		t.Errorf("a new, well signed event: %d, want 204", code)
	}
	if st := d.WebhookStats(); st.Received != 2 || st.Duplicates != 1 || st.Rejected != 3 {
		t.Errorf("stats %+v; want 2 received, 1 duplicate, 3 rejected", st)
	}
	evs := d.Webhooks()
	if len(evs) != 2 || evs[0].ID != real.ID || evs[0].Type != "user.created" || evs[1].Subject != "user:<i>x</i>" {
		t.Errorf("kept %+v", evs)
	}
	_, page := get(t, http.DefaultClient, d.AppURL(), nil)
	if strings.Contains(page, "<script>") || strings.Contains(page, "<i>x") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") ||
		strings.Contains(page, "forged") {
		t.Errorf("the page shows the webhooks unescaped, or a forged one:\n%s", page)
	}
	if code, _ := get(t, http.DefaultClient, d.WebhookURL(), nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", d.WebhookURL(), code)
	}
}
