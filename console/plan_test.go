package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/app"
)

var planCount = regexp.MustCompile(`<td class="num" id="plan-([a-z]+)">(\d+)</td>`)

// In shadow mode the Drift and plan page computes `scimbridge plan` on its button: after two SCIM
// creates its counts are the plan's (2 creates), and the button needs the CSRF token. In live mode the
// page says there is no plan.
func TestPlanSectionShowsWhatPlanComputes(t *testing.T) {
	e := newEnv(t, setup{shadow: true})
	for _, name := range []string{"ada", "bea"} {
		e.mustDo(t, "POST", "/Users", `{"userName":"`+name+`@example.com","name":{"givenName":"`+name+`","familyName":"P"}}`, 201)
	}
	b := e.browser(t)
	e.signIn(t, b)
	_, page := b.get(t, e.console+"/drift")
	if !strings.Contains(page, `id="compute-plan"`) || !strings.Contains(page, `id="no-plan"`) {
		t.Fatalf("plan section before any plan:\n%s", page)
	}
	csrf := csrfOf(t, page)
	if resp, _ := b.post(t, e.console+"/drift", url.Values{"do": {"plan"}}, e.console); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("computing the plan without the CSRF token: %s", resp.Status)
	}
	if resp, _ := b.post(t, e.console+"/drift", url.Values{"do": {"plan"}, "csrf": {csrf}}, "http://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("computing the plan from another origin: %s", resp.Status)
	}
	_, page = b.get(t, e.console+"/drift")
	if !strings.Contains(page, `id="no-plan"`) {
		t.Fatalf("a refused POST computed a plan:\n%s", page)
	}
	resp, page := b.post(t, e.console+"/drift", url.Values{"do": {"plan"}, "csrf": {csrf}}, e.console)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Plan of 2 users and 0 groups computed.") {
		t.Fatalf("computing the plan: %s\n%s", resp.Status, page)
	}
	want, err := app.PlanGoLive(context.Background(), e.app.DB(), e.cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := want.Summary
	wantCounts := map[string]int{"adopt": s.Adopt, "create": s.Create, "update": s.Update, "deactivate": s.Deactivate,
		"reactivate": s.Reactivate, "delete": s.Delete, "unchanged": s.Unchanged, "grants": s.RoleGrants,
		"revokes": s.RoleRevokes, "groups": s.Groups, "errors": s.Errors}
	if s.Create != 2 {
		t.Fatalf("plan computes %d creates after two SCIM POSTs, want 2: %+v", s.Create, s)
	}
	got := map[string]int{}
	for _, m := range planCount.FindAllStringSubmatch(page, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) != len(wantCounts) {
		t.Fatalf("plan counts on the page %v, want %v", got, wantCounts)
	}
	for k, v := range wantCounts {
		if got[k] != v {
			t.Fatalf("plan count %s on the page is %d, plan computes %d (page %v)", k, got[k], v, got)
		}
	}
	for _, u := range want.Users {
		if !strings.Contains(page, `href="/users/`+u.ID+`">`+u.UserName+`</a>`) {
			t.Fatalf("the plan's user %s is not listed:\n%s", u.UserName, page)
		}
	}
	// Computing it wrote nothing: the app's table has no row of either user.
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM users WHERE email IN ('ada@example.com', 'bea@example.com')"); err != nil || n != 0 {
		t.Fatalf("the plan left %d app rows (%v), want 0", n, err)
	}
}

func TestPlanSectionInLiveMode(t *testing.T) {
	e := newEnv(t, setup{})
	b := e.browser(t)
	csrf := e.signIn(t, b)
	_, page := b.get(t, e.console+"/drift")
	if !strings.Contains(page, `id="plan-na"`) || strings.Contains(page, `id="compute-plan"`) {
		t.Fatalf("plan section in live mode:\n%s", page)
	}
	resp, page := b.post(t, e.console+"/drift", url.Values{"do": {"plan"}, "csrf": {csrf}}, e.console)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Not in shadow mode") || strings.Contains(page, `id="plan-counts"`) {
		t.Fatalf("computing a plan in live mode: %s\n%s", resp.Status, page)
	}
}
