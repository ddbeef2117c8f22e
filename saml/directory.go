package saml

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// User is what the gate knows of a SCIM-managed user: enough to decide and to tell the application.
type User struct {
	ID          string // the SCIM id
	UserName    string
	Email       string // the primary email, else the first
	DisplayName string
	Active      bool
	AppKey      string // the app's own key of the user's row
	// Roles are the app roles the user gets under the role mapping (from its groups and from roles
	// assigned to it through SCIM, validated against the rules), and Groups its groups' displayNames:
	// SCIM-derived, never taken from the assertion.
	Roles  []string
	Groups []string
}

// Directory finds the SCIM-provisioned user an authenticated identity belongs to. It returns ErrNotFound
// when there is none; any other error means the directory could not answer (the gate then refuses with 503).
type Directory interface {
	FindUser(ctx context.Context, identity string) (User, error)
}

// ErrNotFound is returned by a Directory when no provisioned user matches the identity.
var ErrNotFound = errors.New("saml: no provisioned user matches the identity")

// ErrAmbiguous is returned when several provisioned users match the identity; the gate lets none of them in.
var ErrAmbiguous = fmt.Errorf("%w: several users match", ErrNotFound)

// UserLister is the part of a SCIM user store the gate needs; *mysql.Store has it.
type UserLister interface {
	ListUsers(ctx context.Context, q scim.ListQuery) (scim.Page, error)
}

// AccessReader gives what the gate forwards beyond the User resource; *mysql.Store has it.
type AccessReader interface {
	UserAccess(ctx context.Context, id string) (appKey string, groups, roles []string, err error)
}

// StoreDirectory is a Directory over a SCIM user store. It only reads: no row is ever created at login.
type StoreDirectory struct {
	Users  UserLister
	Access AccessReader // nil: no app key, groups or roles are forwarded
	// Match is "userName" (the default): the identity is compared with userName (the store compares it
	// case-insensitively); or "email": with any emails.value, or with userName.
	Match string
}

// FindUser looks the identity up with a filter built as a SCIM syntax tree: the identity is a value in
// it, never filter text, so no identity can change the query.
func (d StoreDirectory) FindUser(ctx context.Context, identity string) (User, error) {
	if strings.TrimSpace(identity) == "" {
		return User{}, ErrNotFound
	}
	byUserName := &scim.CompareExpr{Attr: scim.AttrPath{Name: "userName"}, Op: scim.OpEq, Value: identity}
	var filter scim.Expr = byUserName
	email := strings.EqualFold(d.Match, "email")
	if email {
		byEmail := &scim.CompareExpr{Attr: scim.AttrPath{Name: "emails", Sub: "value"}, Op: scim.OpEq, Value: identity}
		filter = &scim.LogicalExpr{And: false, Left: byEmail, Right: byUserName}
	}
	page, err := d.Users.ListUsers(ctx, scim.ListQuery{Filter: filter, StartIndex: 1, Count: 10})
	if err != nil {
		return User{}, fmt.Errorf("looking up the user: %w", err)
	}
	// The store compares exactly already (scim.SameIdentity); the gate checks again on what it got, since
	// letting in a look-alike of the identity the IdP proved would let in somebody else.
	var byName, byMail []User
	for _, r := range page.Resources {
		u := userFromResource(r)
		switch {
		case scim.SameIdentity(u.UserName, identity):
			byName = append(byName, u)
		case email && hasEmail(r, identity):
			byMail = append(byMail, u)
		}
	}
	// Several matches (one user's email is another's userName): the userName wins, else nobody.
	found := byName
	if len(found) == 0 {
		found = byMail
	}
	switch len(found) {
	case 0:
		return User{}, ErrNotFound
	case 1:
	default:
		return User{}, ErrAmbiguous
	}
	u := found[0]
	if d.Access != nil {
		if u.AppKey, u.Groups, u.Roles, err = d.Access.UserAccess(ctx, u.ID); err != nil {
			return User{}, fmt.Errorf("reading the user's groups and roles: %w", err)
		}
	}
	return u, nil
}

// userFromResource reads a SCIM User resource. An absent "active" means active, as in the store.
func userFromResource(r scim.Resource) User {
	u := User{Active: true}
	u.ID, _ = r["id"].(string)
	u.UserName, _ = r["userName"].(string)
	u.DisplayName, _ = r["displayName"].(string)
	if a, ok := r["active"].(bool); ok {
		u.Active = a
	}
	if emails, ok := r["emails"].([]any); ok {
		for _, e := range emails {
			m, _ := e.(map[string]any)
			v, _ := m["value"].(string)
			if v == "" {
				continue
			}
			if p, _ := m["primary"].(bool); p {
				u.Email = v
				break
			}
			if u.Email == "" {
				u.Email = v
			}
		}
	}
	return u
}

// hasEmail reports whether one of the resource's emails is the identity.
func hasEmail(r scim.Resource, identity string) bool {
	emails, _ := r["emails"].([]any)
	for _, e := range emails {
		m, _ := e.(map[string]any)
		if v, _ := m["value"].(string); scim.SameIdentity(v, identity) {
			return true
		}
	}
	return false
}
