// Package agent is scimbridge's SCIM 2.0 HTTP service (RFC 7644): discovery, /Users, bearer-token auth and
// SCIM error bodies. It holds the protocol's use cases (validation, PATCH, ETags, paging) and leaves
// storage to a UserStore.
package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

// UserStore keeps SCIM users. Errors are *scim.Error where the client can act on them.
type UserStore interface {
	CreateUser(ctx context.Context, r scim.Resource) (scim.Resource, error)
	GetUser(ctx context.Context, id string) (scim.Resource, error)
	ListUsers(ctx context.Context, q scim.ListQuery) (scim.Page, error)
	// UpdateUser runs fn on the current resource inside one transaction and stores what it returns.
	UpdateUser(ctx context.Context, id string, fn func(cur scim.Resource) (scim.Resource, error)) (scim.Resource, error)
	DeleteUser(ctx context.Context, id string) error
	Ping(ctx context.Context) error
}

// Config configures the service.
type Config struct {
	BasePath      string             // "/scim/v2"
	PublicURL     string             // scheme://host of meta.location; empty derives it from the request
	MaxBodyBytes  int64              // larger bodies get 413
	Tokens        []string           // accepted bearer tokens; several at once for rotation
	PatchResponse string             // "resource" (200 with the resource, default) or "no_content" (204)
	Users         UserStore          // required
	UserType      *scim.ResourceType // the User resource type with its extensions, from the mapping
	Log           *slog.Logger       // default discards
	MaxPageSize   int                // default 1000
}

// Server serves SCIM.
type Server struct {
	cfg               Config
	log               *slog.Logger
	tokens            [][32]byte // SHA-256 of each token: compared in constant time, never kept in clear
	retryAfterSeconds int
	handler           http.Handler
}

// New builds the service.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Log, retryAfterSeconds: 5}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = 1 << 20
	}
	if s.cfg.MaxPageSize <= 0 {
		s.cfg.MaxPageSize = 1000
	}
	s.cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	if s.cfg.BasePath == "/" {
		s.cfg.BasePath = ""
	}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	s.handler = s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	root := mux.NewRouter()
	root.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	root.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)

	api := root.PathPrefix(s.cfg.BasePath).Subrouter()
	api.Use(s.authenticate)
	api.HandleFunc("/ServiceProviderConfig", s.serviceProviderConfig).Methods(http.MethodGet)
	api.HandleFunc("/Schemas", s.schemas).Methods(http.MethodGet)
	api.HandleFunc("/Schemas/{id}", s.schema).Methods(http.MethodGet)
	api.HandleFunc("/ResourceTypes", s.resourceTypes).Methods(http.MethodGet)
	api.HandleFunc("/ResourceTypes/{name}", s.resourceType).Methods(http.MethodGet)
	api.HandleFunc("/Users", s.listUsers).Methods(http.MethodGet)
	api.HandleFunc("/Users", s.createUser).Methods(http.MethodPost)
	api.HandleFunc("/Users/.search", s.searchUsers).Methods(http.MethodPost)
	api.HandleFunc("/Users/{id}", s.getUser).Methods(http.MethodGet)
	api.HandleFunc("/Users/{id}", s.replaceUser).Methods(http.MethodPut)
	api.HandleFunc("/Users/{id}", s.patchUser).Methods(http.MethodPatch)
	api.HandleFunc("/Users/{id}", s.deleteUser).Methods(http.MethodDelete)
	api.NotFoundHandler = s.authenticate(http.HandlerFunc(s.notFound))
	api.MethodNotAllowedHandler = s.authenticate(http.HandlerFunc(s.methodNotAllowed))
	root.NotFoundHandler = http.HandlerFunc(s.notFound)
	root.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	return s.canonicalPath(root)
}

// endpoints are the canonical spellings of the resource paths; clients may use any case (/users).
var endpoints = []string{"ServiceProviderConfig", "Schemas", "ResourceTypes", "Users", "Groups", "Bulk", "Me", ".search"}

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
		if !strings.EqualFold(scheme, "Bearer") || !s.validToken(strings.TrimSpace(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="scimbridge"`)
			s.writeError(w, r, scim.Errorf(http.StatusUnauthorized, "", "a valid bearer token is required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) validToken(token string) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	ok := 0
	for _, t := range s.tokens {
		ok |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	return ok == 1
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Users.Ping(r.Context()); err != nil {
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

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, scim.Errorf(http.StatusMethodNotAllowed, "", "%s is not allowed on %s", r.Method, r.URL.Path))
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

// readJSON decodes a request body (application/scim+json or application/json) within the size limit.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, into any) error {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if ct != "" && !strings.Contains(ct, "json") {
		return scim.Errorf(http.StatusUnsupportedMediaType, "", "send application/scim+json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		var maxErr *http.MaxBytesError
		if asMaxBytes(err, &maxErr) {
			return err
		}
		return scim.BadRequest(scim.TypeInvalidSyntax, "the body is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return scim.BadRequest(scim.TypeInvalidSyntax, "the body has data after the JSON value")
	}
	return nil
}
