package console_test

import (
	"context"
	"encoding/json"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/console"
	"github.com/scimbridge/scimbridge/internal/app"
)

// Without a session every page sends the browser to the sign-in page; a wrong token, and the IdP's own
// SCIM token, are refused; the console token signs in with a cookie no script and no other site can use.
func TestTokenSignIn(t *testing.T) {
	e := newEnv(t, setup{})
	b := e.browser(t)
	for _, p := range []string{"/", "/requests", "/users", "/webhooks", "/config", "/drift"} {
		resp, page := b.get(t, e.console+p)
		if resp.Request.URL.Path != "/login" || !strings.Contains(page, `name="token"`) {
			t.Fatalf("GET %s without a session: ended at %s (%s)\n%s", p, resp.Request.URL, resp.Status, page)
		}
		if got := resp.Request.URL.Query().Get("return_to"); got != p {
			t.Errorf("GET %s: return_to %q", p, got)
		}
	}
	for _, tok := range []string{"wrong-token-0123456789abcdef", oktaToken, ""} {
		resp, page := b.post(t, e.console+"/login", url.Values{"token": {tok}}, e.console)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "not the console&#39;s admin token") {
			t.Fatalf("sign-in with %q: %s\n%s", tok, resp.Status, page)
		}
	}
	if resp, _ := b.get(t, e.console+"/users"); resp.Request.URL.Path != "/login" {
		t.Fatalf("a refused sign-in left a session: %s", resp.Request.URL)
	}

	// The sign-in answer itself, not followed: the cookie's attributes.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", e.console+"/login", strings.NewReader(url.Values{"token": {consoleToken}, "return_to": {"/users?q=x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.console)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users?q=x" {
		t.Fatalf("sign-in: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	set := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"scimbridge_console=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on an http console", set)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}

	e.signIn(t, b)
	resp, page := b.get(t, e.console+"/users")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Users</h1>") {
		t.Fatalf("GET /users signed in: %s\n%s", resp.Status, page)
	}
	// Signing out ends the session on the server: the old cookie opens nothing.
	csrf := csrfOf(t, page)
	b.post(t, e.console+"/logout", url.Values{"csrf": {csrf}}, e.console)
	if resp, _ := b.get(t, e.console+"/users"); resp.Request.URL.Path != "/login" {
		t.Fatalf("after sign-out: %s", resp.Request.URL)
	}
}

// A console token that is one of the IdP's SCIM tokens: serve refuses to start.
func TestConsoleTokenMustNotBeASCIMToken(t *testing.T) {
	e := newEnvConfig(t, setup{getenv: map[string]string{"CONSOLE_TOKEN": oktaToken}})
	_, err := app.New(context.Background(), e.cfg, e.opts)
	if err == nil || !strings.Contains(err.Error(), "one of the IdP's SCIM tokens") {
		t.Fatalf("app.New with the console token = okta's SCIM token: %v", err)
	}
}

// Every action needs the session's CSRF token and the console's Origin; refused, it changes nothing.
func TestActionsNeedCSRFAndOrigin(t *testing.T) {
	e := newEnv(t, setup{})
	_, delivery := e.deadDelivery(t, "csrf@example.com")
	b := e.browser(t)
	csrf := e.signIn(t, b)
	e.failing.Store(false)
	id := url.Values{"id": {itoa(delivery)}}
	cases := []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", id, e.console},
		{"a wrong token", with(id, "csrf", "0123"), e.console},
		{"another site", with(id, "csrf", csrf), "https://evil.example"},
		{"no Origin", with(id, "csrf", csrf), ""},
	}
	for _, c := range cases {
		resp, page := b.post(t, e.console+"/webhooks/retry", c.form, c.origin)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, `id="refused"`) {
			t.Fatalf("retry with %s: %s\n%s", c.name, resp.Status, page)
		}
		if s := e.deliveryStatus(t, delivery); s != "dead" {
			t.Fatalf("retry with %s was refused but the delivery is %s", c.name, s)
		}
	}
	// Without a session, even with a token from an old page.
	anon := e.browser(t)
	if resp, _ := anon.post(t, e.console+"/webhooks/retry", with(id, "csrf", csrf), e.console); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("retry without a session: %s", resp.Status)
	}
	resp, page := b.post(t, e.console+"/webhooks/retry", with(id, "csrf", csrf), e.console)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "will be sent again now") {
		t.Fatalf("retry: %s\n%s", resp.Status, page)
	}
	e.waitDelivered(t, delivery)
}

// A request the IdP got wrong shows on the Requests page with its status, scimType and reason, and a
// request that wrote links to its audit rows.
func TestRequestsShowReasonsAndAuditRows(t *testing.T) {
	e := newEnv(t, setup{})
	u := e.mustDo(t, "POST", "/Users", `{"userName":"rita@example.com","name":{"givenName":"Rita"}}`, 201)
	e.mustDo(t, "POST", "/Users", `{"userName":"rita@example.com"}`, 409)
	e.mustDo(t, "PATCH", "/Users/"+u["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"frobnicate","path":"title","value":"x"}]}`, 400)
	b := e.browser(t)
	e.signIn(t, b)
	_, page := b.get(t, e.console+"/requests?status=errors")
	for _, want := range []string{"409", "uniqueness", "400", "invalidSyntax", "frobnicate"} {
		if !strings.Contains(page, want) {
			t.Errorf("Requests page lacks %q", want)
		}
	}
	if strings.Contains(page, ">201<") {
		t.Errorf("status=errors shows a 201")
	}
	_, page = b.get(t, e.console+"/requests?status=2xx")
	var reqID string
	if err := e.db.Get(&reqID, "SELECT request_id FROM scim_audit WHERE scim_id = ? AND operation = 'user.created'", u["id"]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, `href="/requests/`+reqID+`"`) {
		t.Fatalf("the create's request %s is not linked:\n%s", reqID, page)
	}
	_, page = b.get(t, e.console+"/requests/"+reqID)
	if !strings.Contains(page, "user.created") || !strings.Contains(page, "rita@example.com") || !strings.Contains(page, "POST /scim/v2/Users") {
		t.Fatalf("request page lacks its audit row:\n%s", page)
	}
	if resp, _ := b.get(t, e.console+"/requests/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown request: %s", resp.Status)
	}
}

// Values the IdP controls (displayName, group names, userName) are shown escaped: a probe renders as
// text, never as markup.
func TestXSSProbesRenderInert(t *testing.T) {
	e := newEnv(t, setup{})
	probe := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	u := e.mustDo(t, "POST", "/Users", `{"userName":"xss@example.com","displayName":"`+jsonEsc(probe)+`","name":{"givenName":"X"}}`, 201)
	g := e.mustDo(t, "POST", "/Groups", `{"displayName":"`+jsonEsc(probe)+`","members":[{"value":"`+u["id"].(string)+`"}]}`, 201)
	b := e.browser(t)
	e.signIn(t, b)
	for _, p := range []string{"/users?q=xss", "/users/" + u["id"].(string), "/groups", "/groups/" + g["id"].(string), "/requests"} {
		_, page := b.get(t, e.console+p)
		if strings.Contains(page, "<script>") || strings.Contains(page, "<img src=x") {
			t.Fatalf("%s renders the probe as markup:\n%s", p, page)
		}
		if p != "/requests" && !strings.Contains(page, html.EscapeString("<script>alert(1)</script>")) {
			t.Errorf("%s does not show the probe as text", p)
		}
	}
}

// The user page: search by userName, email prefix and app key; the app row; each role with the group
// and rule that grant it.
func TestUserPageShowsRoleOrigin(t *testing.T) {
	e := newEnv(t, setup{})
	u := e.mustDo(t, "POST", "/Users", `{"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"L"}}`, 201)
	id := u["id"].(string)
	e.mustDo(t, "POST", "/Groups", `{"displayName":"Admins","members":[{"value":"`+id+`"}]}`, 201)
	e.mustDo(t, "POST", "/Groups", `{"displayName":"Testers","members":[{"value":"`+id+`"}]}`, 201)
	var appKey string
	if err := e.db.Get(&appKey, "SELECT CAST(id AS CHAR) FROM users WHERE email = 'ada@example.com'"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	e.signIn(t, b)
	for _, q := range []string{"ada", "ADA@EXAMPLE.COM", appKey} {
		_, page := b.get(t, e.console+"/users?q="+url.QueryEscape(q))
		if !strings.Contains(page, `href="/users/`+id+`"`) {
			t.Fatalf("search %q does not find ada:\n%s", q, page)
		}
	}
	_, page := b.get(t, e.console+"/users/"+id)
	for _, want := range []string{
		"<td>admin</td><td>Admins</td><td><code>group = &#34;Admins&#34;</code></td>",
		"<td>tester</td><td>Testers</td>",
		`<td id="appkey">` + appKey + `</td>`,
		"<td>first_name</td><td>Ada</td>",
		"<td>password_hash</td><td>[redacted]</td>",
		"user.created", "group.members_added",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("user page lacks %s", want)
		}
	}
	// The webhook deliveries about the user (once fanned out).
	delivery := `<td>app</td><td>user.created</td><td>user:` + id + `</td>`
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(page, delivery); {
		if time.Now().After(deadline) {
			t.Fatalf("user page lacks the user.created delivery:\n%s", page)
		}
		time.Sleep(50 * time.Millisecond)
		_, page = b.get(t, e.console+"/users/"+id)
	}
	_, page = b.get(t, e.console+"/groups")
	if !strings.Contains(page, "admin (join:user_roles)") {
		t.Errorf("groups page lacks Admins' mapped role:\n%s", page)
	}
}

// The registry's drift page says "not available" while nothing provides it, as do mode and breaker
// on the Overview; Options.Pages replace a page by path.
func TestDriftPageNotAvailableWithoutItsData(t *testing.T) {
	e := newEnv(t, setup{})
	base := console.Options{Token: consoleToken, Users: e.app.Store(), Groups: e.app.Store(), Webhooks: e.app.Webhooks(),
		Audit: func(context.Context, audit.Filter) ([]audit.Record, error) { return nil, nil }}
	for _, c := range []struct {
		pages []console.Page
		want  string
	}{
		{nil, `id="not-available"`},
		{[]console.Page{{Path: "/drift", Title: "Drift and plan", Content: func(context.Context, url.Values) (template.HTML, error) {
			return template.HTML(`<p id="drift-body">from the drift work</p>`), nil
		}}}, `<p id="drift-body">from the drift work</p>`},
	} {
		o := base
		o.Pages = c.pages
		k, err := console.New(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(k)
		b := &browser{c: e.browser(t).c, origin: srv.URL}
		resp, page := b.post(t, srv.URL+"/login", url.Values{"token": {consoleToken}}, srv.URL)
		if !strings.Contains(page, `<b id="mode" class="na">not available</b>`) || !strings.Contains(page, `<b id="breaker" class="na">not available</b>`) {
			t.Fatalf("overview without the go-live hooks: %s\n%s", resp.Status, page)
		}
		_, page = b.get(t, srv.URL+"/drift")
		if !strings.Contains(page, c.want) || !strings.Contains(page, "<h1>Drift and plan</h1>") {
			t.Fatalf("drift page, want %s:\n%s", c.want, page)
		}
		srv.Close()
	}
}

// serve's console shows the mode, the breaker and the drift report: a column edited by hand in the
// app's table appears on the Drift page.
func TestDriftPageShowsAHandEdit(t *testing.T) {
	e := newEnv(t, setup{})
	u := e.mustDo(t, "POST", "/Users", `{"userName":"hedy@example.com","name":{"givenName":"Hedy","familyName":"L"}}`, 201)
	if _, err := e.db.Exec("UPDATE users SET first_name = 'Edited' WHERE email = 'hedy@example.com'"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	e.signIn(t, b)
	_, page := b.get(t, e.console+"/")
	if !strings.Contains(page, `<b id="mode">live</b>`) || !strings.Contains(page, `<b id="breaker">off (no [breaker] threshold)</b>`) {
		t.Fatalf("overview:\n%s", page)
	}
	_, page = b.get(t, e.console+"/drift")
	if !strings.Contains(page, `id="no-report"`) {
		t.Fatalf("drift page before any report:\n%s", page)
	}
	csrf := csrfOf(t, page)
	if resp, _ := b.post(t, e.console+"/drift", url.Values{}, e.console); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("running the report without the CSRF token: %s", resp.Status)
	}
	resp, page := b.post(t, e.console+"/drift", url.Values{"csrf": {csrf}}, e.console)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Drift report of 1 users made.") {
		t.Fatalf("running the report: %s\n%s", resp.Status, page)
	}
	for _, want := range []string{`href="/users/` + u["id"].(string) + `"`, "first_name (name.givenName): scimbridge wrote <code>Hedy</code>, the row holds <code>Edited</code>"} {
		if !strings.Contains(page, want) {
			t.Fatalf("drift page lacks %s:\n%s", want, page)
		}
	}
}

// Over https the session cookie is Secure; a POST must then come from the https origin.
func TestSecureCookieOverHTTPS(t *testing.T) {
	e := newEnv(t, setup{public: "https://scim-admin.example.com"})
	b := e.browser(t)
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if resp, _ := b.post(t, e.console+"/login", url.Values{"token": {consoleToken}}, e.console); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in from the http origin of an https console: %s", resp.Status)
	}
	resp, _ := b.post(t, e.console+"/login", url.Values{"token": {consoleToken}}, "https://scim-admin.example.com")
	if set := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(set, "Secure") {
		t.Fatalf("sign-in over https: %s, Set-Cookie %q", resp.Status, set)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// with is v with one more field.
func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vs := range v {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, val)
	return out
}

func jsonEsc(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
