package agent

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

// serviceProviderConfig says truthfully what this server does (RFC 7643 section 5).
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	s.writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{scim.SPConfigURN},
		"documentationUri": "https://github.com/scimbridge/scimbridge#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxPageSize},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true}, // on indexed attributes (the store refuses others)
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "Authentication with a bearer token configured in scimbridge",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
		}},
		// RFC 9865: both ways of paging; cursors name a position in (created, id) order and never expire.
		"pagination": map[string]any{
			"cursor": true, "index": true, "defaultPaginationMethod": "index",
			"defaultPageSize": min(100, s.cfg.MaxPageSize), "maxPageSize": s.cfg.MaxPageSize,
		},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.location(r, "/ServiceProviderConfig")},
	})
	return nil
}

func (s *Server) resourceTypeList() []*scim.ResourceType {
	out := []*scim.ResourceType{s.cfg.UserType}
	if s.cfg.Groups != nil {
		out = append(out, s.groupType)
	}
	if len(s.cfg.Roles) > 0 {
		out = append(out, s.roleType)
	}
	return out
}

func (s *Server) resourceTypeJSON(r *http.Request, rt *scim.ResourceType) map[string]any {
	exts := []map[string]any{}
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.ID, "required": false})
	}
	return map[string]any{
		"schemas": []string{scim.ResourceTypeURN}, "id": rt.Name, "name": rt.Name, "endpoint": rt.Endpoint,
		"description": rt.Description, "schema": rt.Core.ID, "schemaExtensions": exts,
		"meta": map[string]any{"resourceType": "ResourceType", "location": s.location(r, "/ResourceTypes/"+rt.Name)},
	}
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request) error {
	return writeDiscoveryList(s, w, r, s.resourceTypeList(), s.resourceTypeJSON)
}

func (s *Server) resourceType(w http.ResponseWriter, r *http.Request) error {
	return writeDiscoveryOne(s, w, r, "ResourceType", mux.Vars(r)["name"], s.resourceTypeList(),
		func(rt *scim.ResourceType) string { return rt.Name }, s.resourceTypeJSON)
}

func (s *Server) allSchemas() []scim.Schema {
	var out []scim.Schema
	for _, rt := range s.resourceTypeList() {
		out = append(out, rt.Core)
		out = append(out, rt.Extensions...)
	}
	return out
}

func (s *Server) schemaJSON(r *http.Request, sc scim.Schema) map[string]any {
	return map[string]any{
		"schemas": []string{scim.SchemaSchema}, "id": sc.ID, "name": sc.Name, "description": sc.Description,
		"attributes": sc.Attributes,
		"meta":       map[string]any{"resourceType": "Schema", "location": s.location(r, "/Schemas/"+sc.ID)},
	}
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request) error {
	return writeDiscoveryList(s, w, r, s.allSchemas(), s.schemaJSON)
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request) error {
	return writeDiscoveryOne(s, w, r, "Schema", mux.Vars(r)["id"], s.allSchemas(),
		func(sc scim.Schema) string { return sc.ID }, s.schemaJSON)
}

// writeDiscoveryList answers a discovery endpoint's list (/Schemas, /ResourceTypes): all of them, unpaged.
func writeDiscoveryList[T any](s *Server, w http.ResponseWriter, r *http.Request, all []T, render func(*http.Request, T) map[string]any) error {
	out := make([]any, 0, len(all))
	for _, v := range all {
		out = append(out, render(r, v))
	}
	s.writeJSON(w, http.StatusOK, listResponse(out, len(out), 1))
	return nil
}

// writeDiscoveryOne answers /Schemas/{id} or /ResourceTypes/{name}: ids compare case-insensitively.
func writeDiscoveryOne[T any](s *Server, w http.ResponseWriter, r *http.Request, kind, want string, all []T,
	id func(T) string, render func(*http.Request, T) map[string]any) error {
	for _, v := range all {
		if strings.EqualFold(id(v), want) {
			s.writeJSON(w, http.StatusOK, render(r, v))
			return nil
		}
	}
	return scim.NotFound(kind, want)
}

func listResponse(resources []any, total, startIndex int) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	return map[string]any{
		"schemas":      []string{scim.ListResponseURN},
		"totalResults": total,
		"startIndex":   startIndex,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	}
}

// cursorListResponse is a page by cursor (RFC 9865): no startIndex, and nextCursor unless it is the last.
func cursorListResponse(resources []any, page scim.Page) map[string]any {
	out := listResponse(resources, page.Total, 0)
	delete(out, "startIndex")
	if page.NextCursor != "" {
		out["nextCursor"] = page.NextCursor
	}
	return out
}

// location is the absolute URL of a path under the base path, for meta.location and the Location header.
func (s *Server) location(r *http.Request, path string) string {
	base := strings.TrimSuffix(s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + s.cfg.BasePath + path
}
