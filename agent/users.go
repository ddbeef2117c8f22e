package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

const maxFilterLength = 4096

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	// Every check of the request comes before the write: a request that is refused changes nothing.
	proj, err := requestProjection(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.readResource(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.cfg.Users.CreateUser(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", s.userLocation(r, out))
	s.writeResource(w, r, http.StatusCreated, out, proj)
}

// readResource decodes and checks a User body for POST and PUT.
func (s *Server) readResource(w http.ResponseWriter, r *http.Request) (scim.Resource, error) {
	var raw map[string]any
	if err := s.readJSON(w, r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, scim.BadRequest(scim.TypeInvalidSyntax, "the body must be a JSON object")
	}
	res, err := s.cfg.UserType.Normalize(raw)
	if err != nil {
		return nil, err
	}
	return res, s.cfg.UserType.Validate(res)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	out, err := s.cfg.Users.GetUser(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, version(out)) {
		w.Header().Set("ETag", version(out))
		w.WriteHeader(http.StatusNotModified)
		return
	}
	proj, err := requestProjection(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, r, http.StatusOK, out, proj)
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request) {
	proj, err := requestProjection(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.readResource(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	out, err := s.cfg.Users.UpdateUser(r.Context(), mux.Vars(r)["id"], func(cur scim.Resource) (scim.Resource, error) {
		if err := checkIfMatch(ifMatch, cur); err != nil {
			return nil, err
		}
		// A PUT that leaves "active" out keeps the account's state: reading the omission as "active"
		// would reactivate a deactivated user behind the admin's back.
		if _, given := in["active"]; !given && cur["active"] != nil {
			in["active"] = cur["active"]
		}
		return in, nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResource(w, r, http.StatusOK, out, proj)
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) {
	proj, err := requestProjection(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req scim.PatchRequest
	if err = s.readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	rt := s.cfg.UserType
	out, err := s.cfg.Users.UpdateUser(r.Context(), mux.Vars(r)["id"], func(cur scim.Resource) (scim.Resource, error) {
		if err := checkIfMatch(ifMatch, cur); err != nil {
			return nil, err
		}
		next, err := rt.ApplyPatch(cur, req.Operations)
		if err != nil {
			return nil, err
		}
		// Re-normalize the whole result: patched values were checked one by one, this also drops
		// what PATCH may not set (readOnly) and re-checks required attributes.
		next, err = rt.Normalize(next)
		if err != nil {
			return nil, err
		}
		return next, rt.Validate(next)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.cfg.PatchResponse == "no_content" {
		w.Header().Set("ETag", version(out))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeResource(w, r, http.StatusOK, out, proj)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	ifMatch := r.Header.Get("If-Match")
	check := func(cur scim.Resource) error { return checkIfMatch(ifMatch, cur) }
	if err := s.cfg.Users.DeleteUser(r.Context(), mux.Vars(r)["id"], check); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listQuery holds the parameters of a list request, from the URL or a POST /.search body.
type listQuery struct {
	Filter             string   `json:"filter"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := listQuery{Filter: q.Get("filter")}
	for name, dst := range map[string]**int{"startIndex": &lq.StartIndex, "count": &lq.Count} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				s.writeError(w, r, scim.BadRequest(scim.TypeInvalidValue, "%s must be an integer, got %q", name, v))
				return
			}
			*dst = &n
		}
	}
	if v := q.Get("attributes"); v != "" {
		lq.Attributes = []string{v}
	}
	if v := q.Get("excludedAttributes"); v != "" {
		lq.ExcludedAttributes = []string{v}
	}
	s.list(w, r, lq)
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	var lq listQuery
	if err := s.readJSON(w, r, &lq); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.list(w, r, lq)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, lq listQuery) {
	query := scim.ListQuery{StartIndex: 1, Count: min(100, s.cfg.MaxPageSize)}
	if lq.StartIndex != nil && *lq.StartIndex > 1 {
		query.StartIndex = *lq.StartIndex // RFC 7644 3.4.2.4: values below 1 mean 1
	}
	if lq.Count != nil {
		query.Count = max(0, min(*lq.Count, s.cfg.MaxPageSize))
	}
	if f := strings.TrimSpace(lq.Filter); f != "" {
		if len(f) > maxFilterLength {
			s.writeError(w, r, scim.BadRequest(scim.TypeInvalidFilter, "the filter is longer than %d characters", maxFilterLength))
			return
		}
		expr, err := scim.ParseFilter(f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		query.Filter = expr
	}
	attrs, excluded, err := projection(lq.Attributes, lq.ExcludedAttributes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.cfg.Users.ListUsers(r.Context(), query)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]any, 0, len(page.Resources))
	for _, res := range page.Resources {
		s.decorate(r, res)
		out = append(out, s.cfg.UserType.Project(res, attrs, excluded))
	}
	s.writeJSON(w, http.StatusOK, listResponse(out, page.Total, query.StartIndex))
}

func projection(attributes, excluded []string) (attrs, excl []scim.AttrPath, err error) {
	for _, a := range attributes {
		p, err := scim.ParseAttrList(a)
		if err != nil {
			return nil, nil, err
		}
		attrs = append(attrs, p...)
	}
	for _, a := range excluded {
		p, err := scim.ParseAttrList(a)
		if err != nil {
			return nil, nil, err
		}
		excl = append(excl, p...)
	}
	return attrs, excl, nil
}

// proj is a parsed attributes / excludedAttributes pair.
type proj struct{ attrs, excluded []scim.AttrPath }

// requestProjection parses the attributes and excludedAttributes of the URL (RFC 7644 3.9).
func requestProjection(r *http.Request) (proj, error) {
	q := r.URL.Query()
	attrs, excl, err := projection(nonEmpty(q.Get("attributes")), nonEmpty(q.Get("excludedAttributes")))
	return proj{attrs, excl}, err
}

// writeResource sends one resource with its ETag, Location and the attributes the query asked for.
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, res scim.Resource, p proj) {
	s.decorate(r, res)
	w.Header().Set("ETag", version(res))
	w.Header().Set("Content-Location", s.userLocation(r, res))
	s.writeJSON(w, status, s.cfg.UserType.Project(res, p.attrs, p.excluded))
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// decorate adds meta.location, which depends on how the client reached us.
func (s *Server) decorate(r *http.Request, res scim.Resource) {
	if meta, ok := res["meta"].(map[string]any); ok {
		meta["location"] = s.userLocation(r, res)
	}
	delete(res, "password")
}

func (s *Server) userLocation(r *http.Request, res scim.Resource) string {
	id, _ := res["id"].(string)
	return s.location(r, "/Users/"+id)
}

func version(res scim.Resource) string {
	meta, _ := res["meta"].(map[string]any)
	v, _ := meta["version"].(string)
	return v
}

// checkIfMatch enforces If-Match (RFC 7644 3.14) against the current version: 412 when it differs.
func checkIfMatch(ifMatch string, cur scim.Resource) error {
	if ifMatch == "" || etagMatches(ifMatch, version(cur)) {
		return nil
	}
	return scim.Errorf(http.StatusPreconditionFailed, "", "the resource has changed: its version is %s", version(cur))
}

// etagMatches compares an If-Match / If-None-Match list with a version, weakly (W/ prefixes ignored).
func etagMatches(header, v string) bool {
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, tag := range strings.Split(header, ",") {
		if t := strings.TrimSpace(tag); t == "*" || strip(t) == strip(v) {
			return true
		}
	}
	return false
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

// jsonProblem describes a JSON syntax error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s has the wrong type (%s)", typ.Field, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	}
	return "unreadable"
}
