package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/mapping"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/webhook"
)

// pageSize is how many users or groups a list shows.
const pageSize = 50

// userRow is a user as the lists show it.
type userRow struct {
	ID, UserName, DisplayName, Email string
	Active                           bool
}

func rowOf(r scim.Resource) userRow {
	u := userRow{Active: true}
	u.ID, _ = r["id"].(string)
	u.UserName, _ = r["userName"].(string)
	u.DisplayName, _ = r["displayName"].(string)
	if a, ok := r["active"].(bool); ok {
		u.Active = a
	}
	if emails, ok := r["emails"].([]any); ok && len(emails) > 0 {
		m, _ := emails[0].(map[string]any)
		u.Email, _ = m["value"].(string)
	}
	return u
}

// users searches by the app's key and by email (exact), and by userName (prefix): three lookups the
// store's indexes serve, rather than one OR that would scan every user. The search text is a value in
// a SCIM filter tree, never filter text: it cannot change the query.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var rows []userRow
	seen := map[string]bool{}
	add := func(res []scim.Resource) {
		for _, r := range res {
			if u := rowOf(r); !seen[u.ID] {
				seen[u.ID] = true
				rows = append(rows, u)
			}
		}
	}
	var filter scim.Expr
	if q != "" {
		id, err := c.o.Users.UserIDByAppKey(ctx, q)
		if err != nil {
			return err
		}
		if id != "" {
			u, err := c.o.Users.GetUser(ctx, id)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err == nil {
				add([]scim.Resource{u})
			}
		}
		byEmail, err := c.o.Users.BrowseUsers(ctx, &scim.CompareExpr{Attr: scim.AttrPath{Name: "emails", Sub: "value"}, Op: scim.OpEq, Value: q}, pageSize)
		if err != nil {
			return err
		}
		add(byEmail)
		filter = &scim.CompareExpr{Attr: scim.AttrPath{Name: "userName"}, Op: scim.OpSw, Value: q}
	}
	page, err := c.o.Users.BrowseUsers(ctx, filter, pageSize)
	if err != nil {
		return err
	}
	add(page)
	total := -1
	if q == "" {
		if total, err = c.o.Users.CountUsers(ctx); err != nil {
			return err
		}
	}
	c.render(w, http.StatusOK, "users", s, "Users", map[string]any{"Q": q, "Users": rows, "Total": total})
	return nil
}

func isNotFound(err error) bool {
	var se *scim.Error
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// userGroup is one of a user's groups.
type userGroup struct{ ID, Name string }

func (c *Console) user(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id := r.PathValue("id")
	res, err := c.o.Users.GetUser(ctx, id)
	if err != nil {
		return err
	}
	detail, err := c.o.Users.ConsoleUser(ctx, id)
	if err != nil {
		return err
	}
	var groups []userGroup
	if gs, ok := res["groups"].([]any); ok {
		for _, g := range gs {
			m, _ := g.(map[string]any)
			gid, _ := m["value"].(string)
			name, _ := m["display"].(string)
			groups = append(groups, userGroup{ID: gid, Name: name})
		}
	}
	trail, err := c.o.Audit(ctx, audit.Filter{ID: id, Limit: 100})
	if err != nil {
		return err
	}
	deliveries, err := c.o.Webhooks.List(ctx, webhook.ListOptions{Subject: "user:" + id, Statuses: deliveryStatuses, Limit: 100})
	if err != nil {
		return err
	}
	u := rowOf(res)
	c.render(w, http.StatusOK, "user", s, "User "+u.UserName, map[string]any{
		"User": u, "Resource": res, "Detail": detail, "Groups": groups, "Audit": trail, "Deliveries": deliveries.Deliveries,
		"RoleMapping": len(c.o.Roles) > 0,
	})
	return nil
}

// groups lists the groups, by displayName prefix when searched.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, s *session) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	query := scim.ListQuery{StartIndex: 1, Count: pageSize}
	if q != "" {
		query.Filter = &scim.CompareExpr{Attr: scim.AttrPath{Name: "displayName"}, Op: scim.OpSw, Value: q}
	}
	page, err := c.o.Groups.ListGroups(r.Context(), query, false)
	if err != nil {
		return err
	}
	var rows []groupRow
	for _, g := range page.Resources {
		rows = append(rows, c.groupRowOf(g))
	}
	c.render(w, http.StatusOK, "groups", s, "Groups", map[string]any{"Q": q, "Groups": rows, "Total": page.Total})
	return nil
}

// groupRow is a group with the app roles its members get from it.
type groupRow struct {
	ID, Name, ExternalID string
	Roles                []string
}

func (c *Console) groupRowOf(g scim.Resource) groupRow {
	row := groupRow{}
	row.ID, _ = g["id"].(string)
	row.Name, _ = g["displayName"].(string)
	row.ExternalID, _ = g["externalId"].(string)
	mg := mapping.Group{DisplayName: row.Name, ExternalID: row.ExternalID}
	for _, store := range c.o.Roles {
		for _, rule := range store.Rules {
			if rule.Matches(mg) {
				row.Roles = append(row.Roles, rule.Role+" ("+store.Name()+")")
			}
		}
	}
	return row
}

func (c *Console) group(w http.ResponseWriter, r *http.Request, s *session) error {
	g, err := c.o.Groups.GetGroup(r.Context(), r.PathValue("id"), true)
	if err != nil {
		return err
	}
	var members []userGroup
	if ms, ok := g["members"].([]any); ok {
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			id, _ := mm["value"].(string)
			name, _ := mm["display"].(string)
			members = append(members, userGroup{ID: id, Name: name})
		}
	}
	row := c.groupRowOf(g)
	c.render(w, http.StatusOK, "group", s, "Group "+row.Name, map[string]any{"Group": row, "Members": members, "Resource": g})
	return nil
}
