package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// Drift kinds, the keys of DriftReport.Counts (and of the scimbridge_drift_users metric).
const (
	DriftColumn      = "column"           // a managed column differs from what scimbridge last wrote
	DriftRowGone     = "row_gone"         // the app deleted a managed user's row
	DriftRoleRemoved = "role_removed"     // a role the user's groups grant is missing from the app
	DriftRoleAdded   = "role_added"       // a managed role the app holds that scimbridge did not grant
	DriftUnmanaged   = "unmanaged_active" // an active app account SCIM does not manage
	DriftNoBaseline  = "no_baseline"      // neither a record of scimbridge's last write nor an audit row: columns unchecked
)

// DriftKinds lists every kind, in the order reports show them.
var DriftKinds = []string{DriftColumn, DriftRowGone, DriftRoleRemoved, DriftRoleAdded, DriftUnmanaged, DriftNoBaseline}

// DriftReport is what `scimbridge drift` finds: the app's own tables against what scimbridge last wrote
// and what the role rules grant.
type DriftReport struct {
	At        time.Time      `json:"at"`
	Checked   int            `json:"checked_users"` // SCIM users (and deleted users whose app row stays) checked
	Users     []UserDrift    `json:"users"`         // those with drift
	Unmanaged []Account      `json:"unmanaged_active"`
	Counts    map[string]int `json:"counts"` // users by kind
}

// UserDrift is one managed user's drift.
type UserDrift struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	AppKey     any    `json:"app_key"`
	Deleted    bool   `json:"deleted,omitempty"` // deleted through SCIM; its deactivated row stays
	RowGone    bool   `json:"row_gone,omitempty"`
	NoBaseline bool   `json:"no_baseline,omitempty"`
	// FromAudit: written before scimbridge recorded its writes; its columns are compared with the audit
	// trail's latest value of each (those no retained row changed are not checked).
	FromAudit bool          `json:"baseline_from_audit,omitempty"`
	Columns   []ColumnDrift `json:"columns,omitempty"`
	Roles     []RoleDrift   `json:"roles,omitempty"`
}

// Repairable reports whether --repair would change anything for the user.
func (u UserDrift) Repairable() bool {
	if u.RowGone {
		return false
	}
	return len(u.Columns) > 0 || slices.ContainsFunc(u.Roles, func(r RoleDrift) bool { return len(r.Removed) > 0 || len(r.Extra) > 0 })
}

// ColumnDrift is a managed column whose value is not what scimbridge wrote.
type ColumnDrift struct {
	Column    string `json:"column"`
	Attribute string `json:"attribute"`
	Wrote     any    `json:"wrote"` // what scimbridge's last write left
	Now       any    `json:"now"`   // what the app's row holds
}

// RoleDrift is one role store's difference for a user.
type RoleDrift struct {
	Store   string   `json:"store"`
	Removed []string `json:"removed,omitempty"` // granted by the user's groups, missing: --repair grants them again
	Added   []string `json:"added,omitempty"`   // held but not granted by scimbridge: given by hand, kept
	Extra   []string `json:"extra,omitempty"`   // with authoritative = true: given by hand, --repair removes them
}

// Account is an app account SCIM does not manage.
type Account struct {
	AppKey   any        `json:"app_key"`
	UserName string     `json:"userName"`
	Active   bool       `json:"active"`
	Roles    []HeldRole `json:"roles,omitempty"`
}

// driftBatch is how many users one read of the report covers.
const driftBatch = 1000

// Drift compares every managed user's app row and roles with what scimbridge last wrote and what the
// role rules grant, and lists the active app accounts SCIM does not manage. It writes nothing.
func (s *Store) Drift(ctx context.Context) (*DriftReport, error) {
	rep := &DriftReport{At: s.now().UTC(), Users: []UserDrift{}, Counts: map[string]int{}}
	for _, k := range DriftKinds {
		rep.Counts[k] = 0
	}
	after := ""
	for {
		var batch []UserDrift
		var last string
		n := 0
		err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
			var err error
			batch, last, n, err = s.driftBatch(ctx, tx, after)
			return err
		})
		if err != nil {
			return nil, err
		}
		rep.Checked += n
		for _, u := range batch {
			rep.count(u)
		}
		rep.Users = append(rep.Users, batch...)
		if n < driftBatch {
			break
		}
		after = last
	}
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		accounts, err := s.unmanaged(ctx, tx)
		rep.Unmanaged = []Account{}
		for _, a := range accounts {
			if a.Active {
				rep.Unmanaged = append(rep.Unmanaged, a)
			}
		}
		return err
	})
	rep.Counts[DriftUnmanaged] = len(rep.Unmanaged)
	return rep, err
}

func (r *DriftReport) count(u UserDrift) {
	if len(u.Columns) > 0 {
		r.Counts[DriftColumn]++
	}
	if u.RowGone {
		r.Counts[DriftRowGone]++
	}
	if u.NoBaseline {
		r.Counts[DriftNoBaseline]++
	}
	if slices.ContainsFunc(u.Roles, func(d RoleDrift) bool { return len(d.Removed) > 0 }) {
		r.Counts[DriftRoleRemoved]++
	}
	if slices.ContainsFunc(u.Roles, func(d RoleDrift) bool { return len(d.Added)+len(d.Extra) > 0 }) {
		r.Counts[DriftRoleAdded]++
	}
}

// driftRow is one user's bookkeeping row, its record of what scimbridge wrote, and its app row's
// managed columns.
type driftRow struct {
	id, userName string
	key          any
	deleted      bool
	written      []byte // nil: no record
	present      bool
	cols         map[string]any
}

// driftBatch checks the users after id `after` (at most driftBatch), in tx. It returns those with drift,
// the last id read and how many were read.
func (s *Store) driftBatch(ctx context.Context, tx *bookkeeping.Tx, after string) ([]UserDrift, string, int, error) {
	managed := s.managedColumns()
	sel := []string{"b.id", "b.user_name", "b.app_id", "b.app_key", "b.deleted_at IS NOT NULL", "w.cols", "u." + quoteIdent(s.m.Key) + " IS NOT NULL"}
	for _, c := range managed {
		sel = append(sel, "u."+quoteIdent(c))
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+s.bookTable()+" b LEFT JOIN "+quoteIdent(s.m.Table)+
		" u ON u."+quoteIdent(s.m.Key)+" = b."+s.joinKey+" LEFT JOIN "+tx.Tables.Named("user_written")+" w ON w.user_id = b.id"+
		" WHERE b.id > ? ORDER BY b.id LIMIT ?", after, driftBatch)
	if err != nil {
		return nil, "", 0, err
	}
	var all []*driftRow
	for rows.Next() {
		r := &driftRow{cols: map[string]any{}}
		var appID sql.NullInt64
		var appKey sql.NullString
		vals := make([]any, len(managed))
		dest := []any{&r.id, &r.userName, &appID, &appKey, &r.deleted, &r.written, &r.present}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, "", 0, err
		}
		r.key = appKey.String
		if appID.Valid {
			r.key = appID.Int64
		}
		for i, c := range managed {
			r.cols[c] = vals[i]
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(all) == 0 {
		return nil, after, 0, err
	}
	var live, unrecorded []string
	for _, r := range all {
		if r.present && !r.deleted {
			live = append(live, r.id)
		}
		if r.present && r.written == nil {
			unrecorded = append(unrecorded, r.id)
		}
	}
	fromAudit, err := s.auditWritten(ctx, tx, unrecorded)
	if err != nil {
		return nil, "", 0, err
	}
	held, err := s.roles.Inspect(ctx, tx, live)
	if err != nil {
		return nil, "", 0, err
	}
	var out []UserDrift
	for _, r := range all {
		if r.deleted && !r.present {
			continue // deleted through SCIM, and the row too: nothing left to drift
		}
		u := UserDrift{ID: r.id, UserName: r.userName, AppKey: r.key, Deleted: r.deleted, RowGone: !r.present}
		if r.present {
			wrote, ok := map[string]json.RawMessage(nil), r.written != nil
			if ok {
				ok = json.Unmarshal(r.written, &wrote) == nil
			} else if wrote, ok = fromAudit[r.id]; ok {
				u.FromAudit = true
			}
			u.NoBaseline = !ok
			u.Columns = s.columnDrift(r.cols, wrote)
		}
		for _, h := range held[r.id] {
			d := RoleDrift{Store: h.Store, Removed: h.Missing(), Added: h.Hand, Extra: h.Extra()}
			if len(d.Removed)+len(d.Added)+len(d.Extra) > 0 {
				u.Roles = append(u.Roles, d)
			}
		}
		if u.RowGone || u.NoBaseline || len(u.Columns) > 0 || len(u.Roles) > 0 {
			out = append(out, u)
		}
	}
	return out, all[len(all)-1].id, len(all), nil
}

// columnDrift compares a row's managed columns with what scimbridge last wrote in them.
func (s *Store) columnDrift(cols map[string]any, wrote map[string]json.RawMessage) []ColumnDrift {
	var out []ColumnDrift
	for _, c := range s.m.Columns {
		w, ok := wrote[c.Name]
		if !ok || c.Source() == "" {
			continue // mapped since, or unknown (not in the audit trail): nothing to compare with
		}
		now := bookkeeping.NormalizeKey(cols[c.Name])
		if writtenMatch(now, w) {
			continue
		}
		d := ColumnDrift{Column: c.Name, Attribute: c.Source(), Wrote: sqlValue(w), Now: sqlValue(canonical(now))}
		if audit.IsSecret(c.Name) || slices.ContainsFunc(s.redact, func(x string) bool { return strings.EqualFold(x, c.Name) }) {
			d.Wrote, d.Now = audit.Redacted, audit.Redacted
		}
		out = append(out, d)
	}
	return out
}

// unmanaged reads the app's accounts (within [users] scope) that no SCIM user, live or deleted, is
// linked to, with whether the mapping reads them as active and the managed roles they hold.
func (s *Store) unmanaged(ctx context.Context, tx *bookkeeping.Tx) ([]Account, error) {
	cols := s.m.ScimColumns()
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "u." + quoteIdent(c)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quoteIdent(s.m.Table)+" u WHERE NOT EXISTS (SELECT 1 FROM "+
		s.bookTable()+" b WHERE b."+s.joinKey+" = u."+quoteIdent(s.m.Key)+")"+s.scopeSQL()+" ORDER BY u."+quoteIdent(s.m.Key), s.scopeArgs()...)
	if err != nil {
		return nil, err
	}
	var out []Account
	var keys []any
	for rows.Next() {
		vals := make([]any, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, err
		}
		row := map[string]any{}
		for i, c := range cols {
			row[c] = bookkeeping.NormalizeKey(vals[i])
		}
		r := s.m.Overlay(scim.Resource{}, row, nil)
		out = append(out, Account{AppKey: row[s.m.Key], UserName: userName(r), Active: isActive(r)})
		keys = append(keys, row[s.m.Key])
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	held, err := s.roles.HeldBy(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	for i := range out {
		for _, h := range held[bookkeeping.KeyString(out[i].AppKey)] {
			for _, role := range h.Have {
				out[i].Roles = append(out[i].Roles, HeldRole{Role: role, Store: h.Store, Sources: h.Sources[role]})
			}
		}
	}
	return out, nil
}
