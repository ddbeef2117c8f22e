// Package console is scimbridge's admin console: a read-mostly web UI, on its own listener, that shows
// what the IdP did (the recent SCIM requests, with the reason of each failure and the audit rows each
// wrote), what the app got (users with their app row, groups, the role each rule granted), whether
// webhooks reach the app (with retry and replay), and the effective configuration with its secrets
// redacted. Pages are server-rendered with html/template, which escapes every value shown; there is no
// JavaScript. Admins sign in with the console's own token (never the IdP's SCIM token) or, with a SAML
// gate, through the IdP when they are members of the configured admin group. Every action is a POST
// that must carry the session's CSRF token and come from the console's own origin.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/webhook"
)

// UserStore is what the console reads of users; *mysql.Store has it.
type UserStore interface {
	BrowseUsers(ctx context.Context, filter scim.Expr, n int) ([]scim.Resource, error)
	CountUsers(ctx context.Context) (int, error)
	GetUser(ctx context.Context, id string) (scim.Resource, error)
	ConsoleUser(ctx context.Context, id string) (mysql.UserDetail, error)
	UserIDByAppKey(ctx context.Context, key string) (string, error)
}

// GroupStore is what the console reads of groups; *mysql.Store has it.
type GroupStore interface {
	ListGroups(ctx context.Context, q scim.ListQuery, withMembers bool) (scim.Page, error)
	GetGroup(ctx context.Context, id string, withMembers bool) (scim.Resource, error)
}

// Webhooks is what the console reads and does of webhooks; *webhook.Worker has it.
type Webhooks interface {
	List(ctx context.Context, o webhook.ListOptions) (*webhook.Report, error)
	Retry(ctx context.Context, id int64) error
	Replay(ctx context.Context, endpoint string, since time.Time) (int, error)
}

// AuditTrail reads the audit trail (audit.List on scimbridge's database).
type AuditTrail func(ctx context.Context, f audit.Filter) ([]audit.Record, error)

// CheckResult is the outcome of `scimbridge check`, for the Configuration page.
type CheckResult struct {
	Problems, Warnings []string
}

// Page is a page of the registry besides the built-in ones: the go-live work (shadow mode's plan,
// drift) adds its pages here. A page whose Content is nil says that its data is not available.
type Page struct {
	Path  string // "/drift"
	Title string // its link in the navigation
	// Content renders the page's body (html/template output, escaped by its own template); the console
	// wraps it in its layout. query is the request's, with the session's CSRF token set as "csrf" for
	// the forms the body holds.
	Content func(ctx context.Context, query url.Values) (template.HTML, error)
	// Action, if set, serves POST Path (a form of Content's, with the session's csrf field): it must
	// come from the console's origin with the CSRF token; the browser is then sent back to the page
	// with Action's message.
	Action func(ctx context.Context, form url.Values) (string, error)
}

// DefaultPages are the registry's entries before Options.Pages: the drift and plan page, shown as not
// available until the drift report exists.
var DefaultPages = []Page{{Path: "/drift", Title: "Drift and plan"}}

// Options configure a Console. Users, Groups, Webhooks and Audit are required.
type Options struct {
	// PublicURL is how browsers reach the console (scheme://host): the origin every POST must come from,
	// and https marks the session cookie Secure. nil: the request's own Host, over http (loopback tests).
	PublicURL *url.URL
	// Token is the admin token that signs in; "" turns token sign-in off. New refuses a token equal to
	// one of SCIMTokens: the IdP's credential must not open the console.
	Token      string
	SCIMTokens []string
	// SSO signs admins in through the IdP (the SAML gate's); nil: token sign-in only.
	SSO             *SSOOptions
	SessionLifetime time.Duration // [8h]

	Requests   *Ring    // the recent SCIM requests; nil shows none
	TokenNames []string // the configured SCIM token names, shown on the Overview even before they are used
	Users      UserStore
	Groups     GroupStore
	Webhooks   Webhooks
	Audit      AuditTrail
	Roles      []*mapping.Roles // the role stores, for a group's mapped roles
	// Config is the effective configuration, secrets redacted, shown as JSON.
	Config any
	// Check runs `scimbridge check`; nil: the Configuration page shows no check.
	Check func(ctx context.Context) (CheckResult, error)

	// Hooks of the go-live work (shadow mode, the deactivation breaker): nil shows "not available".
	Mode    func() string
	Breaker func(ctx context.Context) (string, error)
	Pages   []Page // added to (or replacing, by Path) DefaultPages

	Now  func() time.Time // [time.Now]
	Rand io.Reader        // session tokens [crypto/rand]
	Log  *slog.Logger     // [discards]
}

// Console is the admin console, an http.Handler.
type Console struct {
	o        Options
	log      *slog.Logger
	tmpl     pageTemplates
	sessions *sessions
	sso      *sso
	pages    []Page
	handler  http.Handler
	checked  lastCheck
}

// New builds the console.
func New(ctx context.Context, o Options) (*Console, error) {
	if o.Users == nil || o.Groups == nil || o.Webhooks == nil || o.Audit == nil {
		return nil, errors.New("console: Users, Groups, Webhooks and Audit are required")
	}
	if o.Token == "" && o.SSO == nil {
		return nil, errors.New("console: no way to sign in: set a console token or SSO with an admin group")
	}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		for _, t := range o.SCIMTokens {
			other := sha256.Sum256([]byte(t))
			if subtle.ConstantTimeCompare(sum[:], other[:]) == 1 {
				return nil, errors.New("console: the console token is one of the IdP's SCIM tokens; give the console a token of its own")
			}
		}
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 8 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Requests == nil {
		o.Requests = NewRing(1)
	}
	c := &Console{o: o, log: o.Log}
	var err error
	if c.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	secure := o.PublicURL != nil && o.PublicURL.Scheme == "https"
	c.sessions = newSessions(secure, o.SessionLifetime, o.Rand, o.Now)
	if o.SSO != nil {
		if c.sso, err = newSSO(ctx, c, *o.SSO); err != nil {
			return nil, err
		}
	}
	c.pages = registry(o.Pages)
	c.handler = c.routes()
	return c, nil
}

// registry is DefaultPages with extra's pages replacing those of the same path, and the others added.
func registry(extra []Page) []Page {
	out := append([]Page(nil), DefaultPages...)
	for _, p := range extra {
		replaced := false
		for i := range out {
			if out[i].Path == p.Path {
				out[i], replaced = p, true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// handlerFunc serves one page; a returned error is the whole answer, written by fail (the one place
// where errors become pages).
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session) error

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/console.css", serveCSS)
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("POST /login", c.login)
	mux.Handle("POST /logout", c.action(c.logout))
	if c.sso != nil {
		mux.HandleFunc("GET /saml/login", c.sso.start)
		mux.HandleFunc("POST /saml/acs", c.sso.acs)
		mux.HandleFunc("GET /saml/metadata", c.sso.metadata)
	}
	mux.Handle("GET /{$}", c.page(c.overview))
	mux.Handle("GET /requests", c.page(c.requests))
	mux.Handle("GET /requests/{id}", c.page(c.request))
	mux.Handle("GET /users", c.page(c.users))
	mux.Handle("GET /users/{id}", c.page(c.user))
	mux.Handle("GET /groups", c.page(c.groups))
	mux.Handle("GET /groups/{id}", c.page(c.group))
	mux.Handle("GET /webhooks", c.page(c.webhooks))
	mux.Handle("POST /webhooks/retry", c.action(c.retry))
	mux.Handle("POST /webhooks/replay", c.action(c.replay))
	mux.Handle("GET /config", c.page(c.configuration))
	mux.Handle("POST /config/check", c.action(c.runCheck))
	for _, p := range c.pages {
		mux.Handle("GET "+p.Path, c.page(c.extraPage(p)))
		if p.Action != nil {
			mux.Handle("POST "+p.Path, c.action(c.extraAction(p)))
		}
	}
	return securityHeaders(mux)
}

// securityHeaders sets, on every answer, a CSP that allows nothing but the console's own stylesheet and
// forms (no script at all, inline or not), and forbids framing, sniffing, referrers to other sites and
// caching.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: under no-referrer Chrome sends "Origin: null" with the console's
		// own form POSTs, which sameOrigin would then refuse.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// page serves a GET for a signed-in admin; anyone else is sent to the sign-in page.
func (c *Console) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.signedIn(r)
		if s == nil {
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// action serves a POST: it must come from the console's own origin, from a signed-in admin, and carry
// the session's CSRF token. Anything else is refused with 403 and changes nothing.
func (c *Console) action(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.sameOrigin(r) {
			c.log.Warn("console: action refused: cross-origin request", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
			c.refused(w, "This request did not come from the console's own pages.")
			return
		}
		s := c.signedIn(r)
		if s == nil {
			c.refused(w, "You are not signed in.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || !s.validCSRF(r.PostForm.Get("csrf")) {
			c.log.Warn("console: action refused: no valid CSRF token", "path", r.URL.Path, "who", s.who)
			c.refused(w, "The form's security token is missing or stale. Reload the page and try again.")
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// sameOrigin reports whether a POST comes from a page of the console: Origin, which browsers send with
// every POST, must be the console's; without Origin, Sec-Fetch-Site must say same-origin. A request
// with neither (not a browser's) is refused.
func (c *Console) sameOrigin(r *http.Request) bool {
	want := "http://" + r.Host
	if c.o.PublicURL != nil {
		want = c.o.PublicURL.Scheme + "://" + c.o.PublicURL.Host
	}
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, want)
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// fail answers an error: a SCIM error (not found, bad filter) with its status and detail, anything
// else with 500 and a generic message; the cause goes to the log.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong reading scimbridge's database; see scimbridge's log."
	var se *scim.Error
	if errors.As(err, &se) && se.Status < 500 {
		status, msg = se.Status, se.Detail
	} else {
		c.log.Error("console: page failed", "path", r.URL.Path, "err", err)
	}
	c.render(w, status, "error", s, "Error", map[string]any{"Message": msg})
}

// refused answers 403 with a page that says why.
func (c *Console) refused(w http.ResponseWriter, why string) {
	c.render(w, http.StatusForbidden, "refused", nil, "Refused", map[string]any{"Message": why})
}
