// Package reqinfo carries what is known about the request behind a piece of work (its id and the name
// of the token that made it) from the HTTP edge to the code that records it: the access log, the audit
// trail and the webhook payloads' actor. It holds no logic, so every layer may import it.
package reqinfo

import "context"

// Info is what the HTTP edge knows about a request.
type Info struct {
	ID    string // request id, also returned to the client in the X-Request-Id header
	Actor string // name of the bearer token that authenticated the request; "" before authentication
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the Info ctx carries, or the zero Info (work that no request started, such as a
// reconcile at start).
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}
