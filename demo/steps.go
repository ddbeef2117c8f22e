package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Step is one SCIM call of the walkthrough, printed as a curl command and run by -walkthrough.
type Step struct {
	Title  string
	Method string
	Path   string   // under the SCIM base URL; {id} is the user the first step creates, {gid} the group
	Filter string   // a SCIM filter for a list request
	Body   string   // may contain {id} and {gid} too
	Want   int      // expected HTTP status
	LookAt string   // what to look at in the app page afterwards
	SaveAs string   // "id" or "gid": remember the id of the resource in the answer under that name
	Gate   string   // a browser stage through the SAML gate to run after the step (see gateHints)
	Hooks  []string // the webhooks the step makes scimbridge send to the app, in commit order
}

// placeholders are the names a step can save an id under, with the shell variable each becomes.
var placeholders = map[string]string{"id": "ID", "gid": "GID"}

// fill replaces {id} and {gid} with their values.
func fill(s string, saved map[string]string) string {
	for name := range placeholders {
		s = strings.ReplaceAll(s, "{"+name+"}", saved[name])
	}
	return s
}

// NewUser is the userName the walkthrough provisions.
const NewUser = "carol@example.com"

// Steps is the walkthrough, in order.
var Steps = []Step{
	{
		Title:  "Provision a new user (POST /Users)",
		Method: http.MethodPost, Path: "/Users", Want: http.StatusCreated, SaveAs: "id",
		Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol@example.com",` +
			`"name":{"givenName":"Carol","familyName":"Clark"},"emails":[{"value":"carol@example.com","type":"work","primary":true}],` +
			`"title":"Engineer","active":true}`,
		LookAt: "a new row carol@example.com, status 1 active, display_name made from her names, created_at and updated_at now.",
		Hooks:  []string{"user.created"},
	},
	{
		Title:  "Adopt the existing alice@example.com (POST /Users with her userName)",
		Method: http.MethodPost, Path: "/Users", Want: http.StatusCreated,
		Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.com",` +
			`"name":{"givenName":"Alice","familyName":"Anderson-Lee"},"active":true}`,
		LookAt: "alice keeps id 1, her created_at and her support role: no second alice row; last_name is now Anderson-Lee and updated_at is now.",
		Hooks:  []string{"user.created"}, // created for SCIM: the app's row was there already
	},
	{
		Title:  "Change the new user (PATCH name.givenName)",
		Method: http.MethodPatch, Path: "/Users/{id}", Want: http.StatusOK,
		Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` +
			`"Operations":[{"op":"replace","path":"name.givenName","value":"Caroline"}]}`,
		LookAt: "carol's first_name is now Caroline, and updated_at is set to now.",
		Hooks:  []string{"user.updated"},
	},
	{
		Title:  "Push a group with the new user in it (POST /Groups), as Okta's Push Groups does",
		Method: http.MethodPost, Path: "/Groups", Want: http.StatusCreated, SaveAs: "gid",
		Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Admins",` +
			`"members":[{"value":"{id}"}]}`,
		LookAt: "carol now has the admin role: the rule Admins -> admin in [roles] wrote a user_roles row.",
		Hooks:  []string{"group.created", "group.members_added", "user.roles_changed"},
	},
	{
		Title:  "Change her role: rename the group to Support (PATCH /Groups/{gid})",
		Method: http.MethodPatch, Path: "/Groups/{gid}", Want: http.StatusOK,
		Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` +
			`"Operations":[{"op":"replace","path":"displayName","value":"Support"}]}`,
		LookAt: "carol's admin role is gone and she has support instead: the group now matches the Support rule.",
		Gate:   stageSignIn,
		Hooks:  []string{"group.updated", "user.roles_changed"},
	},
	{
		Title:  `Deactivate the new user, as Okta does (PATCH {"op":"replace","value":{"active":false}})`,
		Method: http.MethodPatch, Path: "/Users/{id}", Want: http.StatusOK,
		Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` +
			`"Operations":[{"op":"replace","value":{"active":false}}]}`,
		LookAt: "carol's status is now 3 suspended (the mapping writes 3 for active = false).",
		Gate:   stageDeactivated,
		Hooks:  []string{"user.deactivated"},
	},
	{
		Title:  "List users with a filter (GET /Users?filter=...)",
		Method: http.MethodGet, Path: "/Users", Filter: `userName eq "carol@example.com"`, Want: http.StatusOK,
		LookAt: "nothing changes: a list only reads. The answer has totalResults 1, found through the app's rows.",
	},
	{
		Title:  "Delete the new user (DELETE /Users/{id})",
		Method: http.MethodDelete, Path: "/Users/{id}", Want: http.StatusNoContent,
		LookAt: "carol's row is still there with status 3: on_delete = \"deactivate\" keeps the app's row and its history.",
		Hooks:  []string{"user.roles_changed", "group.members_removed", "user.deleted"},
	},
	{
		Title:  "Ask for the deleted user (GET /Users/{id})",
		Method: http.MethodGet, Path: "/Users/{id}", Want: http.StatusNotFound,
		LookAt: "nothing changes: for SCIM the user is gone (404), for the app it is a suspended account.",
	},
}

// WriteCurl prints the steps as curl commands for a POSIX shell.
func WriteCurl(w io.Writer, scimURL, appURL, token string) {
	fmt.Fprintf(w, "export SCIM=%s TOKEN=%s\n", shellQuote(scimURL), shellQuote(token))
	for i, s := range Steps {
		fmt.Fprintf(w, "\n# %d. %s\n", i+1, s.Title)
		var b strings.Builder
		if s.SaveAs != "" {
			b.WriteString(placeholders[s.SaveAs] + "=$(")
		}
		b.WriteString("curl -sS")
		if s.SaveAs == "" {
			b.WriteString(` -w '\nHTTP %{http_code}\n'`)
		}
		if s.Filter != "" {
			b.WriteString(" -G")
		} else if s.Method != http.MethodGet {
			b.WriteString(" -X " + s.Method)
		}
		b.WriteString(` "$SCIM` + fill(s.Path, map[string]string{"id": "$ID", "gid": "$GID"}) + `"`)
		b.WriteString(" \\\n    -H \"Authorization: Bearer $TOKEN\"")
		if s.Filter != "" {
			b.WriteString(" --data-urlencode " + shellQuote("filter="+s.Filter))
		}
		if s.Body != "" {
			// The body is single-quoted; an id in it closes the quotes around "$ID".
			body := fill(shellQuote(s.Body), map[string]string{"id": `'"$ID"'`, "gid": `'"$GID"'`})
			b.WriteString(` -H "Content-Type: application/scim+json" \` + "\n    -d " + body)
		}
		if s.SaveAs != "" {
			v := placeholders[s.SaveAs]
			b.WriteString(" \\\n  | tee /dev/stderr | sed -n 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/p'); echo; echo \"" + v + "=$" + v + "\"")
		}
		fmt.Fprintln(w, b.String())
		fmt.Fprintf(w, "#    then reload %s: %s\n", appURL, s.LookAt)
		if len(s.Hooks) > 0 {
			fmt.Fprintf(w, "#    Its \"Webhooks received\" table gets %s.\n", strings.Join(s.Hooks, ", "))
		}
		if hint := gateHints[s.Gate]; hint != "" {
			fmt.Fprintf(w, "#    and in a browser: %s\n", hint)
		}
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Response is what a step got back.
type Response struct {
	Status int
	Body   map[string]any // the decoded JSON answer; nil when there was none
}

// Walkthrough runs the steps against the running servers over HTTP, printing each answer and the app's
// rows after it, and, after the steps that name one, a browser stage through the SAML gate. after, if not
// nil, is called after each step (before its browser stage) and may stop the walkthrough with an error.
// It fails when a step gets a status other than the one it expects, or a browser stage does not see
// what it should.
func (d *Demo) Walkthrough(ctx context.Context, w io.Writer, after func(i int, s Step, r Response) error) error {
	client := &http.Client{}
	saved := map[string]string{}
	browser := &gateState{}
	hooks := &hookMark{complete: true}
	for i, s := range Steps {
		escaped := map[string]string{}
		for k, v := range saved {
			escaped[k] = url.PathEscape(v)
		}
		u := d.SCIMURL() + fill(s.Path, escaped)
		if s.Filter != "" {
			u += "?filter=" + url.QueryEscape(s.Filter)
		}
		var body io.Reader
		if s.Body != "" {
			body = strings.NewReader(fill(s.Body, saved))
		}
		req, err := http.NewRequestWithContext(ctx, s.Method, u, body)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+d.token)
		if body != nil {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		r := Response{Status: resp.StatusCode}
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, &r.Body); err != nil {
				return fmt.Errorf("step %d: the answer is not JSON: %w\n%s", i+1, err, raw)
			}
		}
		fmt.Fprintf(w, "\n== %d. %s\n%s %s\n-> %d %s  %s\n", i+1, s.Title, s.Method, strings.TrimPrefix(u, d.scimURL),
			r.Status, http.StatusText(r.Status), summary(r.Body))
		if s.SaveAs != "" {
			saved[s.SaveAs], _ = r.Body["id"].(string)
		}
		users, err := d.AppUsers(ctx)
		if err != nil {
			return fmt.Errorf("step %d: reading the app's users: %w", i+1, err)
		}
		fmt.Fprintln(w, "The app's users table now:")
		_ = WriteUsers(w, users)
		got, complete, err := d.writeNewHooks(ctx, w, hooks)
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		fmt.Fprintln(w, "Look at:", s.LookAt)
		if r.Status != s.Want {
			return fmt.Errorf("step %d (%s): got HTTP %d, want %d: %s", i+1, s.Title, r.Status, s.Want, raw)
		}
		// Events about different subjects may arrive in any order; those of one subject come in order.
		if slices.Sort(got); complete && !slices.Equal(got, slices.Sorted(slices.Values(s.Hooks))) {
			return fmt.Errorf("step %d (%s): the app received the webhooks %v, want %v", i+1, s.Title, got, s.Hooks)
		}
		if after != nil {
			if err := after(i, s, r); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s.Title, err)
			}
		}
		if s.Gate != "" {
			if err := d.gateStage(ctx, w, s.Gate, browser); err != nil {
				return fmt.Errorf("after step %d, through the gate: %w", i+1, err)
			}
		}
	}
	return nil
}

// summary picks the telling fields of a SCIM answer.
func summary(body map[string]any) string {
	if body == nil {
		return ""
	}
	var parts []string
	if n, ok := body["totalResults"]; ok {
		parts = append(parts, fmt.Sprintf("totalResults=%v", n))
		if res, ok := body["Resources"].([]any); ok {
			for _, r := range res {
				if m, ok := r.(map[string]any); ok {
					parts = append(parts, fmt.Sprintf("[id=%v userName=%v]", m["id"], m["userName"]))
				}
			}
		}
		return strings.Join(parts, " ")
	}
	if d, ok := body["detail"]; ok {
		return fmt.Sprintf("detail=%q", d)
	}
	for _, k := range []string{"id", "userName", "active"} {
		if v, ok := body[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if n, ok := body["name"].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf("givenName=%v", n["givenName"]))
	}
	return strings.Join(parts, " ")
}
