package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// `scimbridge drift` reports a hand-edited column and the unmanaged active account, `--repair` writes
// the column back, and `scimbridge access` lists every account with its roles and what granted them.
func TestDriftAndAccessCommands(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	path := exampleConfig(t)
	c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": dsn})
	if code := c.Run(context.Background(), []string{"migrate", "--config", path}); code != 0 {
		t.Fatalf("migrate: %d\n%s", code, out)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	db := testfix.Open(t, dsn, 2)
	s := app.NewStore(db, cfg, app.Options{})
	ctx := context.Background()
	ann, err := s.CreateUser(ctx, scim.Resource{"userName": "ann@example.com", "name": map[string]any{"familyName": "Smith"}, "active": true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGroup(ctx, scim.Resource{"displayName": "Support"}, []scim.Member{{Value: ann["id"].(string)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE users SET last_name = 'Jones' WHERE email = 'ann@example.com'"); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := c.Run(ctx, []string{"drift", "--config", path}); code != 0 {
		t.Fatalf("drift: %d\n%s", code, out)
	}
	for _, want := range []string{`user "ann@example.com" ` + ann["id"].(string), `column last_name (name.familyName): wrote "Smith", now "Jones"`,
		`unmanaged active account "alice@example.com"`, "roles support", "drift: column 1, row_gone 0, role_removed 0, role_added 0, unmanaged_active 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("drift output lacks %q:\n%s", want, out)
		}
	}

	out.Reset()
	if code := c.Run(ctx, []string{"drift", "--config", path, "--repair", "--json"}); code != 0 {
		t.Fatalf("drift --repair: %d\n%s", code, out)
	}
	var rep struct {
		mysql.DriftReport
		Repair mysql.RepairResult `json:"repair"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !slices.Equal(rep.Repair.Repaired, []string{ann["id"].(string)}) ||
		rep.Counts[mysql.DriftColumn] != 1 {
		t.Fatalf("drift --repair --json: %v\n%s", err, out)
	}
	var last string
	if err := db.Get(&last, "SELECT last_name FROM users WHERE email = 'ann@example.com'"); err != nil || last != "Smith" {
		t.Fatalf("last_name after repair: %q %v", last, err)
	}
	var actor string
	if err := db.Get(&actor, "SELECT actor FROM scim_audit ORDER BY id DESC LIMIT 1"); err != nil || actor != mysql.RepairActor {
		t.Fatalf("the repair's audit actor: %q %v", actor, err)
	}

	out.Reset()
	if code := c.Run(ctx, []string{"access", "--config", path, "--format", "csv"}); code != 0 {
		t.Fatalf("access: %d\n%s", code, out)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err, out.String())
	}
	want := [][]string{
		{"app_key", "scim_id", "userName", "active", "managed", "groups", "role", "store", "granted_by"},
		{"3", ann["id"].(string), "ann@example.com", "true", "true", "Support", "support", "join:user_roles", "group:Support"},
		{"1", "", "alice@example.com", "true", "false", "", "support", "join:user_roles", "hand"},
		{"2", "", "bob@example.com", "false", "false", "", "", "", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("access csv:\n%s", out)
	}
	for i := range want {
		if !slices.Equal(recs[i], want[i]) {
			t.Errorf("line %d: %q, want %q", i, recs[i], want[i])
		}
	}
	out.Reset()
	if code := c.Run(ctx, []string{"access", "--config", path, "--format", "json"}); code != 0 {
		t.Fatalf("access json: %d\n%s", code, out)
	}
	var entries []mysql.AccessEntry
	if err := json.Unmarshal(out.Bytes(), &entries); err != nil || len(entries) != 3 || entries[0].Roles[0].Sources[0] != "group:Support" {
		t.Fatalf("access json: %v\n%s", err, out)
	}
	out.Reset()
	if code := c.Run(ctx, []string{"access", "--config", path, "--format", "xml"}); code != 2 {
		t.Fatalf("--format xml: %d %s", code, out)
	}
}

// --help on drift, access and the breaker's subcommands prints their own flags.
func TestGuardCommandsHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"drift", "--help"}, []string{"Usage: scimbridge drift --config FILE [--json] [--repair]", "-repair", "-json"}},
		{[]string{"access", "-h"}, []string{"Usage: scimbridge access --config FILE [--format csv|json]", "-format"}},
		{[]string{"breaker", "release", "--help"}, []string{"Usage: scimbridge breaker release --config FILE", "-by"}},
		{[]string{"breaker", "help"}, []string{"scimbridge breaker status", "scimbridge breaker reject"}},
	} {
		code, out, errOut := run(t, nil, tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}
