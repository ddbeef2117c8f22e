package app_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/internal/app"
	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// appTablesDump is testfix.Dump without scimbridge's own tables (scim_*): every row of the app's.
func appTablesDump(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	var keep []string
	for _, part := range strings.Split(testfix.Dump(t, db), "== ") {
		if !strings.HasPrefix(part, "scim_") {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, "== ")
}

// Shadow mode and go-live on Redmine's schema, where one table holds users and mirrored groups, emails are
// a list table and admin is a flag: no byte of any app table changes in shadow mode, and go-live writes
// the user, her addresses, the mirrored groups with their members and the admin flag.
func TestShadowAndGoLiveOnRedmine(t *testing.T) {
	schema, err := os.ReadFile("../../examples/redmine/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	dsn := testdb.New(t, string(schema))
	cfg, err := config.Load("../../examples/redmine/scimbridge.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Mode = config.ModeShadow
	db := testfix.Open(t, dsn, 2)
	before := appTablesDump(t, db)
	o := shadowOptions(t, dsn)
	sh := start(t, cfg, o)
	code, dana := sh.do(t, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dana@example.com",
		"name":{"givenName":"Dana","familyName":"Diaz"},"emails":[{"value":"dana@example.com","primary":true},{"value":"dana@home.example"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("POST dana: %d %v", code, dana)
	}
	for _, g := range []string{"Redmine Admins", "Developers"} {
		if code, doc := sh.do(t, http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+g+
			`","members":[{"value":"`+dana["id"].(string)+`"}]}`); code != http.StatusCreated {
			t.Fatalf("POST group %s: %d %v", g, code, doc)
		}
	}
	if err := sh.stop(); err != nil {
		t.Fatal(err)
	}
	if after := appTablesDump(t, db); after != before {
		t.Fatalf("shadow mode changed the app's tables:\nbefore\n%s\nafter\n%s", before, after)
	}

	live := *cfg
	live.Server.Mode = config.ModeLive
	plan, err := app.PlanGoLive(context.Background(), db, &live, goLiveOptions(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	if s := plan.Summary; s.Create != 1 || s.Groups != 2 || s.Errors != 0 || s.RoleGrants != 1 {
		t.Fatalf("plan %+v: want dana created, made admin, and 2 groups", s)
	}
	if err := app.GoLive(context.Background(), db, &live, goLiveOptions(t, dsn), 1, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range []string{
		"SELECT CONCAT(type, ':', login, ':', admin, ':', status) FROM users WHERE login = 'dana@example.com'",
		"SELECT CONCAT(type, ':', lastname) FROM users WHERE type = 'Group' AND lastname IN ('Redmine Admins', 'Developers') ORDER BY lastname",
		"SELECT CONCAT(g.lastname, ':', u.login) FROM groups_users gu JOIN users g ON g.id = gu.group_id JOIN users u ON u.id = gu.user_id WHERE u.login = 'dana@example.com' ORDER BY g.lastname",
		"SELECT CONCAT(e.address, ':', e.is_default) FROM email_addresses e JOIN users u ON u.id = e.user_id WHERE u.login = 'dana@example.com' ORDER BY e.address",
	} {
		var rows []string
		if err := db.Select(&rows, q); err != nil {
			t.Fatal(err)
		}
		got = append(got, rows...)
	}
	want := []string{"User:dana@example.com:1:1", "Group:Developers", "Group:Redmine Admins", "Developers:dana@example.com",
		"Redmine Admins:dana@example.com", "dana@example.com:1", "dana@home.example:0"}
	if !slices.Equal(got, want) {
		t.Fatalf("after go-live:\n%v\nwant\n%v", got, want)
	}
}
