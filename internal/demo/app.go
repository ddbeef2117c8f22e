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
	"text/tabwriter"
	"time"
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
	"join": func(s []string) string { return strings.Join(s, ", ") },
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
</style>
</head>
<body>
<h1>Legacy App</h1>
<p class="note">The sample app's own <code>users</code> table, read straight from its database on every
reload. scimbridge writes these rows when the identity provider calls its SCIM API.</p>
<h2>Users</h2>
<table>
<tr><th>id</th><th>email</th><th>first_name</th><th>last_name</th><th>display_name</th><th>status</th><th>created_at</th><th>updated_at</th><th>roles</th></tr>
{{range .Users}}<tr class="s{{.Status}}"><td>{{.ID}}</td><td>{{.Email}}</td><td>{{str .FirstName}}</td><td>{{str .LastName}}</td><td>{{str .DisplayName}}</td><td>{{.StatusText}}</td><td>{{time .CreatedAt}}</td><td>{{ntime .UpdatedAt}}</td><td>{{join .Roles}}</td></tr>
{{end}}</table>
{{with .Err}}<p><strong>Could not read the users table:</strong> {{.}}</p>{{end}}
<h2>Webhooks received</h2>
<p class="note">None yet: scimbridge does not send webhooks to the app so far. Once that feature lands,
the notifications the app receives will be listed here.</p>
<p class="note">Read at {{.Now}} (UTC). Reload the page to see changes.</p>
</body>
</html>
`))

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func (d *Demo) appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		users, err := d.AppUsers(r.Context())
		data := struct {
			Users []AppUser
			Err   error
			Now   string
		}{Users: users, Err: err, Now: fmtTime(time.Now())}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = pageTmpl.Execute(w, data)
	})
	return mux
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
