package main

import (
	"context"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// `scimbridge reindex` makes a user written with plain SQL, values rows and all missing, filterable.
func TestReindexCommandIndexesBulkRows(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	path := exampleConfig(t)
	c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": dsn})
	if code := c.Run(context.Background(), []string{"migrate", "--config", path}); code != 0 {
		t.Fatalf("migrate: %d\n%s", code, out)
	}
	db := testfix.Open(t, dsn, 2)
	if _, err := db.Exec(`INSERT INTO scim_users (id, app_id, user_name, user_name_lc, active, version, created, last_modified, doc)
		VALUES ('bulk-1', 1, 'bulk', 'bulk', 1, 1, NOW(6), NOW(6), '{"emails":[{"value":"Bulk@Example.com"}]}')`); err != nil {
		t.Fatal(err)
	}
	if code := c.Run(context.Background(), []string{"reindex", "--config", path}); code != 0 {
		t.Fatalf("reindex: %d\n%s", code, out)
	}
	var got []string
	if err := db.Select(&got, "SELECT CONCAT(attr, '=', value_fold) FROM scim_user_values WHERE user_id = 'bulk-1'"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "emails.value=Bulk@Example.com" {
		t.Fatalf("values rows %v, want emails.value=Bulk@Example.com", got)
	}
	if !strings.Contains(out.String(), "values reindexed") || !strings.Contains(out.String(), "users=1") {
		t.Fatalf("output does not report the users reindexed:\n%s", out)
	}
}
