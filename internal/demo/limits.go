package demo

import (
	"context"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/scim"
)

// probeLimits tries what is known to fail on go-mysql-server v0.20.0, so that the demo tells only what
// is still true: a fix in scimbridge's SQL makes the line disappear.
func probeLimits(ctx context.Context, store *mysql.Store) []string {
	var limits []string
	f, err := scim.ParseFilter(`emails.value pr`)
	if err == nil {
		_, err = store.ListUsers(ctx, scim.ListQuery{Filter: f, StartIndex: 1, Count: 1})
	}
	if err != nil {
		limits = append(limits, "Filters on multi-valued attributes kept by scimbridge (emails, phoneNumbers, ...) answer 500:\n"+
			"go-mysql-server cannot parse the COLLATE clause in the JSON_TABLE(... COLUMNS (...)) that scimbridge sends.")
	}
	return limits
}
