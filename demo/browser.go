package demo

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NewBrowser is an HTTP client with a cookie jar that follows redirects, as a browser does.
func NewBrowser() *http.Client {
	jar, _ := cookiejar.New(nil) // fails only with options
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// SignIn signs in through the gate as a browser does: it opens path on the gate, which sends it to the
// IdP's login form; posts the form with login and password; and posts the IdP's answer (the form a
// browser submits by itself) to the gate's ACS. It returns the last page: the app's, or the gate's refusal.
func (d *Demo) SignIn(ctx context.Context, c *http.Client, login, password, path string) (int, string, error) {
	code, at, page, err := fetch(ctx, c, http.MethodGet, d.gateURL+path, nil)
	if err != nil {
		return 0, "", err
	}
	if code != http.StatusOK || !strings.HasPrefix(at, d.idpURL+"/sso") {
		return code, page, fmt.Errorf("GET %s: want the IdP's login form, got %d at %s", path, code, at)
	}
	action, form := parseForm(page)
	form.Set("user", login)
	form.Set("password", password)
	if code, _, page, err = fetch(ctx, c, http.MethodPost, action, form); err != nil {
		return 0, "", err
	}
	action, form = parseForm(page)
	if code != http.StatusOK || form.Get("SAMLResponse") == "" || !strings.HasPrefix(action, d.gateURL+"/saml/acs") {
		return code, page, fmt.Errorf("the IdP did not sign %s in (%d): %s", login, code, pageText(page, ""))
	}
	code, _, page, err = fetch(ctx, c, http.MethodPost, action, form)
	return code, page, err
}

// fetch sends a request (a form POST when form is not nil) and returns the status, the final URL after
// redirects and the body.
func fetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (int, string, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, resp.Request.URL.String(), string(b), err
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
	tags       = regexp.MustCompile(`<[^>]*>`)
	paragraph  = regexp.MustCompile(`(?s)<p[^>]*>(.*?)</p>`)
)

// parseForm reads the action and the named inputs of the first form of a page.
func parseForm(page string) (string, url.Values) {
	v := url.Values{}
	for _, in := range formInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	var action string
	if m := formAction.FindStringSubmatch(page); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, v
}

// pageText is the text of the first paragraph of page that contains marker, without tags.
func pageText(page, marker string) string {
	for _, m := range paragraph.FindAllStringSubmatch(page, -1) {
		t := strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(m[1], ""))), " ")
		if strings.Contains(t, marker) {
			return t
		}
	}
	return ""
}

// The browser stages of the walkthrough, run after the step whose Gate names them.
const (
	stageSignIn      = "sign-in"
	stageDeactivated = "deactivated"
)

// gateHints tell what to try in a browser after a step, printed with the curl commands.
var gateHints = map[string]string{
	stageSignIn: "sign in at the gate (URL above) as carol: the app page shows her user, her role support, " +
		"her group Support and her app user key; dan gets the 403 \"not provisioned\" page.",
	stageDeactivated: "reload the gate's page as carol: the deactivation ended her session, so she is sent to sign in " +
		"again, and signing in gets the 403 \"deactivated\" page.",
}

// gateState carries the browser of the walkthrough from one stage to the next.
type gateState struct {
	carol *http.Client // signed in through the gate
}

func (d *Demo) gateStage(ctx context.Context, w io.Writer, stage string, st *gateState) error {
	switch stage {
	case stageSignIn:
		return d.gateSignIn(ctx, w, st)
	case stageDeactivated:
		return d.gateDeactivated(ctx, w, st)
	}
	return fmt.Errorf("unknown gate stage %q", stage)
}

func (d *Demo) idpUser(email string) IdPUser {
	for _, u := range d.idpUsers {
		if u.Email == email {
			return u
		}
	}
	return IdPUser{}
}

// gateSignIn: carol, provisioned and active, signs in and the app gets her from the gate; dan, whom
// SCIM never provisioned, is refused and the app gets nothing.
func (d *Demo) gateSignIn(ctx context.Context, w io.Writer, st *gateState) error {
	carol, n := d.idpUser(NewUser), d.headerNames()
	fmt.Fprintf(w, "\n== In a browser, through the SAML gate: carol signs in (provisioned and active, in the group Support)\n"+
		"GET %s -> the IdP's login form, %s / %s -> back at the gate's ACS -> the app page\n", d.GateURL(), carol.Login, carol.Password)
	before := len(d.AppRequests())
	st.carol = NewBrowser()
	code, page, err := d.SignIn(ctx, st.carol, carol.Login, carol.Password, "/")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "-> %d %s  the app page says: %s\n", code, http.StatusText(code), pageText(page, "Signed in"))
	got := d.AppRequests()[before:]
	if code != http.StatusOK || len(got) == 0 {
		return fmt.Errorf("carol's sign-in through the gate: %d, %d requests reached the app", code, len(got))
	}
	r := got[len(got)-1]
	fmt.Fprintf(w, "The app got %s: %s, %s: %s, %s: %s, %s: %s, and a valid %s: %v\n", n.User, r.User, n.Roles, r.Roles,
		n.Groups, r.Groups, n.AppKey, r.AppKey, n.Signature, r.ViaGate)
	users, err := d.AppUsers(ctx)
	if err != nil {
		return err
	}
	var row AppUser
	for _, u := range users {
		if u.Email == carol.Email {
			row = u
		}
	}
	roles := strings.Split(r.Roles, ",")
	slices.Sort(roles)
	if !r.ViaGate || r.User != carol.Email || r.AppKey != strconv.FormatInt(row.ID, 10) || r.Roles == "" ||
		!slices.Equal(roles, row.Roles) || r.Groups != "Support" {
		return fmt.Errorf("the app got %+v; want carol, app key %d, roles %v (her user_roles rows), group Support", r, row.ID, row.Roles)
	}
	fmt.Fprintln(w, "Look at: the roles the gate forwarded are the ones scimbridge wrote in the app's user_roles table for her group.")

	dan := d.idpUser(Unprovisioned)
	fmt.Fprintf(w, "\n== In a browser, through the SAML gate: dan signs in (known to the IdP, never provisioned through SCIM)\n"+
		"GET %s -> the IdP's login form, %s / %s -> back at the gate's ACS\n", d.GateURL(), dan.Login, dan.Password)
	before = len(d.AppRequests())
	code, page, err = d.SignIn(ctx, NewBrowser(), dan.Login, dan.Password, "/")
	if err != nil {
		return err
	}
	seen := len(d.AppRequests()) - before
	fmt.Fprintf(w, "-> %d %s  the gate's page says: %s\nThe app got %d requests from him.\n", code, http.StatusText(code),
		pageText(page, "provisioned"), seen)
	if code != http.StatusForbidden || !strings.Contains(page, "has not been provisioned") || seen != 0 {
		return fmt.Errorf("dan's sign-in: %d, %d requests reached the app; want 403 \"not provisioned\" and none", code, seen)
	}
	return nil
}

// gateDeactivated: carol's browser, signed in before the deactivation, has no session any more: the SCIM
// PATCH ended it in its own transaction, whatever recheck_every is. Her reload is sent to the IdP, and
// signing in again is refused.
func (d *Demo) gateDeactivated(ctx context.Context, w io.Writer, st *gateState) error {
	if st.carol == nil {
		return fmt.Errorf("no browser signed in as carol")
	}
	fmt.Fprintf(w, "\n== In carol's browser, still signed in: reload the page through the gate\n")
	before := len(d.AppRequests())
	code, at, _, err := fetch(ctx, st.carol, http.MethodGet, d.GateURL(), nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK || !strings.HasPrefix(at, d.idpURL+"/sso") || len(d.AppRequests()) != before {
		return fmt.Errorf("carol's reload: %d at %s; want the IdP's login form (the deactivation ended her session)", code, at)
	}
	fmt.Fprintln(w, "-> the IdP's login form at once: the deactivation ended her session in the same transaction")
	carol := d.idpUser(NewUser)
	code, page, err := d.SignIn(ctx, st.carol, carol.Login, carol.Password, "/")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s / %s again -> %d %s  the gate's page says: %s\n", carol.Login, carol.Password, code, http.StatusText(code),
		pageText(page, "deactivated"))
	if code != http.StatusForbidden || !strings.Contains(page, "deactivated") || len(d.AppRequests()) != before {
		return fmt.Errorf("carol's sign-in after her deactivation: %d; want 403 \"deactivated\" and nothing for the app", code)
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}
