package mysql

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"time"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// Unfiltered user lists (Okta's "Test connector" asks count=1, its import pages through everything) would
// otherwise cost a pass over the whole table per request: the COUNT of totalResults, and an index page's
// OFFSET, which walks every user before it. Instead the store keeps, per process, a snapshot of the
// unfiltered list taken in one pass: its exact total, and the key of every step-th user in list order.
//
//   - totalResults is the snapshot's total plus what user_counts (kept in every create's and delete's
//     transaction) says changed since. The snapshot's total is of the list itself (the join with the app
//     table, users.scope), so users removed from the app behind scimbridge's back are not counted.
//   - An index page at startIndex N seeks to the snapshot key nearest before N on the (created, id) index
//     and skips fewer than step users from there. This is exact while no user before the snapshot's last
//     key has come or gone: user_counts' changes tell whether any user was deleted, and a COUNT of the
//     users after the last key whether every user created since sorts after it. Otherwise the snapshot is
//     taken again.
//
// What user_counts cannot see (rows the app deletes or moves out of scope itself) reaches totals and
// index pages when the snapshot is taken again: a snapshot older than maxAge is still served while a new
// one is taken in the background (a pass costs seconds at 1,000,000 users, more than a request may wait).
const (
	snapshotStep   = 1000
	snapshotMaxAge = 5 * time.Minute
)

type listSnapshot struct {
	at      time.Time
	counts  bookkeeping.Counts // user_counts in the read view the pass ran in
	total   int                // users in the unfiltered list
	anchors []keyset           // anchors[i]: the key of the user at 0-based position (i+1)*step-1
	last    keyset             // the last user's key; zero when the list is empty
}

type snapshots struct {
	mu     sync.Mutex
	cur    *listSnapshot
	step   int
	maxAge time.Duration
	passes int // snapshots taken, for tests

	refreshing bool           // a background pass is running
	refreshes  sync.WaitGroup // background passes, for tests
}

// totalNow is the unfiltered list's total when user_counts reads c.
func (sn *listSnapshot) totalNow(c bookkeeping.Counts) int {
	return sn.total + int(c.Live-sn.counts.Live)
}

// unfilteredTotal is the total of the unfiltered list with condition cond, without counting it.
func (s *Store) unfilteredTotal(ctx context.Context, cond string, args []any) (int, error) {
	sn, c, err := s.snapshot(ctx, cond, args, false)
	if err != nil {
		return 0, err
	}
	return sn.totalNow(c), nil
}

// seekPage reads the index page of count users from offset of the unfiltered list, from the snapshot key
// nearest before it. ok is false for an offset within the first step users, which OFFSET serves as
// cheaply; the caller then reads the page itself.
func (s *Store) seekPage(ctx context.Context, cond string, args []any, offset, count int) (rows []*bookRow, total int, ok bool, err error) {
	if offset < s.snap.step {
		return nil, 0, false, nil
	}
	sn, c, err := s.snapshot(ctx, cond, args, true)
	if err != nil {
		return nil, 0, false, err
	}
	k := min(offset/s.snap.step, len(sn.anchors))
	if k == 0 {
		return nil, 0, false, nil
	}
	after, afterArgs := sn.anchors[k-1].condition("b")
	skip := offset - k*s.snap.step
	rows, err = s.queryUserRows(ctx, s.db, s.pageSQL(cond+after, "b.created, b.id", skip), true,
		s.pageArgs(append(slices.Clone(args), afterArgs...), count, skip)...)
	return rows, sn.totalNow(c), true, err
}

// snapshot returns a snapshot fit for totals (any that is recent enough) or, with forPages, for seeking
// index pages, taking it again if needed, with user_counts as read now.
func (s *Store) snapshot(ctx context.Context, cond string, args []any, forPages bool) (*listSnapshot, bookkeeping.Counts, error) {
	asked := s.now()
	c, err := bookkeeping.ReadCounts(ctx, s.db, s.t)
	if err != nil {
		return nil, c, err
	}
	s.snap.mu.Lock()
	sn := s.snap.cur
	s.snap.mu.Unlock()
	if sn != nil {
		fit := !forPages
		if forPages {
			if fit, err = s.unmoved(ctx, sn, c, cond, args); err != nil {
				return nil, c, err
			}
		}
		if fit {
			if asked.Sub(sn.at) >= s.snap.maxAge {
				s.refreshLater(cond, args)
			}
			return sn, c, nil
		}
	}
	// One pass at a time: requests that wait here take the snapshot the pass before them made, when it
	// began after they asked.
	s.snap.mu.Lock()
	defer s.snap.mu.Unlock()
	if cur := s.snap.cur; cur != nil && cur != sn && !cur.at.Before(asked) {
		return cur, cur.counts, nil
	}
	// The pass is not cut short with the request that asked (a first pass at 1,000,000 users can take
	// longer than the request timeout): the requests after it use what it finds.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), snapshotTimeout)
	defer cancel()
	if sn, err = s.takeSnapshot(pctx, cond, args); err != nil {
		return nil, c, err
	}
	s.keepSnapshot(sn)
	return sn, sn.counts, nil
}

// snapshotTimeout bounds one pass over the list.
const snapshotTimeout = 10 * time.Minute

// keepSnapshot makes sn the current snapshot unless a later one is already; the caller holds snap.mu.
func (s *Store) keepSnapshot(sn *listSnapshot) {
	if cur := s.snap.cur; cur == nil || !sn.at.Before(cur.at) {
		s.snap.cur = sn
	}
	s.snap.passes++
}

// refreshLater takes the snapshot again in the background, unless a pass is already under way.
func (s *Store) refreshLater(cond string, args []any) {
	s.snap.mu.Lock()
	defer s.snap.mu.Unlock()
	if s.snap.refreshing {
		return
	}
	s.snap.refreshing = true
	s.snap.refreshes.Add(1)
	go func() {
		defer s.snap.refreshes.Done()
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		defer cancel()
		sn, err := s.takeSnapshot(ctx, cond, args)
		s.snap.mu.Lock()
		defer s.snap.mu.Unlock()
		s.snap.refreshing = false
		if err != nil {
			s.log.Warn("taking the users list snapshot again failed; the old one is served", "err", err)
			return
		}
		s.keepSnapshot(sn)
	}()
}

// unmoved tells whether every user at or before sn's last key is where sn saw it, user_counts reading c:
// no user was deleted since (every change added one), and every user added sorts after the last key.
func (s *Store) unmoved(ctx context.Context, sn *listSnapshot, c bookkeeping.Counts, cond string, args []any) (bool, error) {
	added := c.Live - sn.counts.Live
	if c.Changes-sn.counts.Changes != added {
		return false, nil
	}
	if added == 0 {
		return true, nil
	}
	after, afterArgs := sn.last.condition("b")
	var n int64
	if err := s.db.GetContext(ctx, &n, s.countSQL(cond+after), append(slices.Clone(args), afterArgs...)...); err != nil {
		return false, err
	}
	return n == added, nil
}

// takeSnapshot makes the snapshot in one pass over the list's keys, in one read view with user_counts
// (REPEATABLE READ), so that the counts read later tell exactly what changed since the pass.
func (s *Store) takeSnapshot(ctx context.Context, cond string, args []any) (*listSnapshot, error) {
	sn := &listSnapshot{at: s.now()}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	if sn.counts, err = bookkeeping.ReadCounts(ctx, tx, s.t); err != nil {
		return nil, err
	}
	// In the order of the created index (created, then the primary key id): without the hint the server
	// reads the whole table, documents and all, and sorts it, half again as slow at 1,000,000 users.
	rows, err := tx.QueryContext(ctx, "SELECT b.created, b.id FROM "+s.bookTable()+" b FORCE INDEX (created)"+s.appJoin+" "+cond+
		" ORDER BY b.created, b.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k keyset
		if err := rows.Scan(&k.created, &k.id); err != nil {
			return nil, err
		}
		sn.total++
		if sn.total%s.snap.step == 0 {
			sn.anchors = append(sn.anchors, k)
		}
		sn.last = k
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return sn, tx.Commit()
}

// unfiltered tells whether q lists every user, which the snapshot serves.
func unfiltered(q scim.ListQuery) bool { return q.Filter == nil }
