// Package breaker is the deactivation circuit breaker: it counts the deactivations (PATCH or PUT
// active=false, DELETE) scimbridge lets through, and once more than a threshold arrive within a window
// (a number, or a share of the active users) it holds the further ones: they are answered 503 with
// Retry-After, which Okta and Entra retry, until an admin releases them (`scimbridge breaker release`),
// rejects them (their retries then get 409) or, with auto_release, the window has passed. An IdP whose
// assignment was misconfigured can then not deactivate everyone. Reactivations and creates are never
// held: only the store's deactivating writes ask.
//
// The state is in scimbridge's tables ({p}breaker, {p}breaker_counts, {p}breaker_held), so replicas
// count together: every deactivation locks the one {p}breaker row in its own transaction, and a
// deactivation is counted exactly when it commits.
package breaker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
)

// Event types the breaker writes to the outbox.
const (
	EventTripped  = "breaker.tripped"
	EventReleased = "breaker.released" // closed again: by release, reject or auto_release
)

// States of the breaker row.
const (
	StateClosed  = "closed"
	StateTripped = "tripped"
)

// Decisions an admin takes for the held deactivations.
const (
	DecisionRelease = "release"
	DecisionReject  = "reject"
)

// Config is the [breaker] section, compiled.
type Config struct {
	MaxDeactivations int     // more than this many within Window trips it; 0: no count limit
	MaxPercent       float64 // more than this share of the active users within Window trips it; 0: none
	Window           time.Duration
	Hold             bool // a trip holds further deactivations; false: it only tells (event, log, metric)
	AutoRelease      bool // the breaker closes by itself Window after the trip
	RetryAfter       time.Duration
}

// Options are a Breaker's dependencies.
type Options struct {
	Prefix  string           // bookkeeping prefix ("" for the default)
	Now     func() time.Time // the clock of the transactions Settle runs [time.Now]
	NewID   func() string    // event ids
	Log     *slog.Logger
	OnEvent func(event string) // metrics: tripped, held, released, auto_released, rejected; may be nil
}

// Breaker decides, inside each deactivating transaction, whether the deactivation goes ahead.
type Breaker struct {
	cfg     Config
	run     bookkeeping.Runner
	newID   func() string
	log     *slog.Logger
	onEvent func(string)
}

// New is a breaker on db.
func New(db *sqlx.DB, cfg Config, o Options) *Breaker {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.OnEvent == nil {
		o.OnEvent = func(string) {}
	}
	return &Breaker{cfg: cfg, newID: o.NewID, log: o.Log, onEvent: o.OnEvent,
		run: bookkeeping.Runner{DB: db, Tables: bookkeeping.NewTables(o.Prefix, bookkeeping.MySQL), Now: o.Now, Log: o.Log}}
}

// Deactivation is one user's deactivation a write is about to make.
type Deactivation struct {
	UserID, UserName string
	Operation        string // "deactivate" (PATCH or PUT active=false) or "delete"
}

// held is the error Admit returns for a deactivation that must not go ahead; the write's transaction
// rolls back, and Settle, outside it, records the hold (and the trip) in a transaction of its own.
type held struct {
	d        Deactivation
	rejected bool   // an admin rejected it: answer 409
	trip     bool   // this deactivation crossed the threshold
	reason   string // why it tripped
	stats    tripStats
}

func (h *held) Error() string { return "breaker: deactivation of " + h.d.UserID + " held" }

type tripStats struct {
	Deactivations int `json:"deactivations"` // let through within the window, this one included
	ActiveUsers   int `json:"active_users"`  // the base of max_percent: active now, plus those counted
}

// Admit runs in the transaction of a deactivation, before anything is written: nil lets it go ahead
// (and counts it, in tx), an error holds it. Pass the write's error, whatever it is, to Settle.
func (b *Breaker) Admit(ctx context.Context, tx *bookkeeping.Tx, d Deactivation) error {
	// The breaker row first, then the held row: every transaction here locks in that order.
	state, trippedAt, err := lockState(ctx, tx)
	if err != nil {
		return err
	}
	// A write of the row, not only its lock: two deactivations on two nodes of a cluster (Galera, group
	// replication), where row locks are local, then conflict at commit and one runs again.
	if _, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Named("breaker")+" SET n = n + 1 WHERE id = 1"); err != nil {
		return err
	}
	var decision sql.NullString
	err = tx.QueryRowxContext(ctx, "SELECT decision FROM "+tx.Tables.Named("breaker_held")+" WHERE user_id = ? FOR UPDATE", d.UserID).Scan(&decision)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case found && decision.String == DecisionReject:
		return &held{d: d, rejected: true}
	case found && decision.String == DecisionRelease:
		// An admin let it through: it is not counted again, or releasing many would trip at once.
		b.onEvent("released")
		return forget(ctx, tx, d.UserID)
	}
	if state == StateTripped && b.cfg.AutoRelease && !tx.Now.Before(trippedAt.Time.Add(b.cfg.Window)) {
		if _, err := b.closeIn(ctx, tx, DecisionRelease, "auto_release"); err != nil {
			return err
		}
		b.onEvent("auto_released")
		if state = StateClosed; found {
			return forget(ctx, tx, d.UserID)
		}
	}
	if state == StateTripped && b.cfg.Hold {
		return &held{d: d}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+tx.Tables.Named("breaker_counts")+" WHERE at <= ?", tx.Now.Add(-b.cfg.Window)); err != nil {
		return err
	}
	var n int
	if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+tx.Tables.Named("breaker_counts")); err != nil {
		return err
	}
	if state == StateClosed {
		reason, stats, err := b.exceeds(ctx, tx, n+1)
		if err != nil {
			return err
		}
		if reason != "" {
			if b.cfg.Hold {
				return &held{d: d, trip: true, reason: reason, stats: stats}
			}
			// on_trip = "alert": it trips (once, with its event) and lets everything through.
			if err := b.tripIn(ctx, tx, d, reason, stats); err != nil {
				return err
			}
		}
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+tx.Tables.Named("breaker_counts")+" (user_id, at) VALUES (?, ?)", d.UserID, tx.Now)
	return err
}

// exceeds says why n deactivations within the window cross a threshold, or "".
func (b *Breaker) exceeds(ctx context.Context, tx *bookkeeping.Tx, n int) (string, tripStats, error) {
	stats := tripStats{Deactivations: n}
	if b.cfg.MaxDeactivations > 0 && n > b.cfg.MaxDeactivations {
		return fmt.Sprintf("%d deactivations within %s, more than max_deactivations = %d", n, b.cfg.Window, b.cfg.MaxDeactivations), stats, nil
	}
	if b.cfg.MaxPercent <= 0 {
		return "", stats, nil
	}
	var active int
	if err := tx.GetContext(ctx, &active, "SELECT COUNT(*) FROM "+tx.Tables.Users()+" WHERE deleted_at IS NULL AND active = 1"); err != nil {
		return "", stats, err
	}
	// The users counted were active when the window began: they are part of the base.
	stats.ActiveUsers = active + n - 1
	if stats.ActiveUsers > 0 && float64(n)*100 > b.cfg.MaxPercent*float64(stats.ActiveUsers) {
		return fmt.Sprintf("%d deactivations within %s, %.1f%% of %d active users, more than max_percent = %g", n, b.cfg.Window,
			float64(n)*100/float64(stats.ActiveUsers), stats.ActiveUsers, b.cfg.MaxPercent), stats, nil
	}
	return "", stats, nil
}

// Settle turns the error of a deactivating write into its answer: a deactivation Admit held is recorded
// as held (the breaker tripped, with its event, if this one crossed the threshold) and answered 503 with
// Retry-After; one an admin rejected is answered 409, once. Any other error comes back as it is.
func (b *Breaker) Settle(ctx context.Context, err error) error {
	var h *held
	if !errors.As(err, &h) {
		return err
	}
	if h.rejected {
		if err := b.run.InTx(ctx, func(tx *bookkeeping.Tx) error { return forget(ctx, tx, h.d.UserID) }); err != nil {
			return scim.Unavailable(err)
		}
		b.onEvent("rejected")
		b.log.Warn("breaker: a rejected deactivation was retried; answered 409", "user_id", h.d.UserID, "user_name", h.d.UserName)
		return scim.Errorf(http.StatusConflict, "", "an administrator rejected this deactivation of %q (deactivation circuit breaker); "+
			"check the IdP's assignments before deactivating the user again", h.d.UserName)
	}
	tripped := false
	err = b.run.InTx(ctx, func(tx *bookkeeping.Tx) error {
		tripped = false
		state, _, err := lockState(ctx, tx)
		if err != nil {
			return err
		}
		if h.trip && state == StateClosed {
			if err := b.tripIn(ctx, tx, h.d, h.reason, h.stats); err != nil {
				return err
			}
			tripped = true
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO "+tx.Tables.Named("breaker_held")+
			" (user_id, user_name, operation, first_held, last_held, attempts) VALUES (?, ?, ?, ?, ?, 1)"+
			" ON DUPLICATE KEY UPDATE user_name = VALUES(user_name), operation = VALUES(operation), last_held = VALUES(last_held), attempts = attempts + 1",
			h.d.UserID, h.d.UserName, h.d.Operation, tx.Now, tx.Now)
		return err
	})
	if err != nil {
		return scim.Unavailable(err)
	}
	if tripped {
		b.onEvent("tripped")
	}
	b.onEvent("held")
	b.log.Warn("breaker: deactivation held", "user_id", h.d.UserID, "user_name", h.d.UserName, "operation", h.d.Operation,
		"retry_after", b.cfg.RetryAfter.String())
	return &scim.Error{Status: http.StatusServiceUnavailable, RetryAfter: b.cfg.RetryAfter, Err: h,
		Detail: "too many deactivations in a short time: the deactivation circuit breaker holds this one until an administrator " +
			"releases it (scimbridge breaker release); retry later"}
}

// tripIn marks the breaker tripped in tx and writes its event.
func (b *Breaker) tripIn(ctx context.Context, tx *bookkeeping.Tx, d Deactivation, reason string, stats tripStats) error {
	if _, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Named("breaker")+" SET state = ?, tripped_at = ?, reason = ?, changed_at = ?, changed_by = ? WHERE id = 1",
		StateTripped, tx.Now, clip(reason, 255), tx.Now, clip(reqinfo.From(ctx).Actor, 100)); err != nil {
		return err
	}
	b.log.Error("breaker: tripped", "reason", reason, "user_id", d.UserID, "user_name", d.UserName, "holds", b.cfg.Hold)
	return emit(ctx, tx, b.newID(), EventTripped, map[string]any{
		"state": StateTripped, "reason": reason, "holds": b.cfg.Hold, "window": b.cfg.Window.String(),
		"max_deactivations": b.cfg.MaxDeactivations, "max_percent": b.cfg.MaxPercent,
		"deactivations": stats.Deactivations, "active_users": stats.ActiveUsers,
		"user": map[string]any{"id": d.UserID, "userName": d.UserName, "operation": d.Operation},
	})
}

// closeIn closes the breaker in tx (locked by lockState): the window starts again, and the held
// deactivations still undecided get decision. It writes breaker.released and returns how many it decided.
func (b *Breaker) closeIn(ctx context.Context, tx *bookkeeping.Tx, decision, by string) (int, error) {
	return closeBreaker(ctx, tx, b.newID(), decision, by)
}

func closeBreaker(ctx context.Context, tx *bookkeeping.Tx, eventID, decision, by string) (int, error) {
	res, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Named("breaker_held")+" SET decision = ?, decided_at = ? WHERE decision IS NULL",
		decision, tx.Now)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, "UPDATE "+tx.Tables.Named("breaker")+" SET state = ?, changed_at = ?, changed_by = ? WHERE id = 1",
		StateClosed, tx.Now, clip(by, 100)); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+tx.Tables.Named("breaker_counts")); err != nil {
		return 0, err
	}
	return int(n), emit(ctx, tx, eventID, EventReleased, map[string]any{"state": StateClosed, "decision": decision, "by": by, "held": n})
}

// lockState locks the breaker row and reads it.
func lockState(ctx context.Context, tx *bookkeeping.Tx) (string, sql.NullTime, error) {
	var state string
	var at sql.NullTime
	err := tx.QueryRowxContext(ctx, "SELECT state, tripped_at FROM "+tx.Tables.Named("breaker")+" WHERE id = 1 FOR UPDATE").Scan(&state, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", at, errors.New("breaker: its row is missing from " + tx.Tables.Named("breaker") + " (run scimbridge migrate)")
	}
	return state, at, err
}

func forget(ctx context.Context, tx *bookkeeping.Tx, userID string) error {
	_, err := tx.ExecContext(ctx, "DELETE FROM "+tx.Tables.Named("breaker_held")+" WHERE user_id = ?", userID)
	return err
}

// emit writes one breaker event to the outbox, in tx: webhooks deliver it as they deliver the store's.
func emit(ctx context.Context, tx *bookkeeping.Tx, id, typ string, data map[string]any) error {
	info := reqinfo.From(ctx)
	payload, err := json.Marshal(map[string]any{"id": id, "type": typ, "time": tx.Now, "actor": info.Actor,
		"request_id": info.ID, "breaker": data})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+tx.Tables.Outbox()+" (event_id, type, subject, occurred_at, payload) VALUES (?, ?, ?, ?, ?)",
		id, typ, "breaker", tx.Now, payload)
	return err
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
