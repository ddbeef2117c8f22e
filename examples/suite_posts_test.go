package examples_test

import (
	"sync"
	"testing"
)

// POSTs of one userName in different letter cases, sent at once, make one app row: one is 201, the others
// 409, whether or not the app's login column has a unique index (WordPress's and Redmine's have none).
func suiteConcurrentPosts(t *testing.T, s *exampleSpec) {
	e := start(t, s.dir)
	table := e.cfg.UsersMapping().Table
	count := func() int { return len(e.rows("SELECT 1 FROM `" + table + "`")) }
	before := count()
	names := []string{"cat@example.com", "Cat@example.com", "CAT@example.com", "cat@Example.com", "cat@EXAMPLE.COM", "Cat@Example.Com"}
	statuses := make([]int, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { statuses[i] = e.do("POST", "/Users", s.user(n, "Cat", "Test", "", "")).Status })
	}
	wg.Wait()
	created := 0
	for i, st := range statuses {
		switch st {
		case 201:
			created++
		case 409:
		default:
			t.Errorf("POST %s: %d", names[i], st)
		}
	}
	if created != 1 || count() != before+1 {
		t.Errorf("%d POSTs answered 201 (%v) and the app has %d new rows; want 1 and 1", created, statuses, count()-before)
	}
}
