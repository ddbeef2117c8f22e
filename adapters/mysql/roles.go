package mysql

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// RoleChange is the payload of user.roles_changed: the app roles a user had and has.
type RoleChange struct {
	Old []string `json:"old"`
	New []string `json:"new"`
}

// roleSync keeps the app's role storage in line with group memberships; nil when no [roles] are configured.
type roleSync struct{}

func (r *roleSync) recompute(ctx context.Context, tx *sqlx.Tx, userIDs []string) error { return nil }
