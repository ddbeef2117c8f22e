package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/demo"
)

func start(t *testing.T, o demo.Options) *demo.Demo {
	t.Helper()
	d, err := demo.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func usersByEmail(t *testing.T, d *demo.Demo) (map[string]demo.AppUser, int) {
	t.Helper()
	users, err := d.AppUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]demo.AppUser{}
	for _, u := range users {
		m[u.Email] = u
	}
	return m, len(users)
}

// The walkthrough's steps, checked against the app's own table and the SCIM answers after each one.
func TestWalkthroughChangesTheAppTable(t *testing.T) {
	d := start(t, demo.Options{})
	before, n := usersByEmail(t, d)
	alice, ok := before["alice@example.com"]
	if !ok || n != 2 {
		t.Fatalf("seed rows: %d users, alice %v", n, ok)
	}
	var carolID string // SCIM id
	check := func(i int, s demo.Step, r demo.Response) error {
		users, n := usersByEmail(t, d)
		carol := users[demo.NewUser]
		switch i {
		case 0:
			carolID, _ = r.Body["id"].(string)
			if r.Status != 201 || carolID == "" {
				return fmt.Errorf("POST: %d, id %q", r.Status, carolID)
			}
			if n != 3 || carol.ID == 0 || carol.Status != 1 || carol.FirstName.String != "Carol" {
				return fmt.Errorf("after POST: %d rows, carol %+v; want a new row with status 1", n, carol)
			}
		case 1:
			a := users["alice@example.com"]
			if n != 3 || a.ID != alice.ID || a.LastName.String != "Anderson-Lee" || !a.CreatedAt.Equal(alice.CreatedAt) {
				return fmt.Errorf("after adopting alice: %d rows, alice %+v (was id %d); want the same row, updated", n, a, alice.ID)
			}
			if len(a.Roles) != 1 || a.Roles[0] != "support" {
				return fmt.Errorf("alice's roles %v, want [support]", a.Roles)
			}
			if id, _ := r.Body["id"].(string); id == "" || id == carolID {
				return fmt.Errorf("alice got SCIM id %q", id)
			}
		case 2:
			if carol.FirstName.String != "Caroline" || carol.Status != 1 {
				return fmt.Errorf("after PATCH givenName: carol %+v", carol)
			}
		case 3:
			if r.Status != 201 || len(carol.Roles) != 1 || carol.Roles[0] != "admin" {
				return fmt.Errorf("after pushing Admins with carol: %d, carol's roles %v; want [admin]", r.Status, carol.Roles)
			}
		case 4:
			if r.Body["displayName"] != "Support" || len(carol.Roles) != 1 || carol.Roles[0] != "support" {
				return fmt.Errorf("after renaming the group: %v, carol's roles %v; want [support]", r.Body["displayName"], carol.Roles)
			}
			if a := users["alice@example.com"]; len(a.Roles) != 1 || a.Roles[0] != "support" {
				return fmt.Errorf("alice's hand-given role changed: %v", a.Roles)
			}
		case 5:
			if carol.Status != 3 || r.Body["active"] != false {
				return fmt.Errorf("after deactivating: carol status %d, answer active=%v; want 3 and false", carol.Status, r.Body["active"])
			}
		case 6:
			res, _ := r.Body["Resources"].([]any)
			if r.Body["totalResults"] != float64(1) || len(res) != 1 || res[0].(map[string]any)["id"] != carolID {
				return fmt.Errorf("filter answer %v; want carol alone", r.Body)
			}
		case 7:
			if r.Status != 204 || n != 3 || carol.ID == 0 || carol.Status != 3 {
				return fmt.Errorf("after DELETE: %d, %d rows, carol %+v; want 204 and the row kept with status 3", r.Status, n, carol)
			}
		case 8:
			if r.Status != 404 || n != 3 || carol.Status != 3 {
				return fmt.Errorf("after GET of the deleted user: %d, %d rows, carol %+v", r.Status, n, carol)
			}
		}
		return nil
	}
	var out bytes.Buffer
	if err := d.Walkthrough(context.Background(), &out, check); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if strings.Count(out.String(), "The app's users table now:") != len(demo.Steps) {
		t.Errorf("the walkthrough did not print the app's rows after each step:\n%s", out.String())
	}
	checkWalkthroughGate(t, d, out.String(), carolID)
	checkWalkthroughWebhooks(t, d, out.String(), carolID)
}

func scimDo(t *testing.T, d *demo.Demo, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.SCIMURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.Token())
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The app page shows the rows with their roles and escapes what the IdP sent.
func TestAppPageEscapesAndShowsRoles(t *testing.T) {
	d := start(t, demo.Options{})
	if code, body := scimDo(t, d, "POST", "/Users",
		`{"userName":"mallory@example.com","name":{"givenName":"<script>alert(1)</script>","familyName":"O'Brien & Co"}}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	resp, err := http.Get(d.AppURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "O&#39;Brien &amp; Co", "alice@example.com", "support", "viewer",
		"3 suspended", "2014-03-12 09:15:00", "Webhooks received"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Error("the page contains an unescaped <script>")
	}
	if resp, err := http.Get(strings.TrimSuffix(d.AppURL(), "/") + "/nothing"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET /nothing: %d, want 404", resp.StatusCode)
		}
	}
}

// go-mysql-server's memory engine lets a commit undo another transaction's; the demo runs one at a time,
// so concurrent requests and page reloads lose nothing.
func TestConcurrentRequestsLoseNoWrites(t *testing.T) {
	d := start(t, demo.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	for range 3 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				if _, err := d.AppUsers(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	const n = 12
	var writers sync.WaitGroup
	codes := make([]int, n+1)
	for i := range n + 1 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			body := fmt.Sprintf(`{"userName":"u%d@example.com"}`, i)
			if i == n {
				// Another user with u0's userName: exactly one of the two may succeed. (The very same body
				// twice would be a retried create, answered 201 with the same user.)
				body = `{"userName":"u0@example.com","displayName":"Another u0"}`
			}
			codes[i], _ = scimDo(t, d, "POST", "/Users", body)
		}()
	}
	writers.Wait()
	cancel()
	readers.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		} else if c != 409 {
			t.Errorf("status %d", c)
		}
	}
	users, total := usersByEmail(t, d)
	if created != n || total != n+2 {
		t.Errorf("%d created (%v), %d app rows; want %d and %d", created, codes, total, n, n+2)
	}
	for i := range n {
		if _, ok := users[fmt.Sprintf("u%d@example.com", i)]; !ok {
			t.Errorf("u%d@example.com was lost", i)
		}
	}
}

// Errors that go-mysql-server words its own way still reach the IdP as MariaDB's would: 400, not 500.
func TestTooLongValueIsABadRequest(t *testing.T) {
	d := start(t, demo.Options{})
	code, body := scimDo(t, d, "POST", "/Users", `{"userName":"long@example.com","locale":"`+strings.Repeat("x", 40)+`"}`)
	if code != 400 || !strings.Contains(body, "locale") {
		t.Errorf("POST with a too long locale: %d %s; want 400 naming the column", code, body)
	}
}

// The curl commands printed for people work as printed (when bash and curl are there to run them).
func TestPrintedCurlCommandsWork(t *testing.T) {
	bash, err1 := exec.LookPath("bash")
	_, err2 := exec.LookPath("curl")
	if err1 != nil || err2 != nil {
		t.Skip("needs bash and curl")
	}
	d := start(t, demo.Options{})
	var script bytes.Buffer
	script.WriteString("set -e\n")
	demo.WriteCurl(&script, d.SCIMURL(), d.AppURL(), d.Token())
	cmd := exec.Command(bash, "-c", script.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"HTTP 201", "HTTP 200", "HTTP 204", "HTTP 404", `"totalResults":1`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	users, _ := usersByEmail(t, d)
	if c := users[demo.NewUser]; c.Status != 3 || c.FirstName.String != "Caroline" {
		t.Errorf("after the curl steps: %+v", c)
	}
}

// schema.sql and config.example.toml here are embedded copies; they must match the originals.
func TestEmbeddedCopiesAreCurrent(t *testing.T) {
	for copyName, orig := range map[string]string{
		"schema.sql":          filepath.Join("..", "examples", "legacy-app", "schema.sql"),
		"config.example.toml": filepath.Join("..", "config.example.toml"),
	} {
		a, err := os.ReadFile(copyName)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(orig)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("demo/%s differs from %s: run `go generate ./demo`", copyName, orig)
		}
	}
}
