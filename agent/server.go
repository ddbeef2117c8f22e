// Package agent is scimbridge's SCIM 2.0 HTTP service (RFC 7644): discovery, /Users, bearer-token auth and
// SCIM error bodies. It holds the protocol's use cases (validation, PATCH, ETags, paging) and leaves
// storage to a UserStore.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
)

// UserStore keeps SCIM users. Errors are *scim.Error where the client can act on them.
type UserStore interface {
	CreateUser(ctx context.Context, r scim.Resource) (scim.Resource, error)
	GetUser(ctx context.Context, id string) (scim.Resource, error)
	ListUsers(ctx context.Context, q scim.ListQuery) (scim.Page, error)
	// UpdateUser runs fn on the current resource inside one transaction and stores what it returns. fn
	// may be called more than once (the transaction is retried after a lock conflict): it must depend on
	// nothing but its argument and have no effect of its own.
	UpdateUser(ctx context.Context, id string, fn func(cur scim.Resource) (scim.Resource, error)) (scim.Resource, error)
	// DeleteUser runs check (may be nil) on the current resource inside the deleting transaction; check
	// may be called more than once, as UpdateUser's fn.
	DeleteUser(ctx context.Context, id string, check func(cur scim.Resource) error) error
	Ping(ctx context.Context) error
}

// Config configures the service.
type Config struct {
	BasePath      string    // "/scim/v2"
	PublicURL     string    // scheme://host of meta.location; empty derives it from the request
	MaxBodyBytes  int64     // larger bodies get 413
	Tokens        []string  // accepted bearer tokens, named "default"; several at once for rotation
	NamedTokens   []Token   // accepted bearer tokens with the name of who holds them (the IdP)
	PatchResponse string    // "resource" (200 with the resource, default) or "no_content" (204)
	Users         UserStore // required
	// Roles are the app's roles a user can be assigned (the [roles] rules' roles), published read-only
	// at /Roles (draft-ietf-scim-roles-entitlements; Okta's entitlement discovery); none: no /Roles.
	Roles       []string
	Groups      GroupStore         // nil: no /Groups
	UserType    *scim.ResourceType // the User resource type with its extensions, from the mapping
	Log         *slog.Logger       // default discards
	MaxPageSize int                // default 1000
	// RequestTimeout bounds each request's work, so a database that stops answering (a network
	// partition rather than a refused connection) gives 503 instead of a hung IdP. Default 15s.
	RequestTimeout time.Duration
	// BodyIdleTimeout is how long a request body may stall before the request gets 400 (a body shorter
	// than its Content-Length). Default 2s.
	BodyIdleTimeout time.Duration
	// ExtraSchemas is what a body's "schemas" may name besides the resource's own schemas:
	// scim.ExtraSchemasIgnore (default) or scim.ExtraSchemasRefuse.
	ExtraSchemas string
	// RetryWindow is how long after this server answered a create 503 (the write may have committed) a
	// POST that describes the user it finds exactly is taken for a retry of that create and answered 201
	// with it (see createdBefore); 0 means 2 minutes, <0 never.
	RetryWindow time.Duration
	// OnRequest, if set, learns of every request once it is answered (the metrics).
	OnRequest func(RequestDone)
	Now       func() time.Time // clock of request durations and of RetryWindow [time.Now]
	Rand      io.Reader        // randomness of request ids [crypto/rand]
}

// Token is an accepted bearer token and the name of who holds it: the name, never the token, goes into
// the access log, the metrics and the request's reqinfo (the audit trail, webhook actors).
type Token struct {
	Name, Secret string
}

// DefaultTokenName names the tokens of Config.Tokens.
const DefaultTokenName = "default"

// tokenDigest is the SHA-256 of an accepted token, with its name.
type tokenDigest struct {
	name string
	sum  [32]byte
}

// Server serves SCIM.
type Server struct {
	cfg               Config
	log               *slog.Logger
	tokens            []tokenDigest // SHA-256 of each token: compared in constant time, never kept in clear
	now               func() time.Time
	rand              io.Reader
	groupType         *scim.ResourceType
	roleType          *scim.ResourceType
	retryAfterSeconds int
	handler           http.Handler
	unanswered        unanswered // creates answered 503, whose retries may find them committed (retry.go)
}

// New builds the service.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Log, retryAfterSeconds: 5, groupType: scim.GroupType(), roleType: scim.RoleType(), now: cfg.Now, rand: cfg.Rand}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = 1 << 20
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = 15 * time.Second
	}
	if s.cfg.BodyIdleTimeout <= 0 {
		s.cfg.BodyIdleTimeout = 2 * time.Second
	}
	if s.cfg.ExtraSchemas == "" {
		s.cfg.ExtraSchemas = scim.ExtraSchemasIgnore
	}
	if s.cfg.RetryWindow == 0 {
		s.cfg.RetryWindow = 2 * time.Minute
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if s.cfg.MaxPageSize <= 0 {
		s.cfg.MaxPageSize = 1000
	}
	s.cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	if s.cfg.BasePath == "/" {
		s.cfg.BasePath = ""
	}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, tokenDigest{DefaultTokenName, sha256.Sum256([]byte(t))})
	}
	for _, t := range cfg.NamedTokens {
		s.tokens = append(s.tokens, tokenDigest{t.Name, sha256.Sum256([]byte(t.Secret))})
	}
	s.handler = s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	root := mux.NewRouter()
	root.Use(s.noteRoute)
	root.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	root.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)

	// mux routes by path only; methods are dispatched by methods(), which answers 405 with Allow.
	// (gorilla/mux v1.8.1 answers 404 for a wrong method on a path that has several routes.)
	api := root.PathPrefix(s.cfg.BasePath).Subrouter()
	api.Use(s.authenticate, s.withDeadline)
	api.Handle("/ServiceProviderConfig", s.methods(verbs{http.MethodGet: s.serviceProviderConfig}))
	api.Handle("/Schemas", s.methods(verbs{http.MethodGet: s.schemas}))
	api.Handle("/Schemas/{id}", s.methods(verbs{http.MethodGet: s.schema}))
	api.Handle("/ResourceTypes", s.methods(verbs{http.MethodGet: s.resourceTypes}))
	api.Handle("/ResourceTypes/{name}", s.methods(verbs{http.MethodGet: s.resourceType}))
	api.Handle("/Users", s.methods(verbs{http.MethodGet: s.listUsers, http.MethodPost: s.createUser}))
	api.Handle("/Users/.search", s.methods(verbs{http.MethodPost: s.searchUsers}))
	api.Handle("/Users/{id}", s.methods(verbs{http.MethodGet: s.getUser, http.MethodPut: s.replaceUser,
		http.MethodPatch: s.patchUser, http.MethodDelete: s.deleteUser}))
	if s.cfg.Groups != nil {
		api.Handle("/Groups", s.methods(verbs{http.MethodGet: s.listGroups, http.MethodPost: s.createGroup}))
		api.Handle("/Groups/.search", s.methods(verbs{http.MethodPost: s.searchGroups}))
		api.Handle("/Groups/{id}", s.methods(verbs{http.MethodGet: s.getGroup, http.MethodPut: s.replaceGroup,
			http.MethodPatch: s.patchGroup, http.MethodDelete: s.deleteGroup}))
	}
	api.Handle("/.search", s.methods(verbs{http.MethodPost: s.searchAll}))
	if len(s.cfg.Roles) > 0 {
		api.Handle("/Roles", s.methods(verbs{http.MethodGet: s.listRoles}))
		api.Handle("/Roles/{id}", s.methods(verbs{http.MethodGet: s.getRole}))
	}
	api.NotFoundHandler = s.authenticate(http.HandlerFunc(s.notFound))
	root.NotFoundHandler = http.HandlerFunc(s.notFound)
	return s.observe(s.canonicalPath(root))
}

// handler serves one SCIM operation. A returned error is the whole answer: methods writes it, the one
// place where errors become HTTP responses (writeError).
type handler func(w http.ResponseWriter, r *http.Request) error

// verbs maps HTTP methods to their handlers on one path.
type verbs map[string]handler

// methods dispatches on the request method; others get 405 with an Allow header (RFC 9110 15.5.6).
func (s *Server) methods(v verbs) http.Handler {
	allowed := make([]string, 0, len(v))
	for m := range v {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := v[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = v[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			h = func(w http.ResponseWriter, r *http.Request) error {
				return scim.Errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// withDeadline bounds the work of one request (see Config.RequestTimeout).
func (s *Server) withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// endpoints are the canonical spellings of the resource paths; clients may use any case (/users).
var endpoints = []string{"ServiceProviderConfig", "Schemas", "ResourceTypes", "Users", "Groups", "Roles", "Bulk", "Me", ".search"}

// canonicalPath rewrites the endpoint segments of the path to their canonical case and drops a trailing
// slash (Microsoft's collection sends /Users/?filter=...), leaving ids untouched.
func (s *Server) canonicalPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(strings.ToLower(p), strings.ToLower(s.cfg.BasePath)+"/") {
			rest := strings.TrimSuffix(p[len(s.cfg.BasePath)+1:], "/")
			segs := strings.Split(rest, "/")
			for i, seg := range segs {
				if i == 1 && segs[0] != "Schemas" && segs[0] != "ResourceTypes" && seg != ".search" {
					break // an id
				}
				for _, e := range endpoints {
					if strings.EqualFold(seg, e) {
						segs[i] = e
					}
				}
			}
			r.URL.Path = s.cfg.BasePath + "/" + strings.Join(segs, "/")
			r.URL.RawPath = ""
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate requires a bearer token. Tokens are compared as SHA-256 digests in constant time, so
// neither their length nor their content leaks through timing; they are never logged.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(auth, " ")
		name, ok := s.tokenName(strings.TrimSpace(token))
		if !strings.EqualFold(scheme, "Bearer") || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimbridge"`)
			s.writeError(w, r, scim.Errorf(http.StatusUnauthorized, "", "a valid bearer token is required"))
			return
		}
		st := stateOf(r.Context())
		st.actor = name
		next.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), reqinfo.Info{ID: st.id, Actor: name})))
	})
}

// tokenName returns the name of the accepted token equal to token. Every digest is compared, so the
// time taken does not tell which one matched.
func (s *Server) tokenName(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	name, ok := "", false
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 && !ok {
			name, ok = t.name, true
		}
	}
	return name, ok
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), min(s.cfg.RequestTimeout, 5*time.Second))
	defer cancel()
	if err := s.cfg.Users.Ping(ctx); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, s.cfg.BasePath)
	switch {
	case strings.HasPrefix(p, "/Bulk"), strings.HasPrefix(p, "/Me"):
		s.writeError(w, r, scim.Errorf(http.StatusNotImplemented, "", "%s is not supported by this server", p))
	default:
		s.writeError(w, r, scim.Errorf(http.StatusNotFound, "", "no SCIM endpoint at %s", r.URL.Path))
	}
}

// writeJSON answers with a SCIM JSON body.
func (s *Server) writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		s.log.Debug("writing response", "err", err)
	}
}
