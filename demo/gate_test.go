package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/demo"
)

func idpUser(t *testing.T, d *demo.Demo, email string) demo.IdPUser {
	t.Helper()
	for _, u := range d.IdPUsers() {
		if u.Email == email {
			if u.Password == "" {
				t.Fatalf("%s has no password", email)
			}
			return u
		}
	}
	t.Fatalf("no IdP user %s", email)
	return demo.IdPUser{}
}

// signIn signs email in through the gate with a new browser and returns it, the status and the page.
func signIn(t *testing.T, d *demo.Demo, email string) (*http.Client, int, string) {
	t.Helper()
	u := idpUser(t, d, email)
	c := demo.NewBrowser()
	code, page, err := d.SignIn(context.Background(), c, u.Login, u.Password, "/")
	if err != nil {
		t.Fatalf("sign-in of %s: %v\n%s", email, err, page)
	}
	return c, code, page
}

// provision creates a SCIM user and returns its SCIM id.
func provision(t *testing.T, d *demo.Demo, body string) string {
	t.Helper()
	code, resp := scimDo(t, d, "POST", "/Users", body)
	var r struct{ ID string }
	if err := json.Unmarshal([]byte(resp), &r); code != 201 || err != nil || r.ID == "" {
		t.Fatalf("POST /Users: %d %s", code, resp)
	}
	return r.ID
}

func get(t *testing.T, c *http.Client, u string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A provisioned, active user signs in at the IdP and reaches the app with the headers the gate sets:
// roles from her SCIM groups, her app row's key, all escaped on the page; client-sent copies are dropped.
func TestGateLetsProvisionedUserInWithRoles(t *testing.T) {
	d := start(t, demo.Options{})
	id := provision(t, d, `{"userName":"carol@example.com","emails":[{"value":"carol@example.com","primary":true}]}`)
	for _, g := range []string{`Admins`, `<i>Ops & \"Co\"</i>`} {
		if code, body := scimDo(t, d, "POST", "/Groups", `{"displayName":"`+g+`","members":[{"value":"`+id+`"}]}`); code != 201 {
			t.Fatalf("POST /Groups: %d %s", code, body)
		}
	}
	users, _ := usersByEmail(t, d)
	row := users[demo.NewUser]

	c, code, page := signIn(t, d, demo.NewUser)
	if code != 200 {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	reqs := d.AppRequests()
	r := reqs[len(reqs)-1]
	want := demo.AppRequest{Method: "GET", Path: "/", ViaGate: true, User: demo.NewUser, Email: demo.NewUser, Roles: "admin",
		Groups: `<i>Ops & "Co"</i>,Admins`, UserID: id, AppKey: strconv.FormatInt(row.ID, 10)}
	if r != want {
		t.Errorf("the app got\n%+v\nwant\n%+v", r, want)
	}
	for _, s := range []string{"Signed in through the gate as <strong>carol@example.com</strong>", "roles <strong>admin</strong>",
		"groups <strong>&lt;i&gt;Ops &amp; &#34;Co&#34;&lt;/i&gt;,Admins</strong>", "app user key <strong>" + want.AppKey + "</strong>"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q:\n%s", s, page)
		}
	}
	if strings.Contains(page, "<i>Ops") {
		t.Error("a group name reached the page unescaped")
	}

	// Identity headers a client sends are dropped by the gate: the app still sees the gate's.
	code, _ = get(t, c, d.GateURL(), map[string]string{"X-Forwarded-User": "mallory@example.com", "X-Forwarded-Roles": "superuser"})
	if r := d.AppRequests()[len(d.AppRequests())-1]; code != 200 || r.User != demo.NewUser || r.Roles != "admin" || !r.ViaGate {
		t.Errorf("with forged headers: %d, the app got %+v", code, r)
	}
	if st := d.GateStats(); st.Logins != 1 || st.NotProvisioned != 0 {
		t.Errorf("gate stats %+v", st)
	}

	// alice, adopted through SCIM, is let in with her app row's key but no roles: her support role was
	// given by hand in the app, and the gate forwards only roles granted by SCIM groups.
	provision(t, d, `{"userName":"alice@example.com"}`)
	if _, code, page := signIn(t, d, "alice@example.com"); code != 200 ||
		!strings.Contains(page, "as <strong>alice@example.com</strong>,\nroles <strong>(none)</strong>") ||
		!strings.Contains(page, "app user key <strong>"+strconv.FormatInt(users["alice@example.com"].ID, 10)+"</strong>") {
		t.Errorf("alice: %d\n%s", code, page)
	}
}

// dan is known to the IdP but never provisioned; carol is refused too until SCIM creates her. The app
// sees no request of either.
func TestGateRefusesUnprovisionedUsers(t *testing.T) {
	d := start(t, demo.Options{})
	for _, email := range []string{demo.Unprovisioned, demo.NewUser} {
		before := len(d.AppRequests())
		_, code, page := signIn(t, d, email)
		if code != 403 || !strings.Contains(page, "Your account has not been provisioned for Legacy App") {
			t.Errorf("%s: %d, want 403 not provisioned\n%s", email, code, page)
		}
		if n := len(d.AppRequests()) - before; n != 0 {
			t.Errorf("%s: the app got %d requests", email, n)
		}
	}
	for _, r := range d.AppRequests() {
		if r.User != "" {
			t.Errorf("the app got a request for %q", r.User)
		}
	}
	if st := d.GateStats(); st.NotProvisioned != 2 || st.Logins != 0 || st.Proxied != 0 {
		t.Errorf("gate stats %+v", st)
	}
	// Once provisioned, carol is let in.
	provision(t, d, `{"userName":"carol@example.com"}`)
	if _, code, page := signIn(t, d, demo.NewUser); code != 200 || !strings.Contains(page, "Signed in through the gate as") {
		t.Errorf("carol after provisioning: %d\n%s", code, page)
	}
}

// A user deactivated through SCIM loses her open session at once (the PATCH ends it in its own
// transaction, whatever recheck_every is), is refused when she signs in again, and gets in again when
// reactivated.
func TestGateRefusesUserDeactivatedThroughSCIM(t *testing.T) {
	d := start(t, demo.Options{RecheckEvery: 10 * time.Minute})
	id := provision(t, d, `{"userName":"carol@example.com"}`)
	c, code, page := signIn(t, d, demo.NewUser)
	if code != 200 {
		t.Fatalf("sign-in: %d\n%s", code, page)
	}
	patch := func(active string) {
		t.Helper()
		if code, body := scimDo(t, d, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
			`"Operations":[{"op":"replace","value":{"active":`+active+`}}]}`); code != 200 {
			t.Fatalf("PATCH: %d %s", code, body)
		}
	}
	patch("false")
	hits := len(d.AppRequests())
	// The very next request: no session (the IdP's login form), though the directory answer is cached for 10 minutes.
	req, _ := http.NewRequest("GET", d.GateURL(), nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), d.IdPURL()+"/sso") || len(d.AppRequests()) != hits {
		t.Errorf("after the deactivation: %s at %s, want the IdP's login form and nothing for the app", resp.Status, resp.Request.URL)
	}
	if _, code, page := signIn(t, d, demo.NewUser); code != 403 || !strings.Contains(page, "Your account for Legacy App is deactivated") {
		t.Errorf("sign-in while deactivated: %d\n%s", code, page)
	}
	if len(d.AppRequests()) != hits || d.GateStats().Deactivated != 1 {
		t.Errorf("gate stats %+v, app requests %d more", d.GateStats(), len(d.AppRequests())-hits)
	}
	patch("true")
	if _, code, page := signIn(t, d, demo.NewUser); code != 200 || !strings.Contains(page, "Signed in through the gate as") {
		t.Errorf("sign-in after reactivation: %d\n%s", code, page)
	}
}

// Reached directly, the app says so, and does not trust identity headers without the gate's signature.
func TestAppPageReachedDirectly(t *testing.T) {
	d := start(t, demo.Options{})
	code, page := get(t, http.DefaultClient, d.AppURL(), nil)
	if code != 200 || !strings.Contains(page, "Reached directly, without the gate.") || !strings.Contains(page, d.GateURL()) {
		t.Errorf("%d\n%s", code, page)
	}
	code, page = get(t, http.DefaultClient, d.AppURL(), map[string]string{"X-Forwarded-User": "<script>x</script>",
		"X-Forwarded-Roles": "admin", "X-Scimbridge-Signature": "t=1,v1=00"})
	if code != 200 || strings.Contains(page, "Signed in through the gate") || strings.Contains(page, "<script>x") ||
		!strings.Contains(page, "<strong>&lt;script&gt;x&lt;/script&gt;</strong>, but without a valid X-Scimbridge-Signature") {
		t.Errorf("with forged headers: %d\n%s", code, page)
	}
	if r := d.AppRequests()[len(d.AppRequests())-1]; r.ViaGate {
		t.Errorf("a forged request counted as coming through the gate: %+v", r)
	}
}

// The IdP serves its metadata and sign-in; its REST API (users, services, sessions) is not on the network.
func TestIdPExposesOnlySignIn(t *testing.T) {
	d := start(t, demo.Options{})
	if code, body := get(t, http.DefaultClient, d.IdPURL()+"/metadata", nil); code != 200 || !strings.Contains(body, "IDPSSODescriptor") {
		t.Errorf("metadata: %d %s", code, body)
	}
	for _, p := range []string{"/users/", "/users/carol", "/services/", "/sessions/", "/login"} {
		if code, _ := get(t, http.DefaultClient, d.IdPURL()+p, nil); code != 404 {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
	req, _ := http.NewRequest("PUT", d.IdPURL()+"/users/eve", strings.NewReader(`{"name":"eve","email":"carol@example.com","password":"x"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Errorf("PUT /users/eve: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// checkWalkthroughGate checks the walkthrough's browser stages: carol, signed in after step 5, reached the
// app with her role from the group Support; dan reached nothing; after step 6 carol was refused.
func checkWalkthroughGate(t *testing.T, d *demo.Demo, out, carolID string) {
	t.Helper()
	var carol []demo.AppRequest
	for _, r := range d.AppRequests() {
		if r.User == demo.Unprovisioned {
			t.Errorf("the app got a request for dan: %+v", r)
		}
		if r.User == demo.NewUser && r.ViaGate {
			carol = append(carol, r)
		}
	}
	users, _ := usersByEmail(t, d)
	want := demo.AppRequest{Method: "GET", Path: "/", ViaGate: true, User: demo.NewUser, Email: demo.NewUser, Roles: "support",
		Groups: "Support", UserID: carolID, AppKey: fmt.Sprint(users[demo.NewUser].ID)}
	if len(carol) == 0 || carol[0] != want {
		t.Errorf("carol's requests through the gate: %+v\nwant first %+v", carol, want)
	}
	if st := d.GateStats(); st.Logins != 1 || st.NotProvisioned != 1 || st.Deactivated != 1 {
		t.Errorf("gate stats %+v: want 1 login (carol), 1 refusal not provisioned (dan), 1 deactivated (carol)", st)
	}
	for _, s := range []string{"Signed in through the gate as carol@example.com, roles support, groups Support, app user key " + want.AppKey,
		"403 Forbidden  the gate's page says: Your account has not been provisioned", "The app got 0 requests from him.",
		"403 Forbidden", "Your account for Legacy App is deactivated"} {
		if !strings.Contains(out, s) {
			t.Errorf("the walkthrough did not print %q:\n%s", s, out)
		}
	}
}

// The gate's logins and refusals reach the Prometheus metrics, scraped over HTTP.
func TestGateMetrics(t *testing.T) {
	d := start(t, demo.Options{Metrics: true})
	if _, code, _ := signIn(t, d, demo.Unprovisioned); code != 403 {
		t.Fatalf("dan: %d, want 403", code)
	}
	provision(t, d, `{"userName":"carol@example.com"}`)
	if _, code, _ := signIn(t, d, demo.NewUser); code != 200 {
		t.Fatalf("carol: %d", code)
	}
	code, body := get(t, http.DefaultClient, d.MetricsURL(), nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{
		"\nscimbridge_gate_logins_total 1\n",
		"\nscimbridge_gate_refusals_total{reason=\"not_provisioned\"} 1\n",
		"\nscimbridge_gate_refusals_total{reason=\"deactivated\"} 0\n",
		"\nscimbridge_http_requests_total{operation=\"POST /Users\",status=\"201\",token=\"default\"} 1\n",
		"\nscimbridge_webhook_dead_letters{endpoint=\"legacy-app\"} 0\n", // the backlog query on the demo's engine too
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}
}
