package bookkeeping

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The small pieces of SQL text and arguments every package writing SQL for scimbridge needs.

// Placeholders is n comma-separated "?".
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Args turns strings into query arguments.
func Args(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// KeyString is a scanned key (a number, or text scanned as bytes) as a map key.
func KeyString(k any) string {
	if b, ok := k.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(k)
}

// NormalizeKey turns a scanned key into the type the bookkeeping's key columns hold: text as a string.
func NormalizeKey(k any) any {
	if b, ok := k.([]byte); ok {
		return string(b)
	}
	return k
}

// QuoteList quotes names and joins them with commas.
func QuoteList(d Dialect, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = d.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Queryer is what reads need: a *sqlx.DB, or a *Tx inside a transaction.
type Queryer interface {
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// Without is a without the elements of b, sorted: the roles to grant or revoke, the members to add.
func Without(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
