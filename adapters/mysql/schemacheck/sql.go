package schemacheck

import (
	"sort"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

func quoteIdent(name string) string { return bookkeeping.MySQL.Quote(name) }

func placeholders(n int) string { return bookkeeping.Placeholders(n) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
