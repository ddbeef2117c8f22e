package app

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/url"
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

// driftPage is the console's Drift page: the drift report computed when the page is shown (one pass
// over the managed users, as `scimbridge drift`), its counts and its first users and accounts.
func (a *App) driftPage() console.Page {
	return console.Page{Path: "/drift", Title: "Drift and plan", Content: func(ctx context.Context, _ url.Values) (template.HTML, error) {
		start := a.o.Now()
		rep, err := a.store.Drift(ctx)
		if err != nil {
			return "", err
		}
		users, unmanaged := rep.Users, rep.Unmanaged
		users, unmanaged = users[:min(len(users), 200)], unmanaged[:min(len(unmanaged), 200)]
		var buf bytes.Buffer
		err = driftTemplate.Execute(&buf, map[string]any{"Report": rep, "Kinds": mysql.DriftKinds, "Users": users, "Unmanaged": unmanaged,
			"Took": a.o.Now().Sub(start).Round(time.Millisecond), "Mode": a.cfg.Server.Mode})
		return template.HTML(buf.String()), err // html/template output: every value escaped
	}}
}

var driftTemplate = template.Must(template.New("drift").Parse(`
{{if eq .Mode "shadow"}}<p class="na">Shadow mode: <code>scimbridge plan</code> lists the writes live mode would make.</p>{{end}}
<p class="muted">The app's tables against what scimbridge last wrote and what the role rules grant, checked now
({{.Report.Checked}} users in {{.Took}}). <code>scimbridge drift --repair</code> writes the managed values back.</p>
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
`))
