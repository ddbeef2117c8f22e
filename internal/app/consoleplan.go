package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/config"
)

// planRows is how many users and groups of a plan the console lists: the counts cover them all, and
// `scimbridge plan` prints every one.
const planRows = 100

// lastPlan is the latest go-live plan an admin computed from the console. Computing one runs all of
// go-live in a transaction that is rolled back (PlanGoLive), too heavy for each view of the page: it
// runs on the page's button only, and the page shows the result kept here.
type lastPlan struct {
	mu   sync.Mutex
	plan *Plan
	err  error // why the latest attempt failed (no shadow state yet, a database error)
	at   time.Time
	took time.Duration
}

func (l *lastPlan) set(p *Plan, err error, at time.Time, took time.Duration) {
	l.mu.Lock()
	l.plan, l.err, l.at, l.took = p, err, at, took
	l.mu.Unlock()
}

func (l *lastPlan) get() (p *Plan, at time.Time, took time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.plan, l.at, l.took, l.err
}

// computePlan is the page's "Compute plan" action: the very plan `scimbridge plan` computes.
func (a *App) computePlan(ctx context.Context) (string, error) {
	if a.cfg.Server.Mode != config.ModeShadow || a.loaded == nil {
		return "Not in shadow mode: there is no go-live plan.", nil
	}
	start := a.o.Now()
	p, err := PlanGoLive(ctx, a.db, a.loaded, a.o)
	a.plan.set(p, err, start, a.o.Now().Sub(start))
	if errors.Is(err, ErrNoShadow) {
		return "No shadow-mode state to plan yet.", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Plan of %d users and %d groups computed.", len(p.Users), len(p.Groups)), nil
}

// planSection writes the page's plan part: in shadow mode the latest plan and its button; in live mode
// that there is none to make.
func (a *App) planSection(w io.Writer, csrf string) error {
	p, at, took, err := a.plan.get()
	data := map[string]any{"Shadow": a.cfg.Server.Mode == config.ModeShadow, "CSRF": csrf, "Plan": p,
		"At": at, "Took": took.Round(time.Millisecond), "Rows": planRows}
	if err != nil {
		data["Error"] = err.Error()
	}
	if p != nil {
		var changed []PlanUser // the unchanged users are only counted
		for _, u := range p.Users {
			if len(u.Actions)+len(u.Grants)+len(u.Revokes) > 0 || u.Error != "" {
				changed = append(changed, u)
			}
		}
		data["Changed"] = len(changed)
		data["Users"], data["Groups"] = changed[:min(len(changed), planRows)], p.Groups[:min(len(p.Groups), planRows)]
	}
	return planTemplate.Execute(w, data)
}

var planTemplate = template.Must(template.New("plan").Funcs(template.FuncMap{"cell": planCell}).Parse(`
<h2>Go-live plan</h2>
{{if not .Shadow}}<p class="na" id="plan-na">Live mode: go-live is done or not applicable, so there is no plan.</p>{{else}}
<p class="muted">What <code>scimbridge golive</code> would do to the app's tables now, as <code>scimbridge plan</code> computes it:
go-live runs whole in one transaction that is rolled back.</p>
<form method="post" action="/drift"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="do" value="plan"><button type="submit" id="compute-plan">Compute plan</button></form>
{{with .Error}}<p class="na" id="plan-error">{{.}}</p>{{end}}
{{if not .Plan}}{{if not .Error}}<p class="na" id="no-plan">No plan computed yet.</p>{{end}}{{else}}
<p class="muted">As of {{.At.Format "2006-01-02 15:04:05"}} UTC{{if .Took}}, in {{.Took}}{{end}} (state {{.Plan.Status}}).</p>
{{with .Plan.Summary}}<table id="plan-counts"><tr><th>adoptions</th><th>creates</th><th>updates</th><th>deactivations</th><th>reactivations</th><th>deletes</th><th>unchanged</th><th>role grants</th><th>role revokes</th><th>groups</th><th>errors</th></tr>
<tr><td class="num" id="plan-adopt">{{.Adopt}}</td><td class="num" id="plan-create">{{.Create}}</td><td class="num" id="plan-update">{{.Update}}</td><td class="num" id="plan-deactivate">{{.Deactivate}}</td><td class="num" id="plan-reactivate">{{.Reactivate}}</td><td class="num" id="plan-delete">{{.Delete}}</td><td class="num" id="plan-unchanged">{{.Unchanged}}</td><td class="num" id="plan-grants">{{.RoleGrants}}</td><td class="num" id="plan-revokes">{{.RoleRevokes}}</td><td class="num" id="plan-groups">{{.Groups}}</td><td class="num" id="plan-errors">{{.Errors}}</td></tr></table>{{end}}
<h3>Users that change{{if gt .Changed .Rows}} (the first {{.Rows}} of {{.Changed}}){{end}}</h3>
<table id="plan-users"><tr><th>userName</th><th>App key</th><th>Actions</th><th>Columns</th><th>Roles</th><th>Error</th></tr>
{{range .Users}}<tr><td><a href="/users/{{.ID}}">{{.UserName}}</a></td><td>{{with .AppKey}}{{.}}{{else}}new{{end}}</td><td>{{range .Actions}}{{.}} {{end}}</td>
<td>{{range $col, $d := .Columns}}<div>{{$col}}: <code>{{cell $d.Before}}</code> → <code>{{cell $d.After}}</code></div>{{end}}</td>
<td>{{with .Grants}}<div>grant {{.}}</div>{{end}}{{with .Revokes}}<div>revoke {{.}}</div>{{end}}</td><td>{{.Error}}</td></tr>{{else}}<tr><td colspan="6" class="muted">None.</td></tr>{{end}}</table>
{{if .Groups}}<h3>Groups{{if gt (len .Plan.Groups) .Rows}} (the first {{.Rows}} of {{len .Plan.Groups}}){{end}}</h3>
<table id="plan-groups-list"><tr><th>displayName</th><th>Action</th><th>Members added</th><th>Error</th></tr>
{{range .Groups}}<tr><td>{{.DisplayName}}</td><td>{{.Action}}</td><td class="num">{{.Members}}</td><td>{{.Error}}</td></tr>{{end}}</table>{{end}}
{{end}}{{end}}`))

// planCell is a column's value as the plan shows it: NULL (no row yet, or a NULL column) as "NULL"
// rather than Go's "<nil>".
func planCell(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}
