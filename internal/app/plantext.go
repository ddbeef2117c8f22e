package app

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteText writes the plan for an admin to read: with summary, the counts first; then a line per user
// and group go-live changes, with the app columns before and after and the roles granted and revoked.
func (p *Plan) WriteText(w io.Writer, summary bool) {
	s := p.Summary
	if summary {
		fmt.Fprintf(w, "go-live plan (state: %s)\n", p.Status)
		fmt.Fprintf(w, "  users: %d to adopt, %d to create, %d to update, %d to deactivate, %d to reactivate, %d to delete, %d unchanged\n",
			s.Adopt, s.Create, s.Update, s.Deactivate, s.Reactivate, s.Delete, s.Unchanged)
		fmt.Fprintf(w, "  roles: %d grants, %d revokes\n", s.RoleGrants, s.RoleRevokes)
		fmt.Fprintf(w, "  groups: %d to create or update\n", s.Groups)
		fmt.Fprintf(w, "  app rows: %d existing to change", len(s.TouchedRows))
		if len(s.TouchedRows) > 0 {
			fmt.Fprintf(w, " (keys %s)", strings.Join(s.TouchedRows, ", "))
		}
		fmt.Fprintf(w, ", %d to insert\n", s.NewRows)
		fmt.Fprintf(w, "  conflicts and errors: %d\n", s.Errors)
	}
	for _, u := range p.Users {
		if len(u.Actions) == 0 && u.Error == "" && len(u.Grants)+len(u.Revokes) == 0 {
			continue
		}
		row := "new row"
		if u.AppKey != nil {
			row = "app key " + *u.AppKey
		}
		actions := strings.Join(u.Actions, ", ")
		if u.Error != "" {
			actions = "ERROR"
		}
		fmt.Fprintf(w, "%-22s User %q %s  %s\n", actions, u.UserName, u.ID, row)
		if u.Error != "" {
			fmt.Fprintf(w, "    %s\n", u.Error)
		}
		for _, col := range slices.Sorted(maps.Keys(u.Columns)) {
			d := u.Columns[col]
			fmt.Fprintf(w, "    column %s: %s -> %s\n", col, planValue(d.Before), planValue(d.After))
		}
		if len(u.Grants) > 0 {
			fmt.Fprintf(w, "    roles granted: %s\n", strings.Join(u.Grants, ", "))
		}
		if len(u.Revokes) > 0 {
			fmt.Fprintf(w, "    roles revoked: %s\n", strings.Join(u.Revokes, ", "))
		}
	}
	for _, g := range p.Groups {
		if g.Error != "" {
			fmt.Fprintf(w, "%-22s Group %q %s\n    %s\n", "ERROR", g.DisplayName, g.ID, g.Error)
			continue
		}
		fmt.Fprintf(w, "%-22s Group %q %s  %d members\n", g.Action, g.DisplayName, g.ID, g.Members)
	}
}

func planValue(v any) string {
	if v == nil {
		return "NULL"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
