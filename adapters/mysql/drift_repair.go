package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
)

// RepairActor is the actor of the audit rows and events of a drift repair run without a request.
const RepairActor = "drift-repair"

// RepairResult is what RepairDrift did.
type RepairResult struct {
	Repaired []string        `json:"repaired"` // SCIM ids of the users whose values were written back
	Skipped  []string        `json:"skipped"`  // ids with drift --repair does not touch (row gone, roles given by hand)
	Failed   []RepairFailure `json:"failed,omitempty"`
}

// RepairFailure is a user whose repair failed, and why; nothing of its repair was written.
type RepairFailure struct {
	ID       string `json:"id"`
	UserName string `json:"userName"`
	Error    string `json:"error"`
}

// RepairDrift writes scimbridge's values back for each user of the report that has repairable drift:
// the managed columns as scimbridge last wrote them, and the roles the user's groups grant. Each user is
// one transaction, with the audit rows and events of any other write. Unmanaged accounts, roles given by
// hand (unless the role mapping is authoritative) and rows the app deleted are never touched.
func (s *Store) RepairDrift(ctx context.Context, rep *DriftReport) (RepairResult, error) {
	res := RepairResult{Repaired: []string{}, Skipped: []string{}}
	if info := reqinfo.From(ctx); info.Actor == "" {
		info.Actor = RepairActor
		ctx = reqinfo.With(ctx, info)
	}
	for _, u := range rep.Users {
		if !u.Repairable() {
			res.Skipped = append(res.Skipped, u.ID)
			continue
		}
		changed, err := s.repairUser(ctx, u.ID)
		if err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			// One user's failure (a value the app's column now refuses) does not stop the others'.
			res.Failed = append(res.Failed, RepairFailure{ID: u.ID, UserName: u.UserName, Error: scim.AsError(err).Error()})
			continue
		}
		if changed {
			res.Repaired = append(res.Repaired, u.ID)
		}
	}
	return res, nil
}

// repairUser writes one user's managed columns back to its record of scimbridge's last write and
// recomputes its roles, in one transaction; it reports whether anything was written.
func (s *Store) repairUser(ctx context.Context, id string) (bool, error) {
	wrote := false
	err := s.inTx(ctx, func(tx *bookkeeping.Tx) error {
		wrote = false
		var deleted bool
		err := tx.GetContext(ctx, &deleted, "SELECT deleted_at IS NOT NULL FROM "+s.bookTable()+" WHERE id = ? FOR UPDATE", id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // gone since the report
		}
		if err != nil {
			return err
		}
		rows, err := s.queryUsers(ctx, tx, "WHERE b.id = ?", id)
		if err != nil || len(rows) == 0 {
			return err // the app row is gone: nothing to write to
		}
		b := rows[0]
		cur, _, err := s.readUser(ctx, tx, b, true)
		if err != nil {
			return err
		}
		before, err := s.appSnapshot(ctx, tx, b.key())
		if err != nil || before == nil {
			return err
		}
		var raw []byte
		err = tx.GetContext(ctx, &raw, "SELECT cols FROM "+tx.Tables.Named("user_written")+" WHERE user_id = ? FOR UPDATE", id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var base map[string]json.RawMessage
		if raw != nil {
			if err := json.Unmarshal(raw, &base); err != nil {
				return err
			}
		} else {
			fromAudit, err := s.auditWritten(ctx, tx, []string{id})
			if err != nil {
				return err
			}
			base = fromAudit[id]
		}
		cols := map[string]any{}
		for _, c := range s.managedColumns() {
			if w, ok := base[c]; ok && !writtenMatch(before[c], w) {
				cols[c] = writtenValue(before[c], w)
			}
		}
		if err := s.updateApp(ctx, tx, b.key(), cols); err != nil {
			return err
		}
		c := &change{}
		if len(cols) > 0 {
			// What GET shows changed (it reads these columns): a new version, so that ETags do not lie.
			if _, err := tx.ExecContext(ctx, "UPDATE "+s.bookTable()+" SET version = version + 1, last_modified = ? WHERE id = ?", tx.Now, id); err != nil {
				return err
			}
			if rows, err = s.queryUsers(ctx, tx, "WHERE b.id = ?", id); err != nil {
				return err
			}
			out, _, err := s.readUser(ctx, tx, rows[0], false)
			if err != nil {
				return err
			}
			after, err := s.appSnapshot(ctx, tx, b.key())
			if err != nil {
				return err
			}
			if !deleted {
				for _, ev := range userUpdateEvents(b.key(), cur, out) {
					c.event(userSubject(id), ev)
				}
				if err := s.endGateSessions(ctx, tx, id, out); err != nil {
					return err
				}
			}
			attrs := changedAttributes(cur, out)
			c.user(&userWrite{id: id, name: userName(cur), appKey: b.key(), before: before, after: after, changed: attrs,
				attrs: s.attributeDiff(cur, out, attrs)})
			wrote = true
		}
		if !deleted {
			c.rolesOf(id)
		}
		// afterChange's steps but the group mirror, which no group change here touches.
		roleEvents, err := s.recomputeRoles(ctx, tx, c.roles, c.roles, c.direct, nil)
		if err != nil {
			return err
		}
		if !wrote && len(roleEvents) == 0 {
			return nil
		}
		wrote = true
		return s.record(ctx, tx, c, roleEvents)
	})
	return wrote, err
}
