package mysql

// ScanDocuments makes s's filters read every user's document instead of the values table (on) or use
// the table again (off), so that tests can compare the two.
func ScanDocuments(s *Store, on bool) { s.scanDocs = on }
