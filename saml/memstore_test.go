package saml

import (
	"context"
	"sync"
	"time"
)

// memStore is a SessionStore and ReplayStore in memory for the tests that run the gate without a
// database (the MariaDB-backed *mysql.GateSessions is tested in store_test.go and sessions_test.go).
// Like the real one, it refuses to create a session for a user marked inactive.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]memSession
	used     map[string]time.Time
	inactive map[string]bool // user IDs
}

type memSession struct {
	userID, appKey, identity string
	expires                  time.Time
}

// NewMemStore is memStore for the saml_test package.
func NewMemStore() *memStore {
	return &memStore{sessions: map[string]memSession{}, used: map[string]time.Time{}, inactive: map[string]bool{}}
}

func (m *memStore) CreateSession(_ context.Context, key, userID, appKey, identity string, _, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inactive[userID] {
		return false, nil
	}
	m.sessions[key] = memSession{userID, appKey, identity, expires}
	return true, nil
}

func (m *memStore) LookupSession(_ context.Context, key string, now time.Time) (string, string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok || !now.Before(s.expires) {
		return "", "", "", nil
	}
	return s.userID, s.appKey, s.identity, nil
}

func (m *memStore) DeleteSession(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, key)
	return nil
}

func (m *memStore) DeleteUserSessions(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if s.userID == userID {
			delete(m.sessions, k)
		}
	}
	return nil
}

func (m *memStore) FirstUse(_ context.Context, key string, now, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.used[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.used[key] = until
	return true, nil
}

// Count is how many sessions are stored.
func (m *memStore) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}
