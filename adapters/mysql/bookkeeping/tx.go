package bookkeeping

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
)

// DefaultPrefix is the table prefix of scimbridge's own tables when the configuration names none.
const DefaultPrefix = "scim_"

// Tables names scimbridge's own tables under a prefix, quoted for SQL.
type Tables struct {
	Prefix string
	d      Dialect
}

// NewTables names the tables under prefix ("" for DefaultPrefix), quoted by d.
func NewTables(prefix string, d Dialect) Tables {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Tables{Prefix: prefix, d: d}
}

// Named is the quoted name of scimbridge's table called name ("users" is the prefix plus "users").
func (t Tables) Named(name string) string { return t.d.Quote(t.Prefix + name) }

func (t Tables) Users() string          { return t.Named("users") }
func (t Tables) Groups() string         { return t.Named("groups") }
func (t Tables) Members() string        { return t.Named("group_members") }
func (t Tables) Outbox() string         { return t.Named("outbox") }
func (t Tables) Values() string         { return t.Named("user_values") }
func (t Tables) Cursors() string        { return t.Named("webhook_cursors") }
func (t Tables) Deliveries() string     { return t.Named("webhook_deliveries") }
func (t Tables) GateSessions() string   { return t.Named("gate_sessions") }
func (t Tables) GateAssertions() string { return t.Named("gate_assertions") }
func (t Tables) RoleGrants() string     { return t.Named("role_grants") }
func (t Tables) RoleMarks() string      { return t.Named("role_marks") }
func (t Tables) ListRows() string       { return t.Named("list_rows") }
func (t Tables) UserCounts() string     { return t.Named("user_counts") }
func (t Tables) RoleDirect() string     { return t.Named("role_direct") }

// Tx is one transaction of scimbridge's: the SQL transaction, the one time every row it writes carries
// (read once when it began, in UTC, so that a user's last_modified, its events and its audit agree; to
// the microsecond, as DATETIME(6) keeps it, so that what a write knows it wrote is what a read reads), and
// the names of scimbridge's tables.
type Tx struct {
	*sqlx.Tx
	Now    time.Time
	Tables Tables
	D      Dialect
}

// Runner runs transactions on a database.
type Runner struct {
	DB     *sqlx.DB
	Tables Tables
	D      Dialect          // default MySQL
	Now    func() time.Time // default time.Now
	Log    *slog.Logger     // retries are logged at warn; default discards
	// OnRetry, if set, is called before each run again after a lock conflict (the retries metric).
	OnRetry func()
	// Rand is uniform in [0, 1), the jitter of the waits between attempts [a source of the package's].
	Rand func() float64
	// Guard runs every transaction as on a Galera node (Begin): autocommit off, with a witness. Tests
	// use it to end a transaction behind fn's back on one server.
	Guard bool
	// Attempts is how often a transaction runs before a conflict is given up [4; 12 on a Galera node].
	Attempts int
	// Within, when set, is an enclosing transaction the Runner's transactions run inside, each as a
	// savepoint: one that fails is rolled back to its savepoint, one that succeeds is kept until the
	// caller commits or rolls back Within. Go-live applies a batch of writes in one transaction this way,
	// and plan rolls all of them back. Lock conflicts are not retried (they end the enclosing one).
	Within *sqlx.Tx
	// NoSavepoints says Within's engine has none (the demo's embedded one): fn then runs in Within
	// directly, and a failure leaves what it wrote for the caller to roll back with the rest.
	NoSavepoints bool
}

// Attempts before a conflict is given up. A Galera node finds conflicts with the other nodes' writes
// only at commit (certification), after the whole transaction ran, and concurrent writes of one user or
// group through two nodes conflict far more often than through one (2 of 100 PATCHes ran out of 4).
const (
	attempts       = 4
	galeraAttempts = 12
)

// InTx runs fn in one READ COMMITTED transaction, from the start again after a deadlock, a lock-wait
// timeout or a cluster's certification failure, after a jittered wait (so that the transactions that
// conflicted do not meet again). fn may therefore run more than once: it must do all its reads inside
// tx, so that a retry sees fresh data, and have no effect outside tx. It returns fn's error, or the
// database's, as they are: when the attempts run out, the last conflict (adapters/mysql answers it 503).
func (r *Runner) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	d := r.D
	if d == nil {
		d = MySQL
	}
	if r.Within != nil {
		return r.runWithin(ctx, d, fn)
	}
	var err error
	for i := 0; i < r.attempts(); i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(r.backoff(i)):
			}
		}
		err = r.run(ctx, d, fn)
		if i < badConnRetries && errors.Is(err, driver.ErrBadConn) {
			// A connection found dead before anything of the transaction reached the server (the
			// driver says ErrBadConn only then; the server rolls back what a lost connection had open).
			// database/sql retried such a begin on a fresh connection; since the begin goes with the
			// first statement (pending.go) that statement meets it instead, and the transaction runs
			// again here.
			continue
		}
		if !Retryable(d, err) && !(i < galeraDupRetries && r.galeraAutoIncDup(d, err)) {
			return err
		}
		if r.Log != nil {
			r.Log.Warn("transaction retried after a conflict", "attempt", i+1, "err", err)
		}
		if r.OnRetry != nil && i+1 < r.attempts() {
			r.OnRetry()
		}
	}
	return err
}

// badConnRetries is how many of a transaction's attempts may go to connections found dead (they wait
// the same backoff as conflicts, and count among the attempts).
const badConnRetries = 2

// galeraDupRetries is how many times a duplicate PRIMARY key on a Galera node runs again before it is
// taken for a real duplicate.
const galeraDupRetries = 2

// galeraAutoIncDup reports a duplicate PRIMARY key on a Galera node. Right after the cluster's
// membership changes (a node dies or joins), the nodes recompute auto_increment_increment and
// auto_increment_offset, and an insert taking an AUTO_INCREMENT key (an outbox seq, an audit id, the
// app's user id) can meet a value another node has just used: the same write a moment later gets a
// fresh value. A real duplicate (a key the write gives itself) is still one after the retries.
func (r *Runner) galeraAutoIncDup(d Dialect, err error) bool {
	kind, key := d.Classify(err)
	return kind == ErrDuplicate && key == "PRIMARY" && IsGalera(r.DB)
}

func (r *Runner) attempts() int {
	switch {
	case r.Attempts > 0:
		return r.Attempts
	case IsGalera(r.DB):
		return galeraAttempts
	}
	return attempts
}

// backoff is the wait before attempt i+1 (i >= 1): 10ms doubling to at most 320ms, times a jitter in
// [0.5, 1.5).
func (r *Runner) backoff(i int) time.Duration {
	rnd := r.Rand
	if rnd == nil {
		rnd = jitter
	}
	base := 10 * time.Millisecond << min(i-1, 5)
	return time.Duration(float64(base) * (0.5 + rnd()))
}

func (r *Runner) run(ctx context.Context, d Dialect, fn func(tx *Tx) error) (err error) {
	// READ COMMITTED: locking reads of rows that do not exist yet (is there a tombstone, an app row to
	// adopt?) then take no gap locks, which under REPEATABLE READ deadlock concurrent creates of different
	// users. Uniqueness never relied on those reads: unique indexes decide.
	tx, err := Begin(ctx, r.DB, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, r.Guard)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if err = fn(&Tx{Tx: tx.Tx, Now: now().UTC().Truncate(time.Microsecond), Tables: r.Tables, D: d}); err != nil {
		return err
	}
	return tx.Commit()
}

// runWithin runs fn as a savepoint of r.Within.
func (r *Runner) runWithin(ctx context.Context, d Dialect, fn func(tx *Tx) error) error {
	if r.NoSavepoints {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		if err := fn(&Tx{Tx: r.Within, Now: now().UTC().Truncate(time.Microsecond), Tables: r.Tables, D: d}); err != nil {
			return err
		}
		// The step's deferred writes (Tx.Later) go now, so that an error of theirs is this step's and
		// not the next one's.
		_, err := r.Within.ExecContext(ctx, "SELECT 1")
		return err
	}
	if _, err := r.Within.ExecContext(ctx, "SAVEPOINT scimbridge_step"); err != nil {
		return err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	err := fn(&Tx{Tx: r.Within, Now: now().UTC().Truncate(time.Microsecond), Tables: r.Tables, D: d})
	if err == nil {
		// The step's deferred writes go with the release (Tx.Later); if one fails, the release did not
		// run and the step is rolled back as one that failed.
		if _, err = r.Within.ExecContext(ctx, "RELEASE SAVEPOINT scimbridge_step"); err == nil {
			return nil
		}
	}
	// A failed step's deferred writes go with the ROLLBACK TO; if one of them fails, the server stops
	// there and the rollback did not run: it runs again, alone.
	var rerr error
	for range 2 {
		if _, rerr = r.Within.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT scimbridge_step"); rerr == nil {
			return err
		}
	}
	return errors.Join(err, rerr)
}
