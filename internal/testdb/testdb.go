// Package testdb gives each test its own empty MariaDB/MySQL database on a real server, dropped when the
// test ends. The server is SCIMBRIDGE_TEST_DSN (default root@tcp(127.0.0.1:3306)/); a test fails, rather
// than skips, when it cannot be reached, so CI never passes without having talked to a database.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/internal/sqlscript"
)

// ServerDSN is the DSN of the test server, without a database name.
func ServerDSN() string {
	if dsn := os.Getenv("SCIMBRIDGE_TEST_DSN"); dsn != "" {
		return dsn
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// New creates a fresh database and returns its DSN. Statements in schema (";"-terminated lines, as in
// examples/legacy-app/schema.sql) are run in it first.
func New(t testing.TB, schema ...string) string {
	t.Helper()
	cfg, err := mysqldriver.ParseDSN(ServerDSN())
	if err != nil {
		t.Fatalf("SCIMBRIDGE_TEST_DSN: %v", err)
	}
	cfg.MultiStatements = false
	admin, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		t.Fatalf("test database server %s unreachable (start MariaDB, or set SCIMBRIDGE_TEST_DSN): %v", cfg.Addr, err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "scimbridge_test_" + hex.EncodeToString(buf)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		drop, err := sqlx.Open("mysql", ServerDSNFor(""))
		if err == nil {
			_, _ = drop.Exec("DROP DATABASE IF EXISTS `" + name + "`")
			drop.Close()
		}
	})
	dsn := ServerDSNFor(name)
	if len(schema) > 0 {
		db, err := sqlx.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range schema {
			Exec(t, db, s)
		}
	}
	return dsn
}

// ServerDSNFor is the test server's DSN with the given database name.
func ServerDSNFor(name string) string {
	cfg, _ := mysqldriver.ParseDSN(ServerDSN())
	cfg.DBName = name
	return cfg.FormatDSN()
}

// Exec runs a script of ";"-terminated statements, one by one.
func Exec(t testing.TB, db *sqlx.DB, script string) {
	t.Helper()
	for _, stmt := range Split(script) {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
}

// Split cuts a script into statements (see sqlscript.Split).
func Split(script string) []string { return sqlscript.Split(script) }
