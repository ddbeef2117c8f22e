package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

const maxFilterLength = 4096

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	// Every check of the request comes before the write: a request that is refused changes nothing.
	proj, err := requestProjection(r)
	if err != nil {
		return err
	}
	in, err := s.readResource(w, r)
	if err != nil {
		return err
	}
	out, err := s.cfg.Users.CreateUser(r.Context(), in)
	if err != nil {
		s.noteUnanswered(in, err)
		prev, retried := s.createdBefore(r.Context(), in, err)
		if !retried {
			return err
		}
		out = prev
	}
	w.Header().Set("Location", s.resourceLocation(r, s.cfg.UserType, out))
	s.writeResource(w, r, http.StatusCreated, s.cfg.UserType, out, proj)
	return nil
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

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	out, err := s.cfg.Users.GetUser(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, version(out)) {
		w.Header().Set("ETag", version(out))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	proj, err := requestProjection(r)
	if err != nil {
		return err
	}
	s.writeResource(w, r, http.StatusOK, s.cfg.UserType, out, proj)
	return nil
}

func (s *Server) replaceUser(w http.ResponseWriter, r *http.Request) error {
	proj, err := requestProjection(r)
	if err != nil {
		return err
	}
	in, err := s.readResource(w, r)
	if err != nil {
		return err
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
		return err
	}
	s.writeResource(w, r, http.StatusOK, s.cfg.UserType, out, proj)
	return nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	proj, err := requestProjection(r)
	if err != nil {
		return err
	}
	var req scim.PatchRequest
	if err = s.readPatch(w, r, &req); err != nil {
		return err
	}
	if len(s.cfg.Roles) > 0 {
		scim.UnwrapRoleOps(req.Operations) // Entra's app roles: see scim.DirectRoles
	}
	out, err := s.cfg.Users.UpdateUser(r.Context(), mux.Vars(r)["id"], patcher(s.cfg.UserType, r.Header.Get("If-Match"), req.Operations))
	if err != nil {
		return err
	}
	s.writePatched(w, r, s.cfg.UserType, out, proj)
	return nil
}

// patcher returns the update function of a PATCH: the If-Match check, the operations, then the whole
// result normalised again (patched values were checked one by one; this also drops what PATCH may not
// set, readOnly, and re-checks required attributes). No operations leave the resource as it is.
func patcher(rt *scim.ResourceType, ifMatch string, ops []scim.PatchOperation) func(cur scim.Resource) (scim.Resource, error) {
	return func(cur scim.Resource) (scim.Resource, error) {
		if err := checkIfMatch(ifMatch, cur); err != nil || len(ops) == 0 {
			return cur, err
		}
		next, err := rt.ApplyPatch(cur, ops)
		if err != nil {
			return nil, err
		}
		if next, err = rt.Renormalize(next); err != nil {
			return nil, err
		}
		return next, rt.Validate(next)
	}
}

// readPatch decodes a PatchOp body; one without the PatchOp schema or without operations is refused
// before any transaction.
func (s *Server) readPatch(w http.ResponseWriter, r *http.Request, req *scim.PatchRequest) error {
	if err := s.readJSON(w, r, req); err != nil {
		return err
	}
	if err := scim.CheckPatchSchemas(req.Schemas, s.cfg.ExtraSchemas); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return scim.BadRequest(scim.TypeInvalidValue, "the PATCH request has no Operations")
	}
	return nil
}

// writePatched answers a successful PATCH: 204 with the new ETag, or 200 with the resource, as
// Config.PatchResponse says.
func (s *Server) writePatched(w http.ResponseWriter, r *http.Request, rt *scim.ResourceType, out scim.Resource, p proj) {
	if s.cfg.PatchResponse == "no_content" {
		w.Header().Set("ETag", version(out))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeResource(w, r, http.StatusOK, rt, out, p)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	ifMatch := r.Header.Get("If-Match")
	check := func(cur scim.Resource) error { return checkIfMatch(ifMatch, cur) }
	if err := s.cfg.Users.DeleteUser(r.Context(), mux.Vars(r)["id"], check); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return s.listFromURL(w, r, s.cfg.UserType, s.fetchUsers)
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) error {
	return s.listFromBody(w, r, s.cfg.UserType, s.fetchUsers)
}

func (s *Server) fetchUsers(ctx context.Context, q scim.ListQuery, _ proj) (scim.Page, error) {
	return s.cfg.Users.ListUsers(ctx, q)
}
