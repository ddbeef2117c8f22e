package app

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/url"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/adapters/mysql/breaker"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/console"
)

// consoleMode is the Overview's mode: live, or shadow (the app's tables untouched).
func (a *App) consoleMode() string {
	if a.cfg.Server.Mode == config.ModeShadow {
		return "shadow: the app's tables are not written (scimbridge plan shows what would be)"
	}
	return a.cfg.Server.Mode
}

// consoleBreaker is the Overview's breaker state, read from its table as `scimbridge breaker status`.
func (a *App) consoleBreaker(ctx context.Context) (string, error) {
	b := a.cfg.Breaker
	if !b.Enabled() {
		return "off (no [breaker] threshold)", nil
	}
	t := bookkeeping.NewTables(a.cfg.Database.BookkeepingPrefix, bookkeeping.MySQL)
	st, err := breaker.ReadStatus(ctx, a.db, t, a.o.Now(), b.Window.Duration)
	if err != nil {
		return "", err
	}
	undecided := 0
	for _, h := range st.Held {
		if h.Decision == nil {
			undecided++
		}
	}
	if st.State == "tripped" {
		return fmt.Sprintf("tripped: %s; %d deactivations held (scimbridge breaker release or reject)", st.Reason, undecided), nil
	}
	return fmt.Sprintf("%s; %d deactivations in the last %s", st.State, st.InWindow, b.Window.Duration), nil
}

// lastDrift is the latest drift report of this process: the periodic check's ([drift] every) or one
// an admin ran from the console. A report is one pass over every managed user (seconds on 100,000),
// too slow to compute for each view of the page.
type lastDrift struct {
	mu   sync.Mutex
	rep  *mysql.DriftReport
	took time.Duration
}

func (l *lastDrift) set(rep *mysql.DriftReport, took time.Duration) {
	l.mu.Lock()
	l.rep, l.took = rep, took
	l.mu.Unlock()
}

func (l *lastDrift) get() (*mysql.DriftReport, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rep, l.took
}

// driftPage is the console's Drift page: the latest drift report (as `scimbridge drift`), its counts
// and its first users and accounts, and a button that runs the report now.
func (a *App) driftPage() console.Page {
	return console.Page{Path: "/drift", Title: "Drift and plan",
		Content: func(ctx context.Context, q url.Values) (template.HTML, error) {
			rep, took := a.drift.get()
			data := map[string]any{"Report": rep, "Kinds": mysql.DriftKinds, "Took": took.Round(time.Millisecond), "Mode": a.cfg.Server.Mode,
				"CSRF": q.Get("csrf"), "Every": a.cfg.Drift.Every.Duration}
			if rep != nil {
				data["Users"], data["Unmanaged"] = rep.Users[:min(len(rep.Users), 200)], rep.Unmanaged[:min(len(rep.Unmanaged), 200)]
			}
			var buf bytes.Buffer
			if err := driftTemplate.Execute(&buf, data); err != nil {
				return "", err
			}
			if err := a.planSection(&buf, q.Get("csrf")); err != nil {
				return "", err
			}
			return template.HTML(buf.String()), nil // html/template output: every value escaped
		},
		Action: func(ctx context.Context, form url.Values) (string, error) {
			if form.Get("do") == "plan" {
				return a.computePlan(ctx)
			}
			start := a.o.Now()
			rep, err := a.store.Drift(ctx)
			if err != nil {
				return "", err
			}
			a.drift.set(rep, a.o.Now().Sub(start))
			return fmt.Sprintf("Drift report of %d users made.", rep.Checked), nil
		},
	}
}

var driftTemplate = template.Must(template.New("drift").Parse(`
<h2>Drift</h2>
<form method="post" action="/drift"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit" id="run-drift">Run the drift report now</button></form>
{{if not .Report}}<p class="na" id="no-report">No drift report yet: {{if .Every}}the check inside serve runs every {{.Every}}{{else}}set [drift] every to run it inside serve{{end}}, or run it now.</p>{{else}}
<p class="muted">The app's tables against what scimbridge last wrote and what the role rules grant, as of {{.Report.At.Format "2006-01-02 15:04:05"}} UTC
({{.Report.Checked}} users{{if .Took}} in {{.Took}}{{end}}). <code>scimbridge drift --repair</code> writes the managed values back.</p>
<table id="drift-counts"><tr>{{range .Kinds}}<th>{{.}}</th>{{end}}</tr><tr>{{range .Kinds}}<td class="num">{{index $.Report.Counts .}}</td>{{end}}</tr></table>
<h2>Managed users that drifted</h2>
<table id="drift-users"><tr><th>userName</th><th>App key</th><th>What differs</th></tr>
{{range .Users}}<tr><td><a href="/users/{{.ID}}">{{.UserName}}</a></td><td>{{.AppKey}}</td><td>
{{if .RowGone}}the app's row is gone{{end}}{{if .NoBaseline}}no baseline yet{{end}}
{{range .Columns}}<div>{{.Column}} ({{.Attribute}}): scimbridge wrote <code>{{printf "%v" .Wrote}}</code>, the row holds <code>{{printf "%v" .Now}}</code></div>{{end}}
{{range .Roles}}{{with .Removed}}<div>roles removed by hand: {{.}}</div>{{end}}{{with .Added}}<div>roles given by hand: {{.}}</div>{{end}}{{with .Extra}}<div>roles given by hand (authoritative, repair removes): {{.}}</div>{{end}}{{end}}
</td></tr>{{else}}<tr><td colspan="3" class="muted">None.</td></tr>{{end}}</table>
<h2>Active accounts SCIM does not manage</h2>
<table id="drift-unmanaged"><tr><th>Login</th><th>App key</th><th>Roles</th></tr>
{{range .Unmanaged}}<tr><td>{{.UserName}}</td><td>{{.AppKey}}</td><td>{{range .Roles}}{{.Role}} {{end}}</td></tr>{{else}}<tr><td colspan="3" class="muted">None.</td></tr>{{end}}</table>
{{end}}`))
