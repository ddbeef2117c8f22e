package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// listQuery holds the parameters of a list request, from the URL or a POST /.search body.
type listQuery struct {
	Filter             string   `json:"filter"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
	Cursor             *string  `json:"cursor"` // RFC 9865; "" asks for the first page by cursor
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
}

// urlListQuery reads the list parameters of a GET on a collection.
func urlListQuery(r *http.Request) (listQuery, error) {
	q := r.URL.Query()
	lq := listQuery{Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder")}
	for name, dst := range map[string]**int{"startIndex": &lq.StartIndex, "count": &lq.Count} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return lq, scim.BadRequest(scim.TypeInvalidValue, "%s must be an integer, got %q", name, v)
			}
			*dst = &n
		}
	}
	if q.Has("cursor") {
		c := q.Get("cursor")
		lq.Cursor = &c
	}
	if v := q.Get("attributes"); v != "" {
		lq.Attributes = []string{v}
	}
	if v := q.Get("excludedAttributes"); v != "" {
		lq.ExcludedAttributes = []string{v}
	}
	return lq, nil
}

// fetchFunc reads one page of a collection; the projection lets it skip what will not be returned
// (a group's members).
type fetchFunc func(ctx context.Context, q scim.ListQuery, p proj) (scim.Page, error)

// listFromURL answers GET on a collection.
func (s *Server) listFromURL(w http.ResponseWriter, r *http.Request, rt *scim.ResourceType, fetch fetchFunc) error {
	lq, err := urlListQuery(r)
	if err != nil {
		return err
	}
	return s.list(w, r, lq, rt, fetch)
}

// listFromBody answers POST /.search on a collection.
func (s *Server) listFromBody(w http.ResponseWriter, r *http.Request, rt *scim.ResourceType, fetch fetchFunc) error {
	var lq listQuery
	if err := s.readJSON(w, r, &lq); err != nil {
		return err
	}
	return s.list(w, r, lq, rt, fetch)
}

// list answers a list request: paging by index (RFC 7644 3.4.2.4) or by cursor (RFC 9865), filter, sort,
// projection.
func (s *Server) list(w http.ResponseWriter, r *http.Request, lq listQuery, rt *scim.ResourceType, fetch fetchFunc) error {
	query, p, err := s.listParams(lq)
	if err != nil {
		return err
	}
	if query.SortBy, query.SortDescending, err = sortParams(lq, rt); err != nil {
		return err
	}
	if query.SortBy != "" && query.ByCursor {
		return scim.BadRequest(scim.TypeInvalidValue, "sortBy works with startIndex paging; a cursor follows the (created, id) order")
	}
	page, err := fetch(r.Context(), query, p)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(page.Resources))
	for _, res := range page.Resources {
		s.decorate(r, rt, res)
		out = append(out, rt.Project(res, p.attrs, p.excluded))
	}
	if query.ByCursor {
		s.writeJSON(w, http.StatusOK, cursorListResponse(out, page))
		return nil
	}
	s.writeJSON(w, http.StatusOK, listResponse(out, page.Total, query.StartIndex))
	return nil
}

// listParams reads the paging, filter and projection of a list request.
func (s *Server) listParams(lq listQuery) (scim.ListQuery, proj, error) {
	query := scim.ListQuery{StartIndex: 1, Count: min(100, s.cfg.MaxPageSize)}
	if lq.Cursor != nil {
		if lq.StartIndex != nil {
			return query, proj{}, scim.BadRequest(scim.TypeInvalidValue, "startIndex and cursor are two ways of paging: send one of them")
		}
		query.ByCursor, query.Cursor = true, *lq.Cursor
	}
	if lq.StartIndex != nil && *lq.StartIndex > 1 {
		query.StartIndex = *lq.StartIndex // RFC 7644 3.4.2.4: values below 1 mean 1
	}
	if lq.Count != nil {
		query.Count = max(0, min(*lq.Count, s.cfg.MaxPageSize))
	}
	if f := strings.TrimSpace(lq.Filter); f != "" {
		if len(f) > maxFilterLength {
			return query, proj{}, scim.BadRequest(scim.TypeInvalidFilter, "the filter is longer than %d characters", maxFilterLength)
		}
		expr, err := scim.ParseFilter(f)
		if err != nil {
			return query, proj{}, err
		}
		query.Filter = expr
	}
	attrs, excluded, err := projection(lq.Attributes, lq.ExcludedAttributes)
	return query, proj{attrs, excluded}, err
}

// sortParams resolves sortBy against the resource type (RFC 7644 3.4.2.3): its canonical path, and
// whether sortOrder is descending. Which attributes can be sorted is the store's to say.
func sortParams(lq listQuery, rt *scim.ResourceType) (by string, descending bool, err error) {
	switch strings.ToLower(lq.SortOrder) {
	case "", "ascending":
	case "descending":
		descending = true
	default:
		return "", false, scim.BadRequest(scim.TypeInvalidValue, `sortOrder must be "ascending" or "descending", got %q`, lq.SortOrder)
	}
	if strings.TrimSpace(lq.SortBy) == "" {
		return "", descending, nil
	}
	p, err := scim.ParseAttrPath(strings.TrimSpace(lq.SortBy))
	if err != nil {
		return "", false, err
	}
	ref, ok := rt.Resolve(p)
	if !ok {
		return "", false, scim.BadRequest(scim.TypeInvalidValue, "sortBy: %s has no attribute %q", rt.Name, lq.SortBy)
	}
	return ref.Path(), descending, nil
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
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, rt *scim.ResourceType, res scim.Resource, p proj) {
	s.decorate(r, rt, res)
	w.Header().Set("ETag", version(res))
	w.Header().Set("Content-Location", s.resourceLocation(r, rt, res))
	s.writeJSON(w, status, rt.Project(res, p.attrs, p.excluded))
}

// wants reports whether a projection returns the attribute name (members of a group).
func (p proj) wants(name string) bool {
	for _, a := range p.excluded {
		if strings.EqualFold(a.Name, name) && a.Sub == "" {
			return false
		}
	}
	if len(p.attrs) == 0 {
		return true
	}
	for _, a := range p.attrs {
		if strings.EqualFold(a.Name, name) {
			return true
		}
	}
	return false
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// decorate adds meta.location, which depends on how the client reached us.
func (s *Server) decorate(r *http.Request, rt *scim.ResourceType, res scim.Resource) {
	if meta, ok := res["meta"].(map[string]any); ok {
		meta["location"] = s.resourceLocation(r, rt, res)
	}
	delete(res, "password")
	s.addRefs(r, res["members"], "/Users/")
	s.addRefs(r, res["groups"], "/Groups/")
}

// addRefs sets the "$ref" of each member of a group or group of a user (RFC 7643 4.1.2, 4.2): the URI
// of the resource its value names. A member of type Group points at /Groups.
func (s *Server) addRefs(r *http.Request, list any, endpoint string) {
	items, _ := list.([]any)
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		id, _ := m["value"].(string)
		if id == "" {
			continue
		}
		ep := endpoint
		if t, _ := m["type"].(string); t == "Group" {
			ep = "/Groups/"
		}
		m["$ref"] = s.location(r, ep+id)
	}
}

func (s *Server) resourceLocation(r *http.Request, rt *scim.ResourceType, res scim.Resource) string {
	id, _ := res["id"].(string)
	return s.location(r, rt.Endpoint+"/"+id)
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
