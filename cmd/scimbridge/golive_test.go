package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/internal/testdb"
	"github.com/scimbridge/scimbridge/internal/testfix"
)

// shadowConfig is the example configuration in shadow mode.
func shadowConfig(t *testing.T) string {
	t.Helper()
	path := exampleConfig(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "\nmode = \"live\"\n", "\nmode = \"shadow\"\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The shadow-to-live path through the commands: serve in shadow mode, `audit --shadow` shows what the
// requests did to the copies, `golive` is refused while the shadow serve runs, `plan` (text, --json,
// --user) says what going live does, `golive --batch 1` does it, and a live serve then serves it.
func TestShadowPlanGoLiveCommands(t *testing.T) {
	dsn := testdb.New(t, exampleSchema(t))
	env := map[string]string{"SCIMBRIDGE_DSN": dsn, "SCIMBRIDGE_TOKEN": token}
	path := shadowConfig(t)
	base, serveOut, stop := startServe(t, env, path)
	if code, body := postUser(t, base, `{"userName":"alice@example.com","name":{"givenName":"Alice","familyName":"Archer"}}`); code != http.StatusCreated {
		t.Fatalf("POST alice in shadow mode: %d %s", code, body)
	}
	code, body := postUser(t, base, `{"userName":"zoe@example.com","name":{"givenName":"Zoe","familyName":"Zed"}}`)
	if code != http.StatusCreated {
		t.Fatalf("POST zoe in shadow mode: %d %s", code, body)
	}
	var zoe struct{ ID string }
	_ = json.Unmarshal(body, &zoe)

	db := testfix.Open(t, dsn, 2)
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM users WHERE email = 'zoe@example.com' OR last_name = 'Archer'"); err != nil || n != 0 {
		t.Fatalf("shadow mode wrote the app's users table: %d rows (%v)", n, err)
	}

	if c, _, errOut := run(t, env, "golive", "--config", path); c != 1 || !strings.Contains(errOut, "a shadow-mode serve is running") {
		t.Fatalf("golive beside a shadow serve: exit %d, want 1\n%s", c, errOut)
	}
	c, out, errOut := run(t, env, "audit", "--config", path, "--shadow", "--user", "zoe@example.com")
	if c != 0 || !strings.Contains(out, `user.created User "zoe@example.com"`) || !strings.Contains(out, `column first_name: NULL -> "Zoe"`) {
		t.Fatalf("audit --shadow: %d\n%s%s", c, out, errOut)
	}
	if c, out, _ := run(t, env, "audit", "--config", path, "--user", "zoe@example.com"); c != 0 || !strings.Contains(out, "no audit rows match") {
		t.Fatalf("live audit trail after shadow writes: %d\n%s", c, out)
	}
	if code := stop(); code != 0 {
		t.Fatalf("shadow serve exited %d:\n%s", code, serveOut)
	}

	// A write the app would refuse is an error of the plan, and plan exits 1.
	if _, err := db.Exec(`CREATE TRIGGER no_zoe BEFORE INSERT ON users FOR EACH ROW
		IF NEW.email = 'zoe@example.com' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no zoe'; END IF`); err != nil {
		t.Fatal(err)
	}
	if c, out, _ := run(t, env, "plan", "--config", path); c != 1 || !strings.Contains(out, "conflicts and errors: 1") ||
		!strings.Contains(out, `ERROR                  User "zoe@example.com"`) {
		t.Fatalf("plan with a refused insert: exit %d\n%s", c, out)
	}
	if _, err := db.Exec("DROP TRIGGER no_zoe"); err != nil {
		t.Fatal(err)
	}
	c, out, errOut = run(t, env, "plan", "--config", path)
	for _, want := range []string{"users: 1 to adopt, 1 to create", "app rows: 1 existing to change (keys 1), 1 to insert", `adopt                  User "alice@example.com"`, `column last_name: "Anderson" -> "Archer"`,
		`create                 User "zoe@example.com" ` + zoe.ID + "  new row"} {
		if c != 0 || !strings.Contains(out, want) {
			t.Fatalf("plan lacks %q: exit %d\n%s%s", want, c, out, errOut)
		}
	}
	c, out, _ = run(t, env, "plan", "--config", path, "--json", "--user", "ZOE@example.com")
	var p struct {
		Summary struct{ Adopt, Create int }
		Users   []struct {
			ID       string
			UserName string
			Actions  []string
		}
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || c != 0 {
		t.Fatalf("plan --json: exit %d, %v\n%s", c, err, out)
	}
	if p.Summary.Adopt != 1 || p.Summary.Create != 1 || len(p.Users) != 1 || p.Users[0].ID != zoe.ID || strings.Join(p.Users[0].Actions, ",") != "create" {
		t.Fatalf("plan --json --user zoe: %+v", p)
	}

	if c, out, errOut := run(t, env, "golive", "--config", path, "--batch", "1"); c != 0 || !strings.Contains(out, "live: the app's tables hold the shadow state") {
		t.Fatalf("golive: exit %d\n%s%s", c, out, errOut)
	}
	var rows []string
	if err := db.Select(&rows, "SELECT CONCAT(email, ':', last_name, ':', source) FROM users WHERE email IN ('alice@example.com', 'zoe@example.com') ORDER BY email"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows, " ") != "alice@example.com:Archer:signup zoe@example.com:Zed:scim" {
		t.Fatalf("app rows after golive: %v", rows)
	}
	if c, out, _ := run(t, env, "audit", "--config", path, "--actor", "golive"); c != 0 || strings.Count(out, "user.created") != 2 {
		t.Fatalf("live audit trail after golive: %d\n%s", c, out)
	}
	if c, _, out := run(t, env, "plan", "--config", path); c != 1 || !strings.Contains(out, "no shadow-mode state") {
		t.Fatalf("plan after golive: exit %d\n%s", c, out)
	}

	// The live serve serves zoe under the id shadow mode gave her.
	live := exampleConfig(t)
	base, serveOut, stop = startServe(t, env, live)
	req, _ := http.NewRequest(http.MethodGet, base+"/Users/"+zoe.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET zoe after golive: %d", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Fatalf("live serve exited %d:\n%s", code, serveOut)
	}
}
