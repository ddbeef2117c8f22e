package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/internal/reqinfo"
)

// RequestDone is what the service tells Config.OnRequest about each request once it is answered.
type RequestDone struct {
	// Operation is the method and the route template below the base path ("GET /Users/{id}"), or
	// "unmatched" for a path no route serves, so that metrics have a bounded set of values.
	Operation string
	Status    int
	TokenName string // "" when the request was not authenticated
	Duration  time.Duration

	// What the admin console's Requests page shows of the request (the metrics use none of it).
	ID         string    // the request id, as in X-Request-Id, the access log and the audit rows
	Start      time.Time // when it arrived
	Method     string
	Path       string // the route template, or the path as sent (at most 200 bytes) when none matched
	ResourceID string // the {id} of the route, if any
	SCIMType   string // the error's scimType, if any
	Reason     string // the error's public detail for a 4xx or 5xx answer
}

// requestState is what the layers of one request learn about it, for its access-log line: the
// middleware that logs holds it, the router notes the route, authenticate the token's name and
// writeError the error.
type requestState struct {
	id       string
	actor    string
	route    string // path template; "" when no route matched
	resID    string // the {id} of the route, if any
	scimType string
	reason   string // the error's public detail
	cause    error  // the error's cause, logged, never sent
}

type stateKey struct{}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	if st == nil {
		return &requestState{} // a handler called without observe (never in New's handler)
	}
	return st
}

// observe gives each request its id (a sane X-Request-Id sent by the client, else a new one), returns it
// in the X-Request-Id header, puts it in the context (reqinfo) and, once the request is answered, writes
// its access-log line and tells Config.OnRequest. Neither the token nor any body is ever logged.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = s.newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		st := &requestState{id: id}
		ctx := reqinfo.With(context.WithValue(r.Context(), stateKey{}, st), reqinfo.Info{ID: id})
		rec := &statusRecorder{ResponseWriter: w}
		method, rawPath := r.Method, r.URL.Path // canonicalPath rewrites r.URL below
		next.ServeHTTP(rec, r.WithContext(ctx))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		took := s.now().Sub(start)
		s.logRequest(r, st, method, rawPath, rec.status, took)
		if s.cfg.OnRequest != nil {
			d := RequestDone{Operation: s.operation(method, st.route), Status: rec.status, TokenName: st.actor, Duration: took,
				ID: id, Start: start, Method: method, Path: st.route, ResourceID: st.resID, SCIMType: st.scimType}
			if d.Path == "" {
				d.Path = clipPath(rawPath)
			}
			if rec.status >= 400 {
				d.Reason = st.reason
			}
			s.cfg.OnRequest(d)
		}
	})
}

// noteRoute records the matched route's template and id for the access log.
func (s *Server) noteRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r.Context())
		if rt := mux.CurrentRoute(r); rt != nil {
			st.route, _ = rt.GetPathTemplate()
		}
		st.resID = mux.Vars(r)["id"]
		next.ServeHTTP(w, r)
	})
}

func (s *Server) operation(method, route string) string {
	if route == "" {
		return "unmatched"
	}
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if p := strings.TrimPrefix(route, s.cfg.BasePath); p != route || s.cfg.BasePath == "" {
		route = p
	}
	return method + " " + route
}

// logRequest writes the access-log line: 5xx at error, probes (/healthz, /readyz) that succeed at debug,
// everything else at info. A path no route matched is logged as sent, without its query.
func (s *Server) logRequest(r *http.Request, st *requestState, method, rawPath string, status int, took time.Duration) {
	level := slog.LevelInfo
	path := st.route
	switch {
	case status >= 500:
		level = slog.LevelError
	case (path == "/healthz" || path == "/readyz") && status < 400:
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	if path == "" {
		path = clipPath(rawPath)
	}
	attrs := []slog.Attr{
		slog.String("request_id", st.id),
		slog.String("method", method),
		slog.String("path", path),
	}
	if st.resID != "" {
		attrs = append(attrs, slog.String("id", st.resID))
	}
	attrs = append(attrs, slog.Int("status", status))
	if st.scimType != "" {
		attrs = append(attrs, slog.String("scim_type", st.scimType))
	}
	if status >= 400 && st.reason != "" {
		attrs = append(attrs, slog.String("reason", st.reason))
	}
	if st.cause != nil {
		attrs = append(attrs, slog.String("err", st.cause.Error()))
	}
	attrs = append(attrs,
		slog.Float64("duration_ms", float64(took.Microseconds())/1000),
		slog.String("token_name", st.actor),
		slog.String("client", r.RemoteAddr),
		slog.String("user_agent", r.UserAgent()),
	)
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// clipPath bounds a path no route matched, as sent, to 200 bytes.
func clipPath(p string) string {
	if len(p) > 200 {
		return p[:200] + "..."
	}
	return p
}

// saneRequestID accepts a client's request id of 1 to 64 letters, digits and "-_.:", so that what it
// sends can neither forge log lines nor grow them without bound.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)
		if !ok {
			return false
		}
	}
	return true
}

// newRequestID is 16 random bytes in hex; should the source of randomness fail, the request still gets
// an id (the time) rather than failing.
func (s *Server) newRequestID() string {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return fmt.Sprintf("t%x", s.now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and MaxBytesReader's connection close) reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
