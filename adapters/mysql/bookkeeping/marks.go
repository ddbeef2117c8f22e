package bookkeeping

import (
	"context"
	"slices"

	"github.com/jmoiron/sqlx"
)

// MarkRoles writes the role mark of each user (a counter in {p}role_marks) before their roles are
// recomputed from their groups. A recompute reads the user's memberships and writes only the role rows
// that differ; two at once (adding the user to one group that grants admin while removing them from
// another that does too) may write different rows, or none, and both commit a result computed from a
// state without the other's change. Both writing the mark makes them conflict: on one server the second
// waits for the first's commit and then reads its memberships (READ COMMITTED reads afresh per
// statement); on Galera, whose nodes lock nothing for each other, certification aborts one of them and
// it runs again. The ids are sorted so that batches mark in one order and do not deadlock.
func MarkRoles(ctx context.Context, x sqlx.ExecerContext, t Tables, userIDs []string) error {
	ids := slices.Sorted(slices.Values(userIDs))
	ids = slices.Compact(ids)
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, 0, n)
		rows := ""
		for i, id := range ids[:n] {
			if i > 0 {
				rows += ", "
			}
			rows += "(?, 1)"
			args = append(args, id)
		}
		if _, err := x.ExecContext(ctx, "INSERT INTO "+t.RoleMarks()+" (user_id, n) VALUES "+rows+" ON DUPLICATE KEY UPDATE n = n + 1", args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
