package mysql

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// GateSessions keeps the SAML gate's sessions and used assertions in scimbridge's own tables
// ({prefix}gate_sessions, {prefix}gate_assertions), so that every gate replica on the database sees the
// same sessions, a logout or a SCIM deactivation ends a session everywhere at once, and a replayed
// assertion is refused by any replica and after a restart. It is saml.SessionStore and saml.ReplayStore;
// the gate passes every time it needs, so this type has no clock of its own.
type GateSessions struct {
	db       *sqlx.DB
	sessions string // quoted table names
	used     string
	users    string

	mu        sync.Mutex
	nextPrune time.Time
}

// gatePruneEvery is how often expired rows are deleted; expired rows are never read as valid in between.
const gatePruneEvery = 10 * time.Minute

// NewGateSessions returns the gate's session and replay store over db; prefix is the bookkeeping prefix
// (default "scim_"), the one Migrate created the tables with.
func NewGateSessions(db *sqlx.DB, prefix string) *GateSessions {
	t := bookkeeping.NewTables(prefix, dialect)
	return &GateSessions{db: db, sessions: t.GateSessions(), used: t.GateAssertions(), users: t.Users()}
}

// CreateSession stores a session under key (the hex SHA-256 of the cookie's token). It is written only
// while the user is active and not deleted in the bookkeeping table, in the same statement. It reports
// false when it was not.
//
// The read takes no lock (READ COMMITTED: an INSERT ... SELECT reads the last committed row), so a login
// racing a deactivation's COMMIT can still write a session after the deactivation ended the user's
// sessions. LookupSession, which reads the user again, never honours such a row. A shared lock would close
// the race here but make every login wait behind any write that holds the user's row (a PATCH, a group
// PATCH that locks its 10,000 members for the whole transaction) and fail on its lock-wait timeout.
func (g *GateSessions) CreateSession(ctx context.Context, key, userID, appKey, identity string, created, expires time.Time) (bool, error) {
	g.prune(ctx, created)
	var app any
	if appKey != "" {
		app = appKey
	}
	res, err := g.db.ExecContext(ctx, "INSERT INTO "+g.sessions+" (token_hash, user_id, app_key, identity, created_at, expires_at) "+
		"SELECT ?, ?, ?, ?, ?, ? FROM "+g.users+" WHERE id = ? AND active = 1 AND deleted_at IS NULL",
		key, userID, app, identity, created.UTC(), expires.UTC(), userID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LookupSession returns the session stored under key that has not expired at now and whose user is
// active and not deleted; userID is "" when there is none. The user is read again on every lookup, not
// trusted to the deactivation's DELETE of its sessions alone: a login racing the deactivation's COMMIT
// (CreateSession takes no lock) or, on a Galera cluster, a login on another node (only written rows are
// certified) can write a session the DELETE did not see. Such a row,
// or one of a SCIM id that no longer exists, is deleted when it is found.
func (g *GateSessions) LookupSession(ctx context.Context, key string, now time.Time) (userID, appKey, identity string, err error) {
	var row struct {
		UserID   string `db:"user_id"`
		AppKey   string `db:"app_key"`
		Identity string `db:"identity"`
		Live     bool   `db:"live"`
	}
	err = g.db.GetContext(ctx, &row, "SELECT s.user_id, COALESCE(s.app_key, '') AS app_key, s.identity,"+
		" COALESCE(u.active = 1 AND u.deleted_at IS NULL, FALSE) AS live FROM "+g.sessions+" s"+
		" LEFT JOIN "+g.users+" u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?", key, now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", nil
	}
	if err != nil {
		return "", "", "", err
	}
	if !row.Live {
		return "", "", "", g.DeleteSession(ctx, key)
	}
	return row.UserID, row.AppKey, row.Identity, nil
}

// DeleteSession ends one session (logout).
func (g *GateSessions) DeleteSession(ctx context.Context, key string) error {
	_, err := g.db.ExecContext(ctx, "DELETE FROM "+g.sessions+" WHERE token_hash = ?", key)
	return err
}

// DeleteUserSessions ends every session of a SCIM user.
func (g *GateSessions) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := g.db.ExecContext(ctx, "DELETE FROM "+g.sessions+" WHERE user_id = ?", userID)
	return err
}

// FirstUse records an assertion (key: the hex SHA-256 of its ID) until it expires and reports whether it
// was not recorded before. The primary key decides: of two replicas inserting the same assertion at once,
// one gets the duplicate-key error. A row past its expiry is removed first, as if pruned already.
func (g *GateSessions) FirstUse(ctx context.Context, key string, now, until time.Time) (bool, error) {
	g.prune(ctx, now)
	if _, err := g.db.ExecContext(ctx, "DELETE FROM "+g.used+" WHERE id_hash = ? AND expires_at <= ?", key, now.UTC()); err != nil {
		return false, err
	}
	_, err := g.db.ExecContext(ctx, "INSERT INTO "+g.used+" (id_hash, expires_at) VALUES (?, ?)", key, until.UTC())
	if kind, _ := dialect.Classify(err); kind == bookkeeping.ErrDuplicate {
		return false, nil
	}
	return err == nil, err
}

// prune deletes expired sessions and assertions at most every gatePruneEvery (by the gate's clock). A
// failure is left for the next time: expired rows are never taken for valid ones anyway.
func (g *GateSessions) prune(ctx context.Context, now time.Time) {
	g.mu.Lock()
	due := !now.Before(g.nextPrune)
	if due {
		g.nextPrune = now.Add(gatePruneEvery)
	}
	g.mu.Unlock()
	if !due {
		return
	}
	_, _ = g.db.ExecContext(ctx, "DELETE FROM "+g.sessions+" WHERE expires_at <= ?", now.UTC())
	_, _ = g.db.ExecContext(ctx, "DELETE FROM "+g.used+" WHERE expires_at <= ?", now.UTC())
}

// endGateSessions ends every gate session of a user inside a SCIM write's transaction, so that the
// user's next request through any gate replica finds no session, whatever recheck_every is. after is the
// user as the write leaves it: sessions end when it is inactive, or always when it is nil (DELETE).
func (s *Store) endGateSessions(ctx context.Context, tx *bookkeeping.Tx, userID string, after scim.Resource) error {
	if after != nil && isActive(after) {
		return nil
	}
	return tx.Later(ctx, "DELETE FROM "+tx.Tables.GateSessions()+" WHERE user_id = ?", userID)
}
