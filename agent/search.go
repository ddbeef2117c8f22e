package agent

import (
	"errors"
	"net/http"

	"github.com/scimbridge/scimbridge/scim"
)

// searchAll is POST /.search at the root (RFC 7644 3.4.3): one filter over every resource type, Users
// then Groups, each in its (created, id) order, paged by startIndex as one list. A filter naming an
// attribute only one type has (userName) matches nothing of the other: a type whose store refuses the
// filter with 400 contributes no results, unless every type refuses it. sortBy and cursors are refused:
// the types have no common order to sort or resume in.
func (s *Server) searchAll(w http.ResponseWriter, r *http.Request) error {
	var lq listQuery
	if err := s.readJSON(w, r, &lq); err != nil {
		return err
	}
	if lq.Cursor != nil || lq.SortBy != "" {
		return scim.BadRequest(scim.TypeInvalidValue, "a search at the root pages by startIndex only and is not sorted: "+
			"POST /Users/.search or /Groups/.search for cursors and sortBy")
	}
	query, p, err := s.listParams(lq)
	if err != nil {
		return err
	}
	types := []*scim.ResourceType{s.cfg.UserType}
	fetches := []fetchFunc{s.fetchUsers}
	if s.cfg.Groups != nil {
		types, fetches = append(types, s.groupType), append(fetches, s.fetchGroups)
	}
	out := []any{}
	total, skip, refused := 0, query.StartIndex-1, 0
	var firstErr error
	for i, fetch := range fetches {
		q := query
		q.StartIndex, q.Count = skip+1, query.Count-len(out)
		page, err := fetch(r.Context(), q, p)
		var se *scim.Error
		switch {
		case errors.As(err, &se) && se.Status == http.StatusBadRequest:
			refused++
			if firstErr == nil {
				firstErr = err
			}
			continue
		case err != nil:
			return err
		}
		total += page.Total
		skip = max(0, skip-page.Total) // the rows of the types before this one that the page started after
		for _, res := range page.Resources {
			s.decorate(r, types[i], res)
			out = append(out, types[i].Project(res, p.attrs, p.excluded))
		}
	}
	if refused == len(fetches) {
		return firstErr
	}
	s.writeJSON(w, http.StatusOK, listResponse(out, total, query.StartIndex))
	return nil
}
