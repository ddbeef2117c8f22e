package mysql

import "sync"

// onceLog remembers which things were already logged, so that a condition seen on every read of a user is
// logged once per user rather than once per request. It forgets everything past maxOnceLog entries: a
// second line after that is better than unbounded memory.
type onceLog struct {
	mu   sync.Mutex
	seen map[string]bool
}

const maxOnceLog = 10000

// first reports whether key is seen for the first time.
func (o *onceLog) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[key] {
		return false
	}
	if o.seen == nil || len(o.seen) >= maxOnceLog {
		o.seen = map[string]bool{}
	}
	o.seen[key] = true
	return true
}
