package agent

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

// The app's roles, published read-only at /Roles as the IETF draft "SCIM Roles and Entitlements
// Extension" describes them and as Okta's entitlement discovery reads them (GET /Roles, then a user's
// "roles" to assign one). They are the roles the [roles] rules name: the only roles scimbridge writes.
// The list is the configuration's, a few entries, so filters are evaluated in memory here.

// roleResource is one published role: its id, displayName and value are the role's name in the app.
func (s *Server) roleResource(r *http.Request, name string) scim.Resource {
	return scim.Resource{
		"schemas": []string{scim.RoleSchema}, "id": name, "displayName": name, "value": name, "enabled": true,
		"meta": map[string]any{"resourceType": "Role", "location": s.location(r, "/Roles/"+url.PathEscape(name))},
	}
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	lq, err := urlListQuery(r)
	if err != nil {
		return err
	}
	if lq.Cursor != nil || lq.SortBy != "" {
		return scim.BadRequest(scim.TypeInvalidValue, "/Roles pages by startIndex and lists roles in the configuration's order")
	}
	query, p, err := s.listParams(lq)
	if err != nil {
		return err
	}
	var matched []scim.Resource
	for _, name := range s.cfg.Roles {
		res := s.roleResource(r, name)
		if query.Filter != nil {
			hit, err := scim.MatchResource(s.roleType.Core, res, query.Filter)
			var se *scim.Error
			if errors.As(err, &se) {
				return scim.BadRequest(scim.TypeInvalidFilter, "%s", se.Detail) // an attribute a Role does not have
			} else if err != nil {
				return err
			}
			if !hit {
				continue
			}
		}
		matched = append(matched, res)
	}
	out := []any{}
	for i := query.StartIndex - 1; i < len(matched) && len(out) < query.Count; i++ {
		out = append(out, s.roleType.Project(matched[i], p.attrs, p.excluded))
	}
	s.writeJSON(w, http.StatusOK, listResponse(out, len(matched), query.StartIndex))
	return nil
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	for _, name := range s.cfg.Roles {
		if name == id {
			s.writeJSON(w, http.StatusOK, s.roleResource(r, name))
			return nil
		}
	}
	return scim.NotFound("Role", id)
}
