package saml

import (
	"bytes"
	"html/template"
	"net/http"
)

// pageKind is one of the pages the gate itself shows. None of them holds internal detail: the log has it.
type pageKind int

const (
	pageNotProvisioned pageKind = iota
	pageDeactivated
	pageLoginFailed
	pageSignInRequired
	pageSignedOut
	pageSessionEnded
	pageLogoutRefused
	pageUnavailable
	pageUpstreamDown
	pageBadRequest
	pageNotFound
	pageError
)

type pageText struct{ title, body string }

// pageTexts use {{.App}} for the application's name (escaped by html/template).
var pageTexts = map[pageKind]pageText{
	pageNotProvisioned: {"Access not granted",
		"Your account has not been provisioned for {{.App}}. Ask your IT administrator to assign you to {{.App}} in your identity provider."},
	pageDeactivated: {"Account deactivated",
		"Your account for {{.App}} is deactivated. If you should have access, ask your IT administrator to reactivate it in your identity provider."},
	pageLoginFailed: {"Sign-in failed",
		"The sign-in to {{.App}} could not be completed. Go back to {{.App}} to sign in again; if this keeps happening, contact your IT administrator."},
	pageSignInRequired: {"Sign-in required",
		"Your session for {{.App}} has ended. Reload the page to sign in again."},
	pageSignedOut: {"Signed out",
		"You are signed out of {{.App}}."},
	pageSessionEnded: {"Session ended",
		"Your session for {{.App}} has ended. Sign in again to continue."},
	pageLogoutRefused: {"Sign-out not confirmed",
		"The sign-out could not be confirmed: use the sign-out button of {{.App}}'s sign-out page."},
	pageUnavailable: {"Temporarily unavailable",
		"Sign-in to {{.App}} is temporarily unavailable. Try again in a minute."},
	pageUpstreamDown: {"Temporarily unavailable",
		"{{.App}} is not answering right now. Try again in a minute."},
	pageBadRequest: {"Bad request", "The request could not be understood."},
	pageNotFound:   {"Not found", "There is nothing here."},
	pageError:      {"Something went wrong", "Something went wrong. Try again; if this keeps happening, contact your IT administrator."},
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – {{.App}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}a{color:#0a58ca}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Body}}</p>{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}</body></html>
`))

// renderPages renders every page once, for the application's name.
func renderPages(app, home string) (map[pageKind][]byte, error) {
	out := map[pageKind][]byte{}
	for kind, t := range pageTexts {
		var body bytes.Buffer
		if err := template.Must(template.New("").Parse(t.body)).Execute(&body, struct{ App string }{app}); err != nil {
			return nil, err
		}
		data := struct {
			Title, App, Link, LinkText string
			Body                       template.HTML
		}{Title: t.title, App: app, Body: template.HTML(body.String())} // #nosec: body is the escaped output of a template
		switch kind {
		case pageSignedOut, pageLoginFailed, pageSignInRequired, pageSessionEnded:
			data.Link, data.LinkText = home, "Sign in to "+app
		}
		var page bytes.Buffer
		if err := pageTemplate.Execute(&page, data); err != nil {
			return nil, err
		}
		out[kind] = page.Bytes()
	}
	return out, nil
}

// page writes one of the gate's pages with headers that keep it out of caches and frames.
func (g *Gate) page(w http.ResponseWriter, status int, kind pageKind) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(g.pages[kind])
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// logoutTemplate is the page GET {public path}/saml/logout shows: a form that POSTs the sign-out with a
// token only a page of this gate, read with the session's cookie, can hold. A link or an image on
// another site cannot end a session.
var logoutTemplate = template.Must(template.New("logout").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out – {{.App}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1>Sign out</h1><p>Sign out of {{.App}}?</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="csrf" value="{{.Token}}"><button type="submit">Sign out</button></form>
</body></html>
`))

// logoutPage writes the sign-out form for a session's CSRF token.
func (g *Gate) logoutPage(w http.ResponseWriter, token string) {
	var page bytes.Buffer
	if err := logoutTemplate.Execute(&page, struct{ App, Action, Token string }{g.opts.AppName, g.paths.logout, token}); err != nil {
		g.page(w, http.StatusInternalServerError, pageError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	_, _ = w.Write(page.Bytes())
}
