package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/webhook"
)

//go:embed templates/*.html templates/console.css
var templateFS embed.FS

// pageTemplates holds, per page, the layout with that page's "content": html/template cannot pick a
// template by a name known only at run time, so each page gets its own clone.
type pageTemplates map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"whenp": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"ms": func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
	// json is shown as text (html/template escapes it): no \u003c escapes needed.
	"json": func(v any) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err.Error()
		}
		return b.String()
	},
	"statusClass": func(status int) string {
		switch {
		case status >= 500:
			return "s5"
		case status >= 400:
			return "s4"
		}
		return "s2"
	},
	"rows": func(rows []webhook.Delivery, csrf string) map[string]any {
		return map[string]any{"Rows": rows, "CSRF": csrf}
	},
	"deref": func(p any) any {
		switch v := p.(type) {
		case *string:
			if v != nil {
				return *v
			}
		case *int:
			if v != nil {
				return *v
			}
		}
		return ""
	},
}

func parseTemplates() (pageTemplates, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pageTemplates{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// view is what the layout gets.
type view struct {
	Title   string
	Page    string // the template's name, for the navigation's current entry
	Session *session
	Who     string // who is signed in
	CSRF    string
	Nav     []Page
	Data    any
}

// render writes a page. It renders into a buffer first, so that a template error becomes a 500, not half
// a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, s *session, title string, data any) {
	t := c.tmpl[name]
	v := view{Title: title, Page: name, Session: s, Data: data, Nav: c.pages}
	if s != nil {
		v.CSRF, v.Who = s.csrf, s.who
	}
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("console: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.log.Error("console: rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := templateFS.ReadFile("templates/console.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(b)
}
