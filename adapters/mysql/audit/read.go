package audit

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// Record is one row of the trail as it is read back.
type Record struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"time"`
	Actor        string    `json:"actor"`      // "" for changes no request made (the role reconcile at start)
	RequestID    string    `json:"request_id"` // "" likewise
	Operation    string    `json:"operation"`
	ResourceType string    `json:"resource_type"`
	SCIMID       string    `json:"scim_id"`
	Name         string    `json:"name"`
	AppKey       *string   `json:"app_key,omitempty"`
	MemberID     *string   `json:"member_id,omitempty"`
	Changes      Changes   `json:"changes"`
}

// Filter selects records; zero fields select everything.
type Filter struct {
	Subject string    // a SCIM id (of a user or a group) or a userName/displayName, in any letter case
	Since   time.Time // at or after
	Actor   string
	// ID selects by SCIM id exactly: the rows of that resource and, for a user, the membership rows
	// that added or removed it. Unlike Subject it needs no userName lookup, so its two keys serve it.
	ID string
	// RequestID selects the rows one SCIM request wrote (the admin console links a request to them).
	RequestID string
	Limit     int // most recent first up to Limit, returned oldest first; 0 for 1000
}

// List returns the records f selects, oldest first. A subject matches the rows of the resource itself
// and, for a user, the membership rows that added or removed it.
func List(ctx context.Context, db *sqlx.DB, t bookkeeping.Tables, f Filter) ([]Record, error) {
	var where []string
	var args []any
	if f.Subject != "" {
		ids := "(SELECT id FROM " + t.Users() + " WHERE user_name_lc = ?)"
		where = append(where, "(scim_id = ? OR member_id = ? OR name_lc = ? OR scim_id IN "+ids+" OR member_id IN "+ids+")")
		folded := scim.FoldIdentity(f.Subject)
		args = append(args, f.Subject, f.Subject, folded, folded, folded)
	}
	if f.ID != "" {
		where = append(where, "(scim_id = ? OR member_id = ?)")
		args = append(args, f.ID, f.ID)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UTC())
	}
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.RequestID != "" {
		where = append(where, "request_id = ?")
		args = append(args, f.RequestID)
	}
	q := selectRecords + t.Named("audit")
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.QueryxContext(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, err
	}
	out, err := scanRecords(rows)
	if err != nil {
		return nil, err
	}
	slices.Reverse(out) // newest were read first, for the limit; callers get them oldest first
	return out, nil
}

// Prune deletes the records older than before, batch rows per statement so that no long lock is held,
// and returns how many went.
func Prune(ctx context.Context, db *sqlx.DB, t bookkeeping.Tables, before time.Time, batch int) (int64, error) {
	var total int64
	for {
		res, err := db.ExecContext(ctx, "DELETE FROM "+t.Named("audit")+" WHERE at < ? ORDER BY id LIMIT ?", before.UTC(), batch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
