package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Banner is printed first: what this demo is and what its database cannot do.
const Banner = `================================================================================
 scimbridge DEMO: for trying scimbridge only, never for production
================================================================================
 The database is go-mysql-server, an in-memory MySQL-compatible engine running
 inside this process. It is not MariaDB or MySQL:
   - it takes no row locks: SELECT ... FOR UPDATE (SKIP LOCKED) locks nothing,
     and its transactions cannot run side by side (a commit would undo another
     one's), so the demo runs ONE transaction at a time on the whole database.
     How scimbridge behaves under concurrent load, and how webhook workers of
     several replicas share deliveries, cannot be judged here;
   - everything is lost when the demo stops;
   - some of its error messages differ from MariaDB's, so a few bad requests
     that MariaDB turns into a 400 or 409 naming the column get a vaguer answer;
   - it re-serializes JSON (keys sorted, as MySQL 8 does): a webhook's body is
     not byte for byte the payload scimbridge wrote, but it is what is signed.
 The real binary, cmd/scimbridge, does not contain this engine: run it against
 MariaDB 10.11+ or MySQL 8 (see config.example.toml).
================================================================================
`

const usage = `scimbridge-demo: scimbridge, an in-memory MySQL-compatible database, a sample legacy
app that receives scimbridge's webhooks, scimbridge's SAML gate in front of it and a test IdP, in one
process.

Usage:
  go run ./demo/cmd/scimbridge-demo [flags]

Flags:
`

// Main runs the demo command with args (without the program name) until ctx is done, and returns the
// exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimbridge-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var o Options
	fs.StringVar(&o.ListenSCIM, "listen-scim", "127.0.0.1:0", "address of the SCIM API (port 0: a free port)")
	fs.StringVar(&o.ListenApp, "listen-app", "127.0.0.1:0", "address of the sample app's page (port 0: a free port)")
	fs.StringVar(&o.ListenGate, "listen-gate", "127.0.0.1:0", "address of the SAML gate in front of the sample app (port 0: a free port)")
	fs.StringVar(&o.ListenIdP, "listen-idp", "127.0.0.1:0", "address of the test IdP (port 0: a free port)")
	fs.StringVar(&o.Token, "token", "", "bearer token for the SCIM API, at least 16 characters (default: a random one)")
	walk := fs.Bool("walkthrough", false, "run the printed curl steps against the servers, print each answer, the app's rows "+
		"and the webhooks it received, sign in through the gate as carol and dan, then exit")
	walkShadow := fs.Bool("walkthrough-shadow", false, "show shadow mode instead: an IdP's first sync served without writing the app's "+
		"tables, `scimbridge plan`, then go-live; then exit")
	verbose := fs.Bool("v", false, "log scimbridge's requests and warnings to stderr")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scimbridge-demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	fmt.Fprint(stdout, Banner)
	if *walkShadow {
		fmt.Fprintln(stdout, "\nThe shadow-mode walkthrough (-walkthrough-shadow): going live safely.")
		if err := ShadowWalkthrough(ctx, stdout, o.Log); err != nil {
			fmt.Fprintln(stderr, "scimbridge-demo: shadow walkthrough:", err)
			return 1
		}
		fmt.Fprintln(stdout, "\nShadow walkthrough done: the plan was what go-live did.")
		return 0
	}
	d, err := Start(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "scimbridge-demo:", err)
		return 1
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := d.Close(shutdownCtx); err != nil {
			fmt.Fprintln(stderr, "scimbridge-demo: stopping:", err)
		}
	}()

	for _, l := range d.Limits() {
		fmt.Fprintf(stdout, " NOT WORKING IN THIS DEMO: %s\n", strings.ReplaceAll(l, "\n", "\n   "))
	}
	fmt.Fprintf(stdout, `
 SCIM base URL   %s
 Bearer token    %s
 Legacy app      %s   (reload it after each step)
 Database        %s, database %q, user root, no password
                 (e.g. mysql -h 127.0.0.1 -P %s -u root %s)
`, d.SCIMURL(), d.Token(), d.AppURL(), d.DBAddr(), DatabaseName, port(d.DBAddr()), DatabaseName)
	writeGate(stdout, d)
	fmt.Fprintf(stdout, `
 Webhooks        %s   (the legacy app's receiver; its page lists what it got)

scimbridge sends every change it makes to the app, signed the Standard Webhooks way, from this
[[webhooks]] entry after config.example.toml (the secret, made at start, is handed over in memory):
%s`, d.WebhookURL(), d.WebhookTOML())
	fmt.Fprint(stdout, "\nTry SCIM with curl, one step after the other:\n\n")
	WriteCurl(stdout, d.SCIMURL(), d.AppURL(), d.Token())

	if *walk {
		fmt.Fprintln(stdout, "\nRunning the walkthrough (-walkthrough). After each step it shows the webhooks the app received: those\n"+
			"about one user or group arrive in the order they were committed, different ones may interleave.\n"+
			"Through the gate it signs carol in after step 5, while she is provisioned, active and in the group\n"+
			"Support, and checks that dan is refused; after step 6 it reloads carol's page until the gate refuses her.")
		if err := d.Walkthrough(ctx, stdout, nil); err != nil {
			fmt.Fprintln(stderr, "scimbridge-demo: walkthrough:", err)
			return 1
		}
		fmt.Fprintln(stdout, "\nWalkthrough done: every step answered as expected.")
		return 0
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	if err := d.Wait(ctx); err != nil {
		fmt.Fprintln(stderr, "scimbridge-demo:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Stopping.")
	return 0
}

// writeGate prints the gate's URL, the IdP's logins and what to expect of each.
func writeGate(w io.Writer, d *Demo) {
	recheck := d.RecheckEvery()
	fmt.Fprintf(w, `
 SAML gate       %s   (the legacy app behind scimbridge's SAML gate: sign in there)
 Test IdP        %s/metadata   (crewjam/saml's samlidp, in this process)

Sign in through the gate with these IdP logins (user / password; the NameID sent is the email):
`, d.GateURL(), d.IdPURL())
	for _, u := range d.IdPUsers() {
		fmt.Fprintf(w, "  %-5s / %s   %s\n      %s\n", u.Login, u.Password, u.Email, u.Expect)
	}
	fmt.Fprintf(w, `The gate looks every sign-in up in scimbridge's SCIM directory (a user with that userName, active)
and checks again every %s (groups and roles follow within %s). A user deactivated or deleted through
SCIM loses her sessions at once, also in a browser that is already signed in. The app page says whom the gate let in (user, roles, groups, app user key,
from the gate's signed headers); opened directly at the legacy app's URL, it says it was reached without
the gate. The test IdP keeps no session, so each sign-in asks for a password and one browser can switch
users; %ssaml/logout signs out of the gate.
The gate runs with this [gate] section after config.example.toml (an http:// public URL, so its session
cookie is not marked Secure: for this machine only):
%s`, recheck, recheck, d.GateURL(), d.GateTOML())
}

func port(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}
