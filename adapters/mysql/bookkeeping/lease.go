package bookkeeping

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// Leases are named locks kept as rows of {p}leases: an owner and the time its lease ends. They replace
// GET_LOCK, which is local to one server: on Galera two replicas on two nodes both got "the" migration
// lock. A row is replicated and certified like any other, so two nodes taking one lease at once conflict
// and one of them loses (its commit fails, or it reads the other's owner back). A lease ends by itself
// when its owner dies, so a crashed replica never blocks the others for longer than the lease.
type Leases struct {
	DB     *sqlx.DB
	Tables Tables
	Owner  string           // who takes the leases: unique per process
	Now    func() time.Time // [time.Now]
}

// leaseTableSQL creates the table of leases; Migrate runs it before taking the migration lease.
const leaseTableSQL = `CREATE TABLE IF NOT EXISTS {p}leases (
	name        VARCHAR(191) NOT NULL,
	owner       VARCHAR(100) NOT NULL,
	lease_until DATETIME(6)  NOT NULL,
	taken_at    DATETIME(6)  NOT NULL,
	PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

func (l Leases) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Hold takes the lease name for d, or renews it when this owner holds it already: true when this owner
// holds it until now+d. It is false, without error, while another owner's lease is live, and when
// another replica took it at the same moment (the conflict the cluster reports is the answer "no").
func (l Leases) Hold(ctx context.Context, name string, d time.Duration) (bool, error) {
	ok, err := l.take(ctx, name, d)
	if errors.Is(err, errLost) {
		return false, nil
	}
	return ok, err
}

func (l Leases) take(ctx context.Context, name string, d time.Duration) (bool, error) {
	now := l.now()
	table := l.Tables.Named("leases")
	tx, err := Begin(ctx, l.DB, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, false)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	// The assignments run in order, each seeing the ones before: taken_at while owner is still the old
	// one, then owner, then lease_until seeing the new owner. The lease moves only when it has ended.
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (name, owner, lease_until, taken_at) VALUES (?, ?, ?, ?)"+
		" ON DUPLICATE KEY UPDATE taken_at = IF(owner <> VALUES(owner) AND lease_until <= ?, VALUES(taken_at), taken_at),"+
		" owner = IF(lease_until <= ?, VALUES(owner), owner),"+
		" lease_until = IF(owner = VALUES(owner), VALUES(lease_until), lease_until)",
		name, l.Owner, now.Add(d), now, now, now); err != nil {
		return false, conflictIsNo(err)
	}
	var owner string
	if err := tx.GetContext(ctx, &owner, "SELECT owner FROM "+table+" WHERE name = ?", name); err != nil {
		return false, conflictIsNo(err)
	}
	if owner != l.Owner {
		return false, nil
	}
	return true, conflictIsNo(tx.Commit())
}

// conflictIsNo turns a lock conflict or certification failure into errLost: another replica wrote the
// lease at the same moment, and it holds it.
func conflictIsNo(err error) error {
	if Retryable(MySQL, err) {
		return errLost
	}
	return err
}

// errLost is a race for a lease lost; Hold answers it as false, nil.
var errLost = errors.New("lease taken by another replica at the same moment")

// Release ends this owner's lease name at once, so that another replica need not wait for it to expire.
func (l Leases) Release(ctx context.Context, name string) error {
	_, err := l.DB.ExecContext(ctx, "UPDATE "+l.Tables.Named("leases")+" SET lease_until = ? WHERE name = ? AND owner = ?", l.now(), name, l.Owner)
	return err
}

// Leader is the owner of the live lease name and when it ends; "" when nobody holds it.
func (l Leases) Leader(ctx context.Context, name string) (owner string, until time.Time, err error) {
	var row struct {
		Owner string    `db:"owner"`
		Until time.Time `db:"lease_until"`
	}
	err = l.DB.GetContext(ctx, &row, "SELECT owner, lease_until FROM "+l.Tables.Named("leases")+" WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !row.Until.After(l.now())) {
		return "", time.Time{}, nil
	}
	return row.Owner, row.Until, err
}

// Run runs fn while holding the lease name, renewed every d/3 until fn returns; ran is false, without
// error, when another owner holds it. fn's context ends when the lease cannot be renewed, so that work
// this replica no longer owns stops; fn's error is returned.
func (l Leases) Run(ctx context.Context, name string, d time.Duration, fn func(ctx context.Context) error) (ran bool, err error) {
	held, err := l.Hold(ctx, name, d)
	if err != nil || !held {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(d / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if ok, err := l.Hold(ctx, name, d); err != nil || !ok {
					if ctx.Err() == nil {
						cancel() // lost: another replica has it now
					}
					return
				}
			}
		}
	}()
	err = fn(ctx)
	cancel()
	<-renewed
	_ = l.Release(context.WithoutCancel(ctx), name)
	return true, err
}
