package agent

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimbridge/scimbridge/scim"
)

// GroupStore keeps SCIM groups. Members travel apart from the other attributes (scim.MemberChange), and
// withMembers false lets the store skip reading a member list nobody asked for.
type GroupStore interface {
	CreateGroup(ctx context.Context, r scim.Resource, members []scim.Member) (scim.Resource, error)
	GetGroup(ctx context.Context, id string, withMembers bool) (scim.Resource, error)
	ListGroups(ctx context.Context, q scim.ListQuery, withMembers bool) (scim.Page, error)
	// UpdateGroup runs fn on the group's attributes and applies change to its members in one
	// transaction; fn may be called more than once (a retried transaction), as UserStore.UpdateUser's.
	UpdateGroup(ctx context.Context, id string, fn func(cur scim.Resource) (scim.Resource, error),
		change scim.MemberChange, withMembers bool) (scim.Resource, error)
	// DeleteGroup runs check (may be nil, may be called more than once) on the group first.
	DeleteGroup(ctx context.Context, id string, check func(cur scim.Resource) error) error
}

// readGroup decodes a Group body for POST and PUT into its attributes and its members.
func (s *Server) readGroup(w http.ResponseWriter, r *http.Request) (scim.Resource, []scim.Member, error) {
	var raw map[string]any
	if err := s.readJSON(w, r, &raw); err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return nil, nil, scim.BadRequest(scim.TypeInvalidSyntax, "the body must be a JSON object")
	}
	var members []scim.Member
	for k, v := range raw {
		if strings.EqualFold(k, "members") {
			m, err := scim.ParseMembers(v)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, m...)
			delete(raw, k)
		}
	}
	res, err := s.groupType.Normalize(raw)
	if err != nil {
		return nil, nil, err
	}
	return res, members, s.groupType.Validate(res)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := requestProjection(r)
	if err != nil {
		return err
	}
	in, members, err := s.readGroup(w, r)
	if err != nil {
		return err
	}
	out, err := s.cfg.Groups.CreateGroup(r.Context(), in, members)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.resourceLocation(r, s.groupType, out))
	s.writeResource(w, r, http.StatusCreated, s.groupType, out, p)
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := requestProjection(r)
	if err != nil {
		return err
	}
	out, err := s.cfg.Groups.GetGroup(r.Context(), mux.Vars(r)["id"], p.wants("members"))
	if err != nil {
		return err
	}
	s.writeResource(w, r, http.StatusOK, s.groupType, out, p)
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	return s.listFromURL(w, r, s.groupType, s.fetchGroups)
}

func (s *Server) searchGroups(w http.ResponseWriter, r *http.Request) error {
	return s.listFromBody(w, r, s.groupType, s.fetchGroups)
}

func (s *Server) fetchGroups(ctx context.Context, q scim.ListQuery, p proj) (scim.Page, error) {
	return s.cfg.Groups.ListGroups(ctx, q, p.wants("members"))
}

// replaceGroup is PUT: the attributes and the member list are replaced (no members given: none).
func (s *Server) replaceGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := requestProjection(r)
	if err != nil {
		return err
	}
	in, members, err := s.readGroup(w, r)
	if err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	out, err := s.cfg.Groups.UpdateGroup(r.Context(), mux.Vars(r)["id"], func(cur scim.Resource) (scim.Resource, error) {
		return in, checkIfMatch(ifMatch, cur)
	}, scim.MemberChange{Replace: true, Add: members}, p.wants("members"))
	if err != nil {
		return err
	}
	s.writeResource(w, r, http.StatusOK, s.groupType, out, p)
	return nil
}

func (s *Server) patchGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := requestProjection(r)
	if err != nil {
		return err
	}
	var req scim.PatchRequest
	if err = s.readPatch(w, r, &req); err != nil {
		return err
	}
	rest, change, err := scim.SplitMemberOps(req.Operations)
	if err != nil {
		return err
	}
	withMembers := s.cfg.PatchResponse != "no_content" && p.wants("members")
	out, err := s.cfg.Groups.UpdateGroup(r.Context(), mux.Vars(r)["id"],
		patcher(s.groupType, r.Header.Get("If-Match"), rest), change, withMembers)
	if err != nil {
		return err
	}
	s.writePatched(w, r, s.groupType, out, p)
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	ifMatch := r.Header.Get("If-Match")
	check := func(cur scim.Resource) error { return checkIfMatch(ifMatch, cur) }
	if err := s.cfg.Groups.DeleteGroup(r.Context(), mux.Vars(r)["id"], check); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
