package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/sqlscript"
)

// ShadowStep is one SCIM call of the shadow walkthrough.
type ShadowStep struct {
	Title, Method, Path, Body string
}

// ShadowSteps are what an IdP's first sync sends in the shadow walkthrough: it adopts alice (renaming
// her) and bob (suspended in the app, active in the IdP: go-live would let him in again), creates carol
// and makes her an admin. "{carol}" is carol's SCIM id.
var ShadowSteps = []ShadowStep{
	{"adopt alice, renamed", http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.com","name":{"givenName":"Alice","familyName":"Archer"},"active":true}`},
	{"adopt bob, whom the app suspended", http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","name":{"givenName":"Bob","familyName":"Brown"},"active":true}`},
	{"create carol", http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"carol@example.com","name":{"givenName":"Carol","familyName":"Cole"},"active":true}`},
	{"carol joins Admins", http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Admins","members":[{"value":"{carol}"}]}`},
}

// ShadowWalkthrough shows shadow mode on the embedded database: scimbridge serves the IdP's first sync
// in shadow mode while the app's tables stay as they were, `scimbridge plan` says what going live would
// change, and a serve in live mode goes live first, then serves carol under the id the IdP already has.
func ShadowWalkthrough(ctx context.Context, w io.Writer, log *slog.Logger) (err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := StartEngine("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, e.Close(cctx))
	}()
	db, err := sqlx.Open("mysql", e.DSN()+"?parseTime=true&loc=UTC")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range sqlscript.Split(legacySchema) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("loading the legacy app's schema: %w", err)
		}
	}
	live, err := config.Parse(exampleConfig, "config.example.toml")
	if err != nil {
		return err
	}
	shadow := *live
	shadow.Server.Mode = config.ModeShadow
	token := randomHex(24)
	o := app.Options{Getenv: func(k string) string { return map[string]string{tokenEnv: token}[k] }, DSN: e.DSN(), Log: log}
	rows := func(title string) (string, error) {
		users, err := (&Demo{appDB: db}).AppUsers(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		_ = WriteUsers(&b, users)
		fmt.Fprintf(w, "\n%s\n%s", title, b.String())
		return b.String(), nil
	}
	before, err := rows("The app's users table before the first sync:")
	if err != nil {
		return err
	}

	fmt.Fprintln(w, "\n1. scimbridge serves with [server] mode = \"shadow\": the IdP's first sync is answered as in live mode,")
	fmt.Fprintln(w, "   but written to copies of the app's tables (scim_shapp_*) and to scim_sh_* bookkeeping.")
	ids := map[string]string{}
	if err := serveWhile(ctx, &shadow, o, func(base string) error {
		for _, s := range ShadowSteps {
			body := strings.ReplaceAll(s.Body, "{carol}", ids["carol@example.com"])
			code, doc, err := scimCall(ctx, base, token, s.Method, s.Path, body)
			if err != nil {
				return err
			}
			if code != http.StatusCreated {
				return fmt.Errorf("%s: %d %v", s.Title, code, doc)
			}
			name, _ := doc["userName"].(string)
			if name == "" {
				name, _ = doc["displayName"].(string)
			}
			ids[name], _ = doc["id"].(string)
			fmt.Fprintf(w, "   %-36s %s %s -> %d, id %s\n", s.Title, s.Method, s.Path, code, ids[name])
		}
		return nil
	}); err != nil {
		return err
	}
	after, err := rows("The app's users table after it (shadow mode wrote none of it):")
	if err != nil {
		return err
	}
	if after != before {
		return errors.New("shadow mode changed the app's users table")
	}

	fmt.Fprintln(w, "\n2. `scimbridge plan`: what going live would do (go-live run in one transaction, rolled back):")
	pool, err := mysql.Open(e.DSN(), 4) // with the settings scimbridge's store relies on
	if err != nil {
		return err
	}
	defer pool.Close()
	plan, err := app.PlanGoLive(ctx, pool, live, o)
	if err != nil {
		return err
	}
	var text strings.Builder
	plan.WriteText(&text, true)
	fmt.Fprint(w, "   "+strings.ReplaceAll(strings.TrimSuffix(text.String(), "\n"), "\n", "\n   ")+"\n")
	if s := plan.Summary; s.Adopt != 2 || s.Create != 1 || s.Reactivate != 1 || s.RoleGrants != 1 {
		return fmt.Errorf("the plan says %+v; want alice and bob adopted, bob reactivated, carol created and made admin", s)
	}

	fmt.Fprintln(w, "\n3. scimbridge serves with mode = \"live\": it goes live first (what `scimbridge golive` does), then")
	fmt.Fprintln(w, "   serves the same users under the ids the IdP already has.")
	if err := serveWhile(ctx, live, o, func(base string) error {
		code, doc, err := scimCall(ctx, base, token, http.MethodGet, "/Users/"+ids["carol@example.com"], "")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("GET carol after go-live: %d %v", code, doc)
		}
		fmt.Fprintf(w, "   GET /Users/%s -> %d, %s\n", ids["carol@example.com"], code, doc["userName"])
		return nil
	}); err != nil {
		return err
	}
	if _, err := rows("The app's users table after go-live (what the plan said):"); err != nil {
		return err
	}
	return nil
}

// serveWhile runs scimbridge with cfg until fn, given the SCIM base URL, returns.
func serveWhile(ctx context.Context, cfg *config.Config, o app.Options, fn func(base string) error) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	o.Listener = ln
	a, err := app.New(ctx, cfg, o)
	if err != nil {
		_ = ln.Close()
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	err = fn("http://" + a.Addr().String() + cfg.Server.BasePath)
	stop()
	return errors.Join(err, <-done, a.Close())
}

func scimCall(ctx context.Context, base, token, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc, nil
}
