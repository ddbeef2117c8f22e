package mysql

// ScanDocuments makes s's filters read every user's document instead of the values table (on) or use
// the table again (off), so that tests can compare the two.
func ScanDocuments(s *Store, on bool) { s.scanDocs = on }

// SnapshotStep makes s's list snapshot keep every n-th key instead of every 1,000th, so that tests seek
// index pages on tables of a few dozen users; it drops the snapshot s has.
func SnapshotStep(s *Store, n int) {
	s.snap.mu.Lock()
	defer s.snap.mu.Unlock()
	s.snap.step, s.snap.cur = n, nil
}

// SnapshotPasses is how many times s took its list snapshot (one pass over the list's keys each).
func SnapshotPasses(s *Store) int {
	s.snap.mu.Lock()
	defer s.snap.mu.Unlock()
	return s.snap.passes
}

// WaitSnapshotRefresh waits for s's background passes over the list (see refreshLater) to end.
func WaitSnapshotRefresh(s *Store) { s.snap.refreshes.Wait() }

// ReadBackWrites makes s's creates and updates read the user back with a SELECT, as on a server without
// INSERT ... RETURNING or on a table whose rows a write cannot know (updated_row.go), so that tests can
// compare the two.
func ReadBackWrites(s *Store) { s.readBack = true }

// SQLIdentity makes s's lists filtered by one identity compare it in SQL (identityMatch) rather than
// keep the collation's matches that scim.SameIdentity finds the identity (identityPage), so that tests
// can compare the two.
func SQLIdentity(s *Store) { s.sqlIdentity = true }
