package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql"
	"github.com/scimbridge/scimbridge/adapters/mysql/audit"
	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/reqinfo"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
	"github.com/scimbridge/scimbridge/scim"
)

// `scimbridge audit` lists the rows of the changes the store made, by user, by actor, readably and as JSON.
func TestAuditCommandListsChanges(t *testing.T) {
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
	s := mysql.New(testfix.Open(t, dsn, 2), cfg.UsersMapping(), mysql.Options{Roles: cfg.RolesMapping()})
	okta := reqinfo.With(context.Background(), reqinfo.Info{ID: "req-okta-1", Actor: "okta"})
	ann, err := s.CreateUser(okta, scim.Resource{"userName": "ann@example.com", "name": map[string]any{"givenName": "Ann"}, "active": true})
	if err != nil {
		t.Fatal(err)
	}
	entra := reqinfo.With(context.Background(), reqinfo.Info{ID: "req-entra-1", Actor: "entra"})
	if _, err := s.CreateUser(entra, scim.Resource{"userName": "bob@example.com", "active": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(entra, ann["id"].(string), func(cur scim.Resource) (scim.Resource, error) {
		cur["name"] = map[string]any{"givenName": "Anne"}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := c.Run(context.Background(), []string{"audit", "--config", path, "--user", "ANN@example.com"}); code != 0 {
		t.Fatalf("audit: %d\n%s", code, out)
	}
	text := out.String()
	for _, want := range []string{`okta  user.created User "ann@example.com" ` + ann["id"].(string), "request req-okta-1",
		`column first_name: NULL -> "Ann"`, `entra  user.updated User "ann@example.com"`, `column first_name: "Ann" -> "Anne"`,
		`column password_hash: NULL -> "[redacted]"`} {
		if !strings.Contains(text, want) {
			t.Errorf("audit output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "bob@") {
		t.Errorf("--user ann shows bob:\n%s", text)
	}

	out.Reset()
	if code := c.Run(context.Background(), []string{"audit", "--config", path, "--actor", "entra", "--since", "1h", "--json"}); code != 0 {
		t.Fatalf("audit --json: %d\n%s", code, out)
	}
	var recs []audit.Record
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		recs = append(recs, r)
	}
	if len(recs) < 2 || recs[0].Name != "bob@example.com" || recs[len(recs)-1].Operation != "user.updated" {
		t.Fatalf("--actor entra: %+v", recs)
	}
	for _, r := range recs {
		if r.Actor != "entra" {
			t.Errorf("--actor entra shows %q", r.Actor)
		}
	}
	out.Reset()
	if code := c.Run(context.Background(), []string{"audit", "--config", path, "--since", "yesterday"}); code != 2 {
		t.Errorf("a bad --since: exit %d\n%s", code, out)
	}
}
