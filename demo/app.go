package demo

import (
	"context"
	"database/sql"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/scimbridge/scimbridge/saml"
)

// AppUser is one row of the legacy app's users table, as the app itself reads it, with its roles.
type AppUser struct {
	ID          int64
	Email       string
	FirstName   sql.NullString
	LastName    sql.NullString
	DisplayName sql.NullString
	Status      int
	CreatedAt   time.Time
	UpdatedAt   sql.NullTime
	Roles       []string
}

// StatusText names the app's status codes (see examples/legacy-app/schema.sql).
func (u AppUser) StatusText() string {
	switch u.Status {
	case 1:
		return "1 active"
	case 2:
		return "2 pending"
	case 3:
		return "3 suspended"
	}
	return strconv.Itoa(u.Status)
}

// AppUsers reads the app's users table and each user's roles through the app's own connection.
func (d *Demo) AppUsers(ctx context.Context) ([]AppUser, error) {
	rows, err := d.appDB.QueryContext(ctx, `SELECT id, email, first_name, last_name, display_name, status, created_at, updated_at
		FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []AppUser
	byID := map[int64]int{}
	for rows.Next() {
		var u AppUser
		if err := rows.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.DisplayName, &u.Status, &u.CreatedAt, &u.UpdatedAt); err != nil {
			return nil, err
		}
		byID[u.ID] = len(users)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	roles, err := d.appDB.QueryContext(ctx, `SELECT ur.user_id, r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
		ORDER BY ur.user_id, r.name`)
	if err != nil {
		return nil, err
	}
	defer roles.Close()
	for roles.Next() {
		var id int64
		var name string
		if err := roles.Scan(&id, &name); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			users[i].Roles = append(users[i].Roles, name)
		}
	}
	return users, roles.Err()
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"str":  func(s sql.NullString) string { return s.String },
	"time": fmtTime,
	"ntime": func(t sql.NullTime) string {
		if !t.Valid {
			return ""
		}
		return fmtTime(t.Time)
	},
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"mtime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Legacy App: users</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; }
th { background: #eee; }
tr.s3 td, tr.s2 td { color: #888; }
.note { color: #555; max-width: 50em; }
.who { padding: .6em .8em; max-width: 50em; background: #fff4d6; border: 1px solid #e0c060; }
.who.gate { background: #e3f4e3; border-color: #7bb47b; }
</style>
</head>
<body>
<h1>Legacy App</h1>
{{with .Visitor}}{{if .ViaGate}}<p class="who gate">Signed in through the gate as <strong>{{.User}}</strong>,
roles <strong>{{or .Roles "(none)"}}</strong>, groups <strong>{{or .Groups "(none)"}}</strong>,
app user key <strong>{{or .AppKey "(none)"}}</strong>.</p>
<p class="note">The app read who you are from the headers the SAML gate set ({{$.Names.User}}, {{$.Names.Roles}},
{{$.Names.Groups}}, {{$.Names.AppKey}}), after checking {{$.Names.Signature}}: the gate looked you up in
scimbridge's SCIM directory, and roles come from your SCIM groups. <a href="/saml/logout">Sign out of the gate</a></p>
{{else}}<p class="who">Reached directly, without the gate{{if .User}}: the request says {{$.Names.User}}
<strong>{{.User}}</strong>, but without a valid {{$.Names.Signature}}, so the app does not trust it{{end}}.
Sign in through the SAML gate at <a href="{{$.GateURL}}">{{$.GateURL}}</a>.</p>
{{end}}{{end}}
<p class="note">The sample app's own <code>users</code> table, read straight from its database on every
reload. scimbridge writes these rows when the identity provider calls its SCIM API.</p>
<h2>Users</h2>
<table>
<tr><th>id</th><th>email</th><th>first_name</th><th>last_name</th><th>display_name</th><th>status</th><th>created_at</th><th>updated_at</th><th>roles</th></tr>
{{range .Users}}<tr class="s{{.Status}}"><td>{{.ID}}</td><td>{{.Email}}</td><td>{{str .FirstName}}</td><td>{{str .LastName}}</td><td>{{str .DisplayName}}</td><td>{{.StatusText}}</td><td>{{time .CreatedAt}}</td><td>{{ntime .UpdatedAt}}</td><td>{{join .Roles}}</td></tr>
{{end}}</table>
{{with .Err}}<p><strong>Could not read the users table:</strong> {{.}}</p>{{end}}
<h2>Webhooks received</h2>
<p class="note">scimbridge POSTs every change it makes to the app's <code>{{.Hooks.URL}}</code>, signed the
Standard Webhooks way. The app checks the signature with the official library (401 if it is wrong),
drops an event it already has (same <code>webhook-id</code>), and keeps the last {{.Hooks.Max}} here, newest first.
{{with .Hooks.Stats}}{{.Received}} received, {{.Duplicates}} duplicates dropped, {{.Rejected}} refused for a bad signature.{{end}}</p>
{{if .Hooks.Events}}<table>
<tr><th>#</th><th>time (UTC)</th><th>type</th><th>subject</th><th>user / group</th><th>app_user_key</th><th>changed / members / roles</th></tr>
{{range .Hooks.Events}}<tr><td>{{.N}}</td><td>{{mtime .Time}}</td><td>{{.Type}}</td><td><code>{{.Subject}}</code></td><td>{{.Name}}</td><td>{{.AppKey}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{else}}<p class="note">None yet: provision a user through SCIM (step 1 above), then reload.</p>
{{end}}<p class="note">Read at {{.Now}} (UTC). Reload the page to see changes.</p>
</body>
</html>
`))

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func (d *Demo) appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		users, err := d.AppUsers(r.Context())
		data := struct {
			Users   []AppUser
			Err     error
			Now     string
			Visitor AppRequest
			Names   saml.HeaderNames
			GateURL string
			Hooks   hookPage
		}{Users: users, Err: err, Now: fmtTime(time.Now()), Visitor: d.visitor(r), Names: d.headerNames(), GateURL: d.GateURL(),
			Hooks: d.hookPage()}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = pageTmpl.Execute(w, data)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == webhookPath {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				http.Error(w, "use POST", http.StatusMethodNotAllowed)
				return
			}
			d.hooks.ServeHTTP(w, r) // kept apart from the visitors' requests: the gate's checks count those
			return
		}
		d.appLog.add(d.visitor(r))
		mux.ServeHTTP(w, r)
	})
}

// AppRequest is a request the sample app got, with the identity headers it carried.
type AppRequest struct {
	Method, Path string
	// ViaGate: the request carried a valid signed header for User, so it came through the gate and the
	// other fields are the gate's. Otherwise they are whatever the client sent, and not trusted.
	ViaGate                                    bool
	User, Email, Roles, Groups, UserID, AppKey string
}

// visitor reads the identity headers of a request to the app, as an app behind the gate does: it
// trusts them only with a valid signed header.
func (d *Demo) visitor(r *http.Request) AppRequest {
	n := d.headerNames()
	v := AppRequest{Method: r.Method, Path: r.URL.RequestURI(), User: r.Header.Get(n.User), Email: r.Header.Get(n.Email),
		Roles: r.Header.Get(n.Roles), Groups: r.Header.Get(n.Groups), UserID: r.Header.Get(n.ID), AppKey: r.Header.Get(n.AppKey)}
	// The signature covers the method, the path and every identity header; lists are percent-encoded.
	v.ViaGate = v.User != "" && saml.VerifyRequest(r, d.gateSecret, n, time.Now(), time.Minute) == nil
	v.Roles, v.Groups = decodedList(v.Roles), decodedList(v.Groups)
	return v
}

// headerNames are the gate's header names, from the parsed [gate] section.
func (d *Demo) headerNames() saml.HeaderNames {
	h, s := d.cfg.Gate.Headers, d.cfg.Gate.SignedHeader
	return saml.HeaderNames{User: h.User, Email: h.Email, Roles: h.Roles, Groups: h.Groups, ID: h.ID, AppKey: h.AppKey,
		Signature: s.Name}
}

// appLog keeps the last maxAppLog requests the sample app got.
type appLog struct {
	mu   sync.Mutex
	reqs []AppRequest
}

const maxAppLog = 1000

func (l *appLog) add(r AppRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == maxAppLog {
		l.reqs = append(l.reqs[:0], l.reqs[maxAppLog/2:]...)
	}
	l.reqs = append(l.reqs, r)
}

// AppRequests lists the last requests the sample app got (up to 1000), oldest first, except the webhooks
// scimbridge posts to it (see Webhooks).
func (d *Demo) AppRequests() []AppRequest {
	d.appLog.mu.Lock()
	defer d.appLog.mu.Unlock()
	return append([]AppRequest(nil), d.appLog.reqs...)
}

// WriteUsers prints the app's users as a text table.
func WriteUsers(w io.Writer, users []AppUser) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  id\temail\tfirst_name\tlast_name\tdisplay_name\tstatus\tcreated_at\tupdated_at\troles")
	for _, u := range users {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, cell(u.Email), cell(u.FirstName.String), cell(u.LastName.String),
			cell(u.DisplayName.String), u.StatusText(), fmtTime(u.CreatedAt), nullTime(u.UpdatedAt), cell(strings.Join(u.Roles, ",")))
	}
	return tw.Flush()
}

// cell shows an empty value as "-", so that the columns stay readable.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nullTime(t sql.NullTime) string {
	if !t.Valid {
		return "-"
	}
	return fmtTime(t.Time)
}

// decodedList is a list header (groups, roles) decoded, joined with "," for the page and the log (the
// demo's group and role names hold no comma).
func decodedList(v string) string {
	items, err := saml.DecodeList(v)
	if err != nil {
		return v
	}
	return strings.Join(items, ",")
}
