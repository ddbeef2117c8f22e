package agent

import (
	"context"
	"net/http"

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
		prev, retried := s.createdBefore(r.Context(), in, err)
		if !retried {
			s.writeError(w, r, err)
			return
		}
		out = prev
	}
	w.Header().Set("Location", s.resourceLocation(r, s.cfg.UserType, out))
	s.writeResource(w, r, http.StatusCreated, s.cfg.UserType, out, proj)
}

// readResource decodes and checks a User body for POST and PUT.
func (s *Server) readResource(w http.ResponseWriter, r *http.Request) (scim.Resource, error) {
	raw, err := s.readObject(w, r, s.cfg.UserType)
	if err != nil {
		return nil, err
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
	s.writeResource(w, r, http.StatusOK, s.cfg.UserType, out, proj)
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
	s.writeResource(w, r, http.StatusOK, s.cfg.UserType, out, proj)
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) {
	proj, err := requestProjection(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := s.readPatch(w, r)
	if err != nil {
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
	s.writeResource(w, r, http.StatusOK, s.cfg.UserType, out, proj)
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

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	lq, err := urlListQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.list(w, r, lq, s.cfg.UserType, s.fetchUsers)
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	var lq listQuery
	if err := s.readJSON(w, r, &lq); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.list(w, r, lq, s.cfg.UserType, s.fetchUsers)
}

func (s *Server) fetchUsers(ctx context.Context, q scim.ListQuery, _ proj) (scim.Page, error) {
	return s.cfg.Users.ListUsers(ctx, q)
}
