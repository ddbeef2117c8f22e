package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's chromium package, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// screenshotsEnv names a directory that receives a copy of every screenshot as console-<page>.png
// (the README's are made so: SCIMBRIDGE_CONSOLE_SCREENSHOTS=$PWD/docs go test -run Browser ./console).
const screenshotsEnv = "SCIMBRIDGE_CONSOLE_SCREENSHOTS"

// headless starts headless Chromium for the test and returns its context. JavaScript dialogs (what an
// XSS probe's alert() would open) are counted in dialogs.
func headless(t *testing.T) (context.Context, *atomic.Int64) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s is missing (apt-get install chromium; .ci/run does): %v", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, on a context without a timeout
		t.Fatal(err)
	}
	// An open dialog blocks the page: the next step would time out; the count says why.
	dialogs := &atomic.Int64{}
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ctx, dialogs
}

// shot saves a full-page screenshot as a test artifact (and in $SCIMBRIDGE_CONSOLE_SCREENSHOTS).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(timeout(ctx), chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := "console-" + name + ".png"
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), file), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// timeout bounds one step (never the browser's first context, whose end stops the browser).
func timeout(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_ = cancel // ends with the timer; the test's contexts end at cleanup
	return ctx
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(timeout(ctx), steps...); err != nil {
		t.Fatal(err)
	}
}

// waitLocation waits until the page's address contains want: the navigation a click started has committed.
func waitLocation(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(timeout(ctx), chromedp.Location())
		if err == nil && strings.Contains(loc, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page is at %q (%v), not at one with %q", loc, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(timeout(ctx), chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An admin in headless Chromium against scimbridge on loopback and MariaDB: signs in with the console
// token, reads the reason of a request the IdP got wrong, finds a user and the group and rule that gave
// each role, retries a dead webhook delivery, and visits every page (a screenshot of each is kept).
// XSS probes in a displayName and a group name render as text: no dialog, no injected element.
func TestBrowserAdminWalkthrough(t *testing.T) {
	e := newEnv(t, setup{})
	probe := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	ada := e.mustDo(t, "POST", "/Users", `{"userName":"ada@example.com","displayName":"`+jsonEsc("Ada "+probe)+`","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","primary":true}]}`, 201)
	adaID := ada["id"].(string)
	e.mustDo(t, "POST", "/Groups", `{"displayName":"Admins","members":[{"value":"`+adaID+`"}]}`, 201)
	e.mustDo(t, "POST", "/Groups", `{"displayName":"`+jsonEsc("Support "+probe)+`","members":[{"value":"`+adaID+`"}]}`, 201)
	_, delivery := e.deadDelivery(t, "grace@example.com")
	e.failing.Store(false)
	// The IdP's mistake: a create of a userName that exists.
	e.mustDo(t, "POST", "/Users", `{"userName":"ada@example.com","name":{"givenName":"Ada"}}`, 409)

	ctx, dialogs := headless(t)
	run(t, ctx, chromedp.Navigate(e.console+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	shot(t, ctx, "login")
	run(t, ctx, chromedp.SendKeys(chromedp.ID("token"), consoleToken), chromedp.Click(chromedp.ID("signin")))
	if err := chromedp.Do(timeout(ctx), chromedp.WaitVisible(chromedp.ID("tokens"))); err != nil {
		loc, _ := chromedp.Run(timeout(ctx), chromedp.Location())
		body, _ := chromedp.Run(timeout(ctx), chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("after signing in, at %s: %v\n%s", loc, err, body)
	}
	if got := text(t, ctx, "#tokens"); !strings.Contains(got, "okta") {
		t.Errorf("overview tokens: %q", got)
	}
	shot(t, ctx, "overview")

	// The failed request, with its reason.
	run(t, ctx, chromedp.Navigate(e.console+"/requests?status=errors"), chromedp.WaitVisible(chromedp.CSS("table.requests")))
	if got := text(t, ctx, "table.requests"); !strings.Contains(got, "409") || !strings.Contains(got, "uniqueness") || !strings.Contains(got, "ada@example.com") {
		t.Errorf("requests page: %q", got)
	}
	shot(t, ctx, "requests")

	// Find the user; their roles and where each came from.
	run(t, ctx, chromedp.Navigate(e.console+"/users"), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "ada"), chromedp.Click(chromedp.ID("search")))
	// The click starts a navigation; a query sent before it commits may wait on the old page for good.
	waitLocation(t, ctx, "q=ada")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`a[href="/users/`+adaID+`"]`)))
	shot(t, ctx, "users")
	run(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/users/`+adaID+`"]`)), chromedp.WaitVisible(chromedp.ID("roles")))
	if got := text(t, ctx, "#roles"); !strings.Contains(got, "admin") || !strings.Contains(got, `group = "Admins"`) {
		t.Errorf("roles of ada: %q", got)
	}
	if got := text(t, ctx, "#displayName"); got != "Ada "+probe {
		t.Errorf("displayName shown as %q, want the probe as text", got)
	}
	injected, err := chromedp.Run(timeout(ctx), chromedp.Evaluate[int](`document.querySelectorAll('img[src="x"], main script').length`))
	if err != nil {
		t.Fatal(err)
	}
	if injected != 0 {
		t.Errorf("the probe injected %d elements", injected)
	}
	shot(t, ctx, "user")

	run(t, ctx, chromedp.Navigate(e.console+"/groups"), chromedp.WaitVisible(chromedp.ID("groups")))
	if got := text(t, ctx, "#groups"); !strings.Contains(got, "Support "+probe) {
		t.Errorf("groups page: %q", got)
	}
	shot(t, ctx, "groups")

	// Retry the dead delivery.
	run(t, ctx, chromedp.Navigate(e.console+"/webhooks?status=dead"), chromedp.WaitVisible(chromedp.ID("retry-"+itoa(delivery))))
	shot(t, ctx, "webhooks")
	run(t, ctx, chromedp.Click(chromedp.ID("retry-"+itoa(delivery))), chromedp.WaitVisible(chromedp.ID("done")))
	e.waitDelivered(t, delivery)

	run(t, ctx, chromedp.Navigate(e.console+"/config"), chromedp.WaitVisible(chromedp.ID("config")))
	if got := text(t, ctx, "#config"); !strings.Contains(got, `"Console"`) || strings.Contains(got, "whsec_") {
		t.Errorf("configuration page (secret shown, or no console section): %q", got)
	}
	shot(t, ctx, "config")
	run(t, ctx, chromedp.Navigate(e.console+"/drift"), chromedp.WaitVisible(chromedp.ID("run-drift")),
		chromedp.Click(chromedp.ID("run-drift")), chromedp.WaitVisible(chromedp.ID("drift-counts")))
	shot(t, ctx, "drift")
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// Signing in through the IdP in the browser: an IdP user outside the admin group sees the refusal
// page and gets no console; an admin gets in.
func TestBrowserSSORefusesOutsideTheAdminGroup(t *testing.T) {
	s := newSSOEnv(t)
	s.idp.addUser(t, "alice", "alice@example.com")
	s.idp.addUser(t, "bob", "bob@example.com")
	alice := s.mustDo(t, "POST", "/Users", `{"userName":"alice@example.com","name":{"givenName":"Alice"}}`, 201)
	s.mustDo(t, "POST", "/Users", `{"userName":"bob@example.com","name":{"givenName":"Bob"}}`, 201)
	s.mustDo(t, "POST", "/Groups", `{"displayName":"Console Admins","members":[{"value":"`+alice["id"].(string)+`"}]}`, 201)

	signIn := func(ctx context.Context, login string) {
		t.Helper()
		run(t, ctx, chromedp.Navigate(s.console+"/users"), chromedp.WaitVisible(chromedp.ID("sso")),
			chromedp.Click(chromedp.ID("sso")), chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), login),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), idpPassword),
			chromedp.Submit(chromedp.CSS(`input[name="password"]`)))
	}
	ctx, _ := headless(t)
	signIn(ctx, "bob")
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("refused")))
	if got := text(t, ctx, "#refused"); !strings.Contains(got, "not a member of the console's admin group") {
		t.Errorf("bob's refusal: %q", got)
	}
	shot(t, ctx, "sso-refused")
	run(t, ctx, chromedp.Navigate(s.console+"/users"), chromedp.WaitVisible(chromedp.ID("sso")))
	if loc, err := chromedp.Run(timeout(ctx), chromedp.Location()); err != nil || !strings.HasPrefix(loc, s.console+"/login") {
		t.Errorf("bob, refused, reaches %q (%v)", loc, err)
	}

	ctx2, _ := headless(t)
	signIn(ctx2, "alice")
	run(t, ctx2, chromedp.WaitVisible(chromedp.ID("users")))
	if got := text(t, ctx2, ".who"); got != "alice@example.com" {
		t.Errorf("signed in as %q", got)
	}
}

// In shadow mode the Drift and plan page's Compute plan button shows the plan's counts and users.
func TestBrowserComputesThePlan(t *testing.T) {
	e := newEnv(t, setup{shadow: true})
	e.mustDo(t, "POST", "/Users", `{"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"}}`, 201)
	e.mustDo(t, "POST", "/Users", `{"userName":"bea@example.com","name":{"givenName":"Bea","familyName":"Baker"}}`, 201)
	ctx, dialogs := headless(t)
	run(t, ctx, chromedp.Navigate(e.console+"/drift"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), consoleToken), chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("compute-plan")), chromedp.Click(chromedp.ID("compute-plan")),
		chromedp.WaitVisible(chromedp.ID("plan-counts")))
	if got := text(t, ctx, "#plan-create"); got != "2" {
		t.Errorf("creates on the page: %q, want 2", got)
	}
	if got := text(t, ctx, "#plan-users"); !strings.Contains(got, "ada@example.com") || !strings.Contains(got, "bea@example.com") {
		t.Errorf("the plan's users: %q", got)
	}
	shot(t, ctx, "plan")
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}
