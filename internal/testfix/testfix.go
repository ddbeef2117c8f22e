// Package testfix is the set-up that the tests of several packages share, one helper per job: a fresh
// database with a schema and scimbridge's bookkeeping migrated (DB), a compiled mapping from TOML (Users,
// Roles, Groups), a store for a mapping on such a database (Store), a quiet logger (Log) and a clock that
// tests move by hand (Clock).
//
// It imports adapters/mysql, so package mysql's own internal tests cannot use it (their external
// mysql_test package can). It fails the test, rather than returning errors: it is for tests only.
package testfix

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/mapping"
)

// Prefix is the bookkeeping table prefix the tests use unless they say otherwise.
const Prefix = "scim_"

// DB creates a fresh database (internal/testdb) with schema run in it, migrates scimbridge's bookkeeping
// with prefix ("" for Prefix) and returns its DSN and a pool of conns connections, closed when the test
// ends.
func DB(t testing.TB, conns int, prefix string, schema ...string) (dsn string, db *sqlx.DB) {
	t.Helper()
	if prefix == "" {
		prefix = Prefix
	}
	dsn = testdb.New(t, schema...)
	db = Open(t, dsn, conns)
	if _, err := mysql.Migrate(context.Background(), db, prefix); err != nil {
		t.Fatal(err)
	}
	return dsn, db
}

// Open opens dsn with mysql.Open and a pool of conns connections, closed when the test ends.
func Open(t testing.TB, dsn string, conns int) *sqlx.DB {
	t.Helper()
	db, err := mysql.Open(dsn, conns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Users compiles a [users] mapping given as TOML (the section's body, as internal/legacyapp.UsersTOML).
func Users(t testing.TB, usersTOML string) *mapping.Users {
	t.Helper()
	var cfg mapping.UsersConfig
	if _, err := toml.Decode(usersTOML, &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Roles compiles a [roles] section's body given as TOML; "" is no role mapping (nil).
func Roles(t testing.TB, rolesTOML string) *mapping.Roles {
	t.Helper()
	if rolesTOML == "" {
		return nil
	}
	var cfg mapping.RolesConfig
	if _, err := toml.Decode(rolesTOML, &cfg); err != nil {
		t.Fatal(err)
	}
	roles, err := mapping.CompileRoles(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return roles
}

// Groups compiles a [groups] section's body given as TOML.
func Groups(t testing.TB, groupsTOML string) *mapping.Groups {
	t.Helper()
	var cfg mapping.GroupsConfig
	if _, err := toml.Decode(groupsTOML, &cfg); err != nil {
		t.Fatal(err)
	}
	groups, err := mapping.CompileGroups(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

// Store is a fresh, migrated database with schema (a pool of conns connections) and a store on it for
// the [users] mapping usersTOML, with options o (o.Prefix "" is Prefix).
func Store(t testing.TB, conns int, schema, usersTOML string, o mysql.Options) (*mysql.Store, *sqlx.DB, string) {
	t.Helper()
	dsn, db := DB(t, conns, o.Prefix, schema)
	return mysql.New(db, Users(t, usersTOML), o), db, dsn
}

// Log is a logger that writes errors only, to the test's output.
func Log(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}

// Clock is a clock that moves only when a test advances it; safe for concurrent use. Pass its Now where
// code takes a clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a Clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }
