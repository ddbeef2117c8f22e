// Command scimbridge-demo runs scimbridge against an embedded, in-memory MySQL-compatible database
// (go-mysql-server) with a sample "legacy app" page, scimbridge's SAML gate in front of that page,
// crewjam/saml's test IdP, and scimbridge's webhooks delivered to the app, in one process:
//
//	go run ./demo/cmd/scimbridge-demo               # start, print URLs, token, IdP logins and curl commands; Ctrl-C stops
//	go run ./demo/cmd/scimbridge-demo -walkthrough  # also run those commands and sign in through the gate, print what changed
//	                                           # and the webhooks the app received, and exit
//
// It is a demo only: the embedded engine takes no row locks. The production binary is cmd/scimbridge.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/scimbridge/scimbridge/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(demo.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
