package breaker

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// Status is the breaker as `scimbridge breaker status` shows it.
type Status struct {
	State     string     `json:"state"` // closed or tripped
	TrippedAt *time.Time `json:"tripped_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`     // why it last tripped
	ChangedAt *time.Time `json:"changed_at,omitempty"` // when it last tripped or closed
	ChangedBy string     `json:"changed_by,omitempty"` // who: a token name, "auto_release", the CLI's --by
	// InWindow is how many deactivations were let through since the window began (or the last close).
	InWindow int    `json:"in_window"`
	Held     []Held `json:"held"`
}

// Held is one user's held deactivation.
type Held struct {
	UserID    string     `json:"user_id" db:"user_id"`
	UserName  string     `json:"user_name" db:"user_name"`
	Operation string     `json:"operation" db:"operation"`
	FirstHeld time.Time  `json:"first_held" db:"first_held"`
	LastHeld  time.Time  `json:"last_held" db:"last_held"`
	Attempts  int        `json:"attempts" db:"attempts"`
	Decision  *string    `json:"decision" db:"decision"` // nil while undecided; release or reject
	DecidedAt *time.Time `json:"decided_at,omitempty" db:"decided_at"`
}

// ReadStatus reads the breaker's state and its held deactivations; window is the configured window
// (deactivations older than it do not count).
func ReadStatus(ctx context.Context, db *sqlx.DB, t bookkeeping.Tables, now time.Time, window time.Duration) (Status, error) {
	var st Status
	var tripped, changed sql.NullTime
	if err := db.QueryRowxContext(ctx, "SELECT state, tripped_at, reason, changed_at, changed_by FROM "+t.Named("breaker")+" WHERE id = 1").
		Scan(&st.State, &tripped, &st.Reason, &changed, &st.ChangedBy); err != nil {
		return st, err
	}
	st.TrippedAt, st.ChangedAt = timePtr(tripped), timePtr(changed)
	if err := db.GetContext(ctx, &st.InWindow, "SELECT COUNT(*) FROM "+t.Named("breaker_counts")+" WHERE at > ?", now.UTC().Add(-window)); err != nil {
		return st, err
	}
	st.Held = []Held{}
	err := db.SelectContext(ctx, &st.Held, "SELECT user_id, user_name, operation, first_held, last_held, attempts, decision, decided_at FROM "+
		t.Named("breaker_held")+" ORDER BY first_held, user_id")
	return st, err
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// Decide closes the breaker (the count starts again) and gives every undecided held deactivation
// decision: release lets its next retry through, reject answers it 409. by says who, for the breaker
// row and the breaker.released event. It returns how many held deactivations it decided.
func Decide(ctx context.Context, run *bookkeeping.Runner, newID func() string, decision, by string) (int, error) {
	var n int
	err := run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if _, _, err := lockState(ctx, tx); err != nil {
			return err
		}
		var err error
		n, err = closeBreaker(ctx, tx, newID(), decision, by)
		return err
	})
	return n, err
}
