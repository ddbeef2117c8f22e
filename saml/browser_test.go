package saml_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
)

// browser is an HTTP client with a cookie jar that follows redirects, as a browser does.
func browser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// form reads the action and the named inputs of the first form of an HTML page.
func form(t testing.TB, page []byte) (string, url.Values) {
	t.Helper()
	m := formAction.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form in:\n%s", page)
	}
	v := url.Values{}
	for _, in := range formInput.FindAllSubmatch(page, -1) {
		v.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	return html.UnescapeString(string(m[1])), v
}

func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samlResponse runs the browser flow up to the IdP's self-submitting form: GET path on the gate (which
// redirects to the IdP), then the login form, posted to /sso (not /login: crewjam/saml issue 613).
// It returns the ACS URL and the form (SAMLResponse, RelayState) the browser would post.
func (e *env) samlResponse(t testing.TB, c *http.Client, user, path string) (string, url.Values) {
	t.Helper()
	resp, err := c.Get(e.gateSrv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), e.idpSrv.URL+"/sso") {
		t.Fatalf("GET %s: want the IdP's login form, got %s at %s\n%s", path, resp.Status, resp.Request.URL, page)
	}
	_, login := form(t, page)
	login.Set("user", user)
	login.Set("password", password)
	resp, err = c.PostForm(e.idpSrv.URL+"/sso", login)
	if err != nil {
		t.Fatal(err)
	}
	page = readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %s\n%s", resp.Status, page)
	}
	acs, answer := form(t, page)
	if answer.Get("SAMLResponse") == "" {
		t.Fatalf("IdP login: no SAMLResponse in\n%s", page)
	}
	return acs, answer
}

// login runs the whole flow and returns the final response (the app's page, or the gate's refusal).
func (e *env) login(t testing.TB, c *http.Client, user, path string) (*http.Response, []byte) {
	t.Helper()
	acs, answer := e.samlResponse(t, c, user, path)
	resp, err := c.PostForm(acs, answer)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// do sends a request through the gate with extra raw headers (their names sent exactly as written).
func (e *env) do(t testing.TB, c *http.Client, method, path string, raw map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.gateSrv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range raw {
		req.Header[k] = append(req.Header[k], v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// noRedirects is a client that shares c's cookies but shows redirects instead of following them.
func noRedirects(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Timeout: c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// setSAMLTime sets crewjam/saml's package clock (saml.TimeNow, which the SP reads to check an
// assertion's validity window, and the IdP to issue it) for the rest of the test. It is a package
// variable: tests that set it must not run in parallel.
func setSAMLTime(t testing.TB, now func() time.Time) {
	old := crewsaml.TimeNow
	crewsaml.TimeNow = now
	t.Cleanup(func() { crewsaml.TimeNow = old })
}

// logout signs out as a browser does: GET the gate's sign-out page, then submit its form (same origin).
func (e *env) logout(t testing.TB, c *http.Client) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(e.gateSrv.URL + "/saml/logout")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	action, f := form(t, page)
	if resp.StatusCode != http.StatusOK || action != "/saml/logout" || f.Get("csrf") == "" {
		t.Fatalf("sign-out page: %s\n%s", resp.Status, page)
	}
	req, _ := http.NewRequest(http.MethodPost, e.gateSrv.URL+action, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.gateSrv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}
