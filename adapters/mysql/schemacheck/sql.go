package schemacheck

import (
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

func quoteIdent(name string) string { return bookkeeping.MySQL.Quote(name) }

func placeholders(n int) string { return bookkeeping.Placeholders(n) }
