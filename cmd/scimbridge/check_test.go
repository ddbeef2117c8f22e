package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

// account creates a real database account on the test server, with grants (each "PRIVS ON {db}.*" or
// "PRIVS ON {db}.`table`"), dropped when the test ends; it returns the account's DSN for the database.
func account(t *testing.T, dsn string, grants ...string) string {
	t.Helper()
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sqlx.Open("mysql", testdb.ServerDSNFor(""))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	user := "sb_chk_" + hex.EncodeToString(b)
	for _, host := range []string{"%", "localhost"} {
		acct := "'" + user + "'@'" + host + "'"
		t.Cleanup(func() { _, _ = admin.Exec("DROP USER IF EXISTS " + acct) })
		stmts := []string{"CREATE USER " + acct + " IDENTIFIED BY 'pw-" + user + "'"}
		for _, g := range grants {
			stmts = append(stmts, "GRANT "+strings.ReplaceAll(g, "{db}", "`"+cfg.DBName+"`")+" TO "+acct)
		}
		for _, q := range stmts {
			if _, err := admin.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	cfg.User, cfg.Passwd = user, "pw-"+user
	return cfg.FormatDSN()
}

// withSections is the example configuration with TOML sections appended.
func withSections(t *testing.T, sections string) string {
	t.Helper()
	path := exampleConfig(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, "\n"+sections+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCombined runs one command with env and returns its exit code and output.
func runCombined(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	c, out := cli(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := c.Run(ctx, args)
	return code, out.String()
}

// Each case where check said "ok" and serve then failed: check now fails too, saying what to fix, and
// serve fails as check predicted.
func TestCheckFailsWhereServeWould(t *testing.T) {
	t.Run("webhook secret unset", func(t *testing.T) {
		dsn := testdb.New(t, exampleSchema(t))
		path := withSections(t, "[[webhooks]]\nname = \"app\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_env = \"APP_HOOK_SECRET\"")
		env := map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}
		code, out := runCombined(t, env, "check", "--config", path)
		if code != 1 || !strings.Contains(out, `PROBLEM: webhook "app": no signing secret: $APP_HOOK_SECRET is empty or not set`) {
			t.Fatalf("check: exit %d\n%s", code, out)
		}
		if code, out := runCombined(t, env, "serve", "--config", path); code != 1 || !strings.Contains(out, "APP_HOOK_SECRET") {
			t.Fatalf("serve: exit %d\n%s", code, out)
		}
		env["APP_HOOK_SECRET"] = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		if code, out := runCombined(t, env, "check", "--config", path); code != 0 {
			t.Fatalf("check with the secret: exit %d\n%s", code, out)
		}
	})

	t.Run("gate certificate and key missing, metadata unusable", func(t *testing.T) {
		dsn := testdb.New(t, exampleSchema(t))
		dir := t.TempDir()
		path := withSections(t, `[gate]
listen = "127.0.0.1:9"
upstream = "http://127.0.0.1:3000"
public_url = "https://app.example.com"
idp_metadata_file = "`+filepath.Join(dir, "idp.xml")+`"
sp_cert_file = "`+filepath.Join(dir, "sp.crt")+`"
sp_key_file = "`+filepath.Join(dir, "sp.key")+`"`)
		if err := os.WriteFile(filepath.Join(dir, "idp.xml"), []byte("<html>not metadata</html>"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}
		code, out := runCombined(t, env, "check", "--config", path)
		if code != 1 || !strings.Contains(out, "PROBLEM: gate: gate.sp_cert_file: open "+filepath.Join(dir, "sp.crt")) ||
			!strings.Contains(out, "gate.sp_key_file: open "+filepath.Join(dir, "sp.key")) ||
			!strings.Contains(out, "gate.idp_metadata_file: "+filepath.Join(dir, "idp.xml")+": IdP metadata") {
			t.Fatalf("check: exit %d\n%s", code, out)
		}
		if code, out := runCombined(t, env, "serve", "--config", path); code != 1 || !strings.Contains(out, "sp_cert_file") {
			t.Fatalf("serve: exit %d\n%s", code, out)
		}
	})

	t.Run("SELECT-only account", func(t *testing.T) {
		dsn := testdb.New(t, exampleSchema(t))
		if code, out := runCombined(t, map[string]string{"SCIMBRIDGE_DSN": dsn}, "migrate", "--config", exampleConfig(t)); code != 0 {
			t.Fatalf("migrate: %d\n%s", code, out)
		}
		ro := account(t, dsn, "SELECT ON {db}.*")
		code, out := runCombined(t, map[string]string{"SCIMBRIDGE_DSN": ro, "SCIMBRIDGE_TOKEN": token}, "check", "--config", exampleConfig(t))
		if code != 1 || !strings.Contains(out, "which serve connects as, lacks INSERT, UPDATE, DELETE on `scim_audit`") ||
			!strings.Contains(out, "lacks INSERT, UPDATE on `users`") || !strings.Contains(out, "Fix: GRANT SELECT, INSERT, UPDATE, DELETE ON `") {
			t.Fatalf("check: exit %d\n%s", code, out)
		}
	})

	t.Run("DML without CREATE while migrations are not current", func(t *testing.T) {
		dsn := testdb.New(t, exampleSchema(t))
		dml := account(t, dsn, "SELECT, INSERT, UPDATE, DELETE ON {db}.*")
		env := map[string]string{"SCIMBRIDGE_DSN": dml, "SCIMBRIDGE_TOKEN": token}
		code, out := runCombined(t, env, "check", "--config", exampleConfig(t))
		if code != 1 || !strings.Contains(out, "migrations are not current (the database is at version 0") ||
			!strings.Contains(out, "lacks CREATE, ALTER, INDEX on") || !strings.Contains(out, "run `scimbridge migrate` once with an account") {
			t.Fatalf("check: exit %d\n%s", code, out)
		}
		if code, out := runCombined(t, env, "serve", "--config", exampleConfig(t)); code != 1 || !strings.Contains(out, "CREATE command denied") {
			t.Fatalf("serve: exit %d\n%s", code, out)
		}
	})
}

// The usual split: a DDL account runs migrate, and serve runs with an account that may only read and
// write rows. check passes for that account (warning that it cannot migrate), and serve starts with it
// and provisions, its change audited.
func TestDMLOnlyAccountAfterMigrate(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	ddl := account(t, dsn, "CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE ON {db}.*")
	dml := account(t, dsn, "SELECT, INSERT, UPDATE, DELETE ON {db}.*")
	path := exampleConfig(t)
	if code, out := runCombined(t, map[string]string{"SCIMBRIDGE_DSN": ddl}, "migrate", "--config", path); code != 0 {
		t.Fatalf("migrate with the DDL account: %d\n%s", code, out)
	}
	env := map[string]string{"SCIMBRIDGE_DSN": dml, "SCIMBRIDGE_TOKEN": token}
	code, out := runCombined(t, env, "check", "--config", path)
	if code != 0 || !strings.Contains(out, "may not change the schema (it lacks CREATE, ALTER, INDEX): fine for serve while migrations are current") {
		t.Fatalf("check with the DML-only account: exit %d\n%s", code, out)
	}
	base, serveOut, stop := startServe(t, env, path)
	if status, body := postUser(t, base, `{"userName":"dana@example.com","name":{"givenName":"Dana"}}`); status != http.StatusCreated {
		t.Fatalf("POST /Users as the DML-only account: %d %s", status, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, serveOut)
	}
	root := testdb.ServerDSNFor(strings.TrimPrefix(dsn[strings.LastIndex(dsn, "/"):], "/"))
	db, err := sqlx.Open("mysql", root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM scim_audit WHERE operation = 'user.created' AND name = 'dana@example.com'"); err != nil || n != 1 {
		t.Fatalf("audit rows of the create: %d, %v", n, err)
	}
}
