package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/scim"
	"github.com/scimbridge/scimbridge/webhook"
)

// Go-live applies shadow mode's SCIM state to the app's real tables by replaying it through the live
// store's own SCIM writes: each shadow user is created (adopting the app row the mapping matches, as a
// live POST would), or brought to the shadow state when the live store has it already (as a PUT), then
// deleted if it was deleted in shadow; then each group is created or replaced with its members, which
// recomputes roles and mirrors groups. The same writes write the audit rows and the events live mode
// would have. A batch of users or groups is one transaction, each write a savepoint in it, committed
// with the go-live state ({p}golive: phase and last id done): go-live killed half-way resumes after the
// last batch it committed, and ends where an uninterrupted run does. Replaying an applied user again
// changes nothing, so resuming from the start would be correct too, only slower.

// Go-live states ({p}golive.status).
const (
	stateShadow   = "shadow"   // shadow mode started; nothing applied yet
	stateApplying = "applying" // go-live started and has not finished
	stateLive     = "live"     // go-live finished
)

// Go-live phases, in order.
const (
	phaseUsers  = "users"
	phaseGroups = "groups"
	phaseDone   = "done"
)

// DefaultGoLiveBatch is how many users or groups one go-live transaction applies.
const DefaultGoLiveBatch = 200

// goliveState is the row of {p}golive.
type goliveState struct {
	Status string `db:"status"`
	Phase  string `db:"phase"`
	Cursor string `db:"cursor_id"`
	Done   int    `db:"done"`
}

func goliveTable(prefix string) string { return bookkeeping.MySQL.Quote(prefix + "golive") }

// readState reads the go-live state (nil when shadow mode never started), locked with lock.
func readState(ctx context.Context, q sqlx.QueryerContext, prefix string, lock bool) (*goliveState, error) {
	query := "SELECT status, phase, cursor_id, done FROM " + goliveTable(prefix) + " WHERE id = 1"
	if lock {
		query += " FOR UPDATE"
	}
	var st goliveState
	err := sqlx.GetContext(ctx, q, &st, query)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

func writeState(ctx context.Context, tx *sqlx.Tx, prefix string, st *goliveState, now time.Time) error {
	_, err := tx.ExecContext(ctx, "UPDATE "+goliveTable(prefix)+" SET status = ?, phase = ?, cursor_id = ?, done = ?, updated = ? WHERE id = 1",
		st.Status, st.Phase, st.Cursor, st.Done, now.UTC())
	return err
}

// Outcome is what go-live did, or failed to do, with one shadow user or group.
type Outcome struct {
	Kind   string // "User" or "Group"
	ID     string
	Name   string // userName or displayName
	Action string // "create", "update", "delete" (deleted in shadow mode), "create+delete"
	Active bool   // a user's state in shadow mode
	Err    error
}

// applier replays shadow state into the live store.
type applier struct {
	live, shadow *mysql.Store
	log          *slog.Logger
	savepoints   bool // the database has them (not the demo's engine): a failed write is undone alone
}

// probe finds out, once, whether the database of tx has savepoints.
func (g *applier) probe(ctx context.Context, tx *sqlx.Tx) {
	_, err := tx.ExecContext(ctx, "SAVEPOINT scimbridge_probe")
	g.savepoints = err == nil
}

// newApplier builds the live and the shadow store of cfg on db.
func newApplier(db *sqlx.DB, cfg *config.Config, o Options, log *slog.Logger) (*applier, error) {
	sh, _, err := cfg.Shadow()
	if err != nil {
		return nil, err
	}
	return &applier{live: newStore(db, cfg, o, log, nil, nil), shadow: newStore(db, sh, o, log, nil, nil), log: log}, nil
}

// goliveContext marks go-live's writes in the audit trail and the events: actor "golive".
func goliveContext(ctx context.Context) context.Context {
	return reqinfo.With(ctx, reqinfo.Info{Actor: "golive", ID: "golive"})
}

// users applies up to n shadow users after cursor, in tx. With stop, the first failure ends the batch:
// last is the last user applied before it, and err names the user. Without stop (plan), failures are
// outcomes and the batch goes on.
func (g *applier) users(ctx context.Context, tx *sqlx.Tx, cursor string, n int, stop bool) (last string, out []Outcome, err error) {
	// Read through tx too: one consistent view, and the demo's engine runs one transaction at a time.
	src, err := g.shadow.Within(tx, true).SourceUsers(ctx, cursor, n)
	if err != nil {
		return cursor, nil, err
	}
	live := g.live.Within(tx, g.savepoints)
	last = cursor
	for _, u := range src {
		active, _ := u.Resource["active"].(bool)
		oc := Outcome{Kind: "User", ID: u.ID, Name: userNameOf(u.Resource), Active: active || u.Resource["active"] == nil}
		oc.Action, oc.Err = applyUser(ctx, live, u)
		if oc.Err != nil && stop {
			return last, out, fmt.Errorf("user %q (%s): %w", oc.Name, oc.ID, oc.Err)
		}
		out = append(out, oc)
		last = u.ID
	}
	return last, out, nil
}

func applyUser(ctx context.Context, live *mysql.Store, u mysql.SourceUser) (string, error) {
	found, deleted, err := live.UserState(ctx, u.ID)
	if err != nil {
		return "", err
	}
	action := "update"
	switch {
	case found && deleted && u.Deleted:
		return "", nil // applied before
	case found && !deleted:
		if !u.Deleted {
			if _, err = live.UpdateUser(ctx, u.ID, func(scim.Resource) (scim.Resource, error) { return u.Resource, nil }); err != nil {
				return action, err
			}
			return action, live.KeepMeta(ctx, "User", u.ID, u.Meta)
		}
		action = "delete"
	default:
		action = "create"
		if _, err = live.CreateUser(mysql.WithID(ctx, u.ID), u.Resource); err != nil {
			return action, err
		}
		if !u.Deleted {
			return action, live.KeepMeta(ctx, "User", u.ID, u.Meta)
		}
		action = "create+delete"
	}
	if u.Deleted {
		err = live.DeleteUser(ctx, u.ID, nil)
	}
	return action, err
}

// groups is users for groups.
func (g *applier) groups(ctx context.Context, tx *sqlx.Tx, cursor string, n int, stop bool) (last string, out []Outcome, err error) {
	src, err := g.shadow.Within(tx, true).SourceGroups(ctx, cursor, n)
	if err != nil {
		return cursor, nil, err
	}
	live := g.live.Within(tx, g.savepoints)
	last = cursor
	for _, gr := range src {
		name, _ := gr.Resource["displayName"].(string)
		oc := Outcome{Kind: "Group", ID: gr.ID, Name: name, Action: "create"}
		var exists bool
		if exists, oc.Err = live.GroupExists(ctx, gr.ID); oc.Err == nil {
			if exists {
				oc.Action = "update"
				_, oc.Err = live.UpdateGroup(ctx, gr.ID, func(scim.Resource) (scim.Resource, error) { return gr.Resource, nil },
					scim.MemberChange{Replace: true, Add: gr.Members}, false)
			} else {
				_, oc.Err = live.CreateGroup(mysql.WithID(ctx, gr.ID), gr.Resource, gr.Members)
			}
			if oc.Err == nil {
				oc.Err = live.KeepMeta(ctx, "Group", gr.ID, gr.Meta)
			}
		}
		if oc.Err != nil && stop {
			return last, out, fmt.Errorf("group %q (%s): %w", oc.Name, oc.ID, oc.Err)
		}
		out = append(out, oc)
		last = gr.ID
	}
	return last, out, nil
}

// step applies the next batch of the phase st is in, in tx, and moves st on. It returns what the batch
// did; with stop, a failure ends it early (what it applied before stays in st).
func (g *applier) step(ctx context.Context, tx *sqlx.Tx, st *goliveState, n int, stop bool) ([]Outcome, error) {
	var apply func(context.Context, *sqlx.Tx, string, int, bool) (string, []Outcome, error)
	next := phaseDone
	switch st.Phase {
	case "", phaseUsers:
		st.Phase, apply, next = phaseUsers, g.users, phaseGroups
	case phaseGroups:
		apply = g.groups
	default:
		return nil, nil
	}
	last, out, err := apply(ctx, tx, st.Cursor, n, stop)
	st.Done += len(out)
	if err != nil {
		st.Cursor = last
		return out, err
	}
	if last == st.Cursor { // nothing left in this phase
		st.Phase, st.Cursor = next, ""
		return out, nil
	}
	st.Cursor = last
	return out, nil
}

// GoLiveProgress is told, after each committed batch, the phase and how many of the total shadow users
// and groups are done.
type GoLiveProgress func(phase string, done, total int)

// GoLive applies the shadow state of cfg's database to the app's tables, batch users or groups per
// transaction, resuming where an interrupted go-live stopped. It takes the shadow lock: it fails when a
// shadow serve (or another go-live) holds it. It does nothing when shadow mode never started or go-live
// has finished.
func GoLive(ctx context.Context, db *sqlx.DB, cfg *config.Config, o Options, batch int, progress GoLiveProgress) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lock, err := takeShadowLock(ctx, shadowLeases(db, cfg.Database.BookkeepingPrefix, bookkeeping.ProcessOwner(), o.Now), log)
	if err != nil {
		return err
	}
	defer lock.release()
	// A webhook endpoint gets the events from its registration on: register them first, as serve does,
	// so that they get go-live's.
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	eps, err := webhook.EndpointsFromConfig(cfg, o.Getenv, o.ReadFile)
	if err != nil {
		return err
	}
	w, err := webhook.New(db, webhook.Options{Prefix: cfg.Database.BookkeepingPrefix, Endpoints: eps, Log: log, Now: o.Now})
	if err != nil {
		return err
	}
	if err := w.Register(ctx); err != nil {
		return fmt.Errorf("registering the webhook endpoints: %w", err)
	}
	return goLiveLocked(ctx, db, cfg, o, log, batch, progress)
}

func goLiveLocked(ctx context.Context, db *sqlx.DB, cfg *config.Config, o Options, log *slog.Logger, batch int, progress GoLiveProgress) error {
	if batch <= 0 {
		batch = DefaultGoLiveBatch
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	prefix := cfg.Database.BookkeepingPrefix
	st, err := readState(ctx, db, prefix, false)
	if err != nil {
		return err
	}
	if st == nil || st.Status == stateLive {
		return nil
	}
	g, err := newApplier(db, cfg, o, log)
	if err != nil {
		return err
	}
	sh := bookkeeping.NewTables(config.ShadowPrefix(prefix), bookkeeping.MySQL)
	var total int
	if err := db.GetContext(ctx, &total, "SELECT (SELECT COUNT(*) FROM "+sh.Users()+") + (SELECT COUNT(*) FROM "+sh.Groups()+")"); err != nil {
		return err
	}
	ctx = goliveContext(ctx)
	for first := true; ; first = false {
		tx, err := bookkeeping.Begin(ctx, db, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, false)
		if err != nil {
			return err
		}
		st, err := readState(ctx, tx.Tx, prefix, true)
		if err != nil {
			_ = tx.Rollback()
			return err
		}
		if first {
			g.probe(ctx, tx.Tx)
		}
		st.Status = stateApplying
		_, stepErr := g.step(ctx, tx.Tx, st, batch, true)
		if stepErr != nil && !g.savepoints {
			_ = tx.Rollback() // the failed write's part is in tx: the whole batch goes, to be run again
			return fmt.Errorf("go-live stopped in a batch at %w; fix it and run `scimbridge golive` again: it resumes there", stepErr)
		}
		if st.Phase == phaseDone {
			st.Status = stateLive
		}
		if err := writeState(ctx, tx.Tx, prefix, st, now()); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if progress != nil {
			progress(st.Phase, st.Done, total)
		}
		if stepErr != nil {
			return fmt.Errorf("go-live stopped at %w; fix it and run `scimbridge golive` again: it resumes there", stepErr)
		}
		if st.Status == stateLive {
			log.Info("go-live finished: the app's tables hold the shadow state", "users_and_groups", st.Done)
			return nil
		}
	}
}

func userNameOf(r scim.Resource) string {
	s, _ := r["userName"].(string)
	return s
}
