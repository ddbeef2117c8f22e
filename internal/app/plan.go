package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/scim"
)

// A Plan is what go-live would do to the app's tables now. It is not predicted: PlanGoLive runs go-live
// whole, in one transaction, reads the audit rows its writes recorded (every column of each app row
// before and after, the managed roles before and after) and rolls everything back. The plan is therefore
// what those same writes do, conflicts included, as long as nothing changes in between.
type Plan struct {
	Status  string      `json:"status"` // the go-live state: "shadow", "applying"
	Summary PlanSummary `json:"summary"`
	Users   []PlanUser  `json:"users"`
	Groups  []PlanGroup `json:"groups"`
}

// PlanSummary counts a Plan's users by what happens to their app rows, and its role changes.
type PlanSummary struct {
	Adopt       int `json:"adopt"`      // an existing app row taken over
	Create      int `json:"create"`     // a new app row
	Update      int `json:"update"`     // managed columns change
	Deactivate  int `json:"deactivate"` // an active app row becomes inactive
	Reactivate  int `json:"reactivate"`
	Delete      int `json:"delete"` // deleted through SCIM in shadow mode
	Unchanged   int `json:"unchanged"`
	RoleGrants  int `json:"role_grants"`
	RoleRevokes int `json:"role_revokes"`
	Errors      int `json:"errors"` // users and groups go-live would stop at
	Groups      int `json:"groups"` // groups created or changed
	// The app's users rows go-live writes: the keys of the existing ones, and how many it inserts.
	TouchedRows []string `json:"touched_rows"`
	NewRows     int      `json:"new_rows"`
}

// PlanUser is one user's part of a Plan.
type PlanUser struct {
	ID       string                `json:"id"`
	UserName string                `json:"userName"`
	AppKey   *string               `json:"app_key,omitempty"` // the existing app row touched; nil for a new one
	Actions  []string              `json:"actions"`           // adopt, create, update, deactivate, reactivate, delete
	Columns  map[string]audit.Diff `json:"columns,omitempty"` // the app row's columns, before and after
	Grants   []string              `json:"grants,omitempty"`
	Revokes  []string              `json:"revokes,omitempty"`
	Error    string                `json:"error,omitempty"`
}

// PlanGroup is one group's part of a Plan.
type PlanGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Action      string `json:"action"` // create, update
	Members     int    `json:"members_added"`
	Error       string `json:"error,omitempty"`
}

// ErrNoShadow is PlanGoLive's answer when there is nothing to go live with.
var ErrNoShadow = errors.New("no shadow-mode state to go live with (serve with [server] mode = \"shadow\" first)")

// PlanGoLive computes the Plan of cfg's database (see Plan). It writes nothing: all of go-live runs in
// one transaction that is rolled back.
func PlanGoLive(ctx context.Context, db *sqlx.DB, cfg *config.Config, o Options) (*Plan, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prefix := cfg.Database.BookkeepingPrefix
	st, err := readState(ctx, db, prefix, false)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Status == stateLive {
		return nil, ErrNoShadow
	}
	g, err := newApplier(db, cfg, o, log)
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	t := bookkeeping.NewTables(prefix, bookkeeping.MySQL)
	from, err := audit.LastID(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	g.probe(ctx, tx)
	gctx := goliveContext(ctx)
	run := &goliveState{Phase: phaseUsers}
	var outcomes []Outcome
	for run.Phase != phaseDone {
		out, err := g.step(gctx, tx, run, DefaultGoLiveBatch, false)
		if err != nil {
			return nil, err
		}
		outcomes = append(outcomes, out...)
	}
	recs, err := audit.After(ctx, tx, t, from)
	if err != nil {
		return nil, err
	}
	return buildPlan(cfg, st.Status, outcomes, recs), nil
}

// buildPlan sorts go-live's outcomes and the audit rows its writes made into a Plan.
func buildPlan(cfg *config.Config, status string, outcomes []Outcome, recs []audit.Record) *Plan {
	p := &Plan{Status: status}
	m := cfg.UsersMapping()
	activeCol := ""
	if c := m.Column("active"); c != nil {
		activeCol = c.Name
	}
	users := map[string]*PlanUser{}
	active := map[string]bool{}
	groups := map[string]*PlanGroup{}
	for _, oc := range outcomes {
		if oc.Kind == "Group" {
			pg := &PlanGroup{ID: oc.ID, DisplayName: oc.Name, Action: oc.Action}
			if oc.Err != nil {
				pg.Error = errorText(oc.Err)
			}
			groups[oc.ID] = pg
			p.Groups = append(p.Groups, *pg)
			continue
		}
		pu := &PlanUser{ID: oc.ID, UserName: oc.Name}
		active[oc.ID] = oc.Active
		if oc.Err != nil {
			pu.Error = errorText(oc.Err)
		}
		users[oc.ID] = pu
	}
	roleBefore := map[string][]string{}
	roleAfter := map[string][]string{}
	for _, r := range recs {
		if r.ResourceType == "Group" {
			if pg := groups[r.SCIMID]; pg != nil && r.Operation == "group.members_added" {
				pg.Members++
			}
			continue
		}
		pu := users[r.SCIMID]
		if pu == nil {
			continue
		}
		newRow := false
		if r.Operation == "user.created" {
			_, newRow = r.Changes.Columns[m.Key]
		}
		if r.AppKey != nil && !newRow && !slices.Contains(pu.Actions, "create") {
			// A new row's key is the database's next one, which the rolled-back plan used up: go-live's differs.
			pu.AppKey = r.AppKey
		}
		addAction := func(a string) {
			if !slices.Contains(pu.Actions, a) {
				pu.Actions = append(pu.Actions, a)
			}
		}
		switch r.Operation {
		case "user.created":
			if newRow {
				addAction("create")
			} else {
				addAction("adopt")
				// The adopted row takes the IdP's state: an active row of a user the IdP has inactive is
				// deactivated, and the other way round.
				if _, ok := r.Changes.Columns[activeCol]; ok && activeCol != "" {
					if active[r.SCIMID] {
						addAction("reactivate")
					} else {
						addAction("deactivate")
					}
				}
			}
		case "user.updated":
			if len(r.Changes.Columns) > 0 {
				addAction("update")
			}
		case "user.deactivated":
			addAction("deactivate")
		case "user.reactivated":
			addAction("reactivate")
		case "user.deleted":
			addAction("delete")
		case "user.roles_changed":
			if r.Changes.Roles != nil {
				if _, seen := roleBefore[r.SCIMID]; !seen {
					roleBefore[r.SCIMID] = roleList(r.Changes.Roles.Before)
				}
				roleAfter[r.SCIMID] = roleList(r.Changes.Roles.After)
			}
			continue
		}
		for col, d := range r.Changes.Columns {
			if newRow && col == m.Key {
				continue // not the key go-live's insert gets (above)
			}
			if pu.Columns == nil {
				pu.Columns = map[string]audit.Diff{}
			}
			if prev, ok := pu.Columns[col]; ok {
				d.Before = prev.Before
			}
			pu.Columns[col] = d
		}
	}
	for _, oc := range outcomes {
		if oc.Kind != "User" {
			continue
		}
		pu := users[oc.ID]
		before, after := roleBefore[oc.ID], roleAfter[oc.ID]
		for _, r := range after {
			if !slices.Contains(before, r) {
				pu.Grants = append(pu.Grants, r)
			}
		}
		for _, r := range before {
			if !slices.Contains(after, r) {
				pu.Revokes = append(pu.Revokes, r)
			}
		}
		p.count(pu)
		p.Users = append(p.Users, *pu)
	}
	// Keys in order, numbers as numbers (shorter first), whatever order the users went in.
	slices.SortFunc(p.Summary.TouchedRows, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	for i := range p.Groups {
		p.Groups[i] = *groups[p.Groups[i].ID]
		if p.Groups[i].Error != "" {
			p.Summary.Errors++
		} else {
			p.Summary.Groups++
		}
	}
	return p
}

func (p *Plan) count(pu *PlanUser) {
	s := &p.Summary
	s.RoleGrants += len(pu.Grants)
	s.RoleRevokes += len(pu.Revokes)
	if pu.Error != "" {
		s.Errors++
		return
	}
	if len(pu.Actions) == 0 {
		s.Unchanged++
	}
	switch {
	case slices.Contains(pu.Actions, "create"):
		s.NewRows++
	case pu.AppKey != nil && (len(pu.Columns) > 0 || len(pu.Grants)+len(pu.Revokes) > 0):
		s.TouchedRows = append(s.TouchedRows, *pu.AppKey)
	}
	for _, a := range pu.Actions {
		switch a {
		case "adopt":
			s.Adopt++
		case "create":
			s.Create++
		case "update":
			s.Update++
		case "deactivate":
			s.Deactivate++
		case "reactivate":
			s.Reactivate++
		case "delete":
			s.Delete++
		}
	}
}

// errorText is what an admin reads of a failed write: the SCIM error's status, type and detail.
func errorText(err error) string {
	var se *scim.Error
	if errors.As(err, &se) {
		text := fmt.Sprintf("%d", se.Status)
		if se.ScimType != "" {
			text += " " + se.ScimType
		}
		text += ": " + se.Detail
		if se.Status >= 500 && se.Err != nil {
			text += " (" + se.Err.Error() + ")" // for the admin running plan, not an IdP
		}
		return text
	}
	return err.Error()
}

// roleList reads a roles list decoded from JSON.
func roleList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
