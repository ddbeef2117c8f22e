package main

import (
	"context"
	"strings"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/scimbridge/scimbridge/internal/testdb"
)

// A real account given the wrong password: serve and check exit 1 within seconds, naming access
// denied (MySQL error 1045), instead of retrying "database not reachable" forever.
func TestWrongPasswordFailsServeAndCheck(t *testing.T) {
	right := account(t, testdb.New(t, exampleSchema(t)), "ALL ON {db}.*")
	cfg, err := mysqldriver.ParseDSN(right)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "wrong-password"
	wrong := cfg.FormatDSN()

	// The account works with its password, so what the wrong one gets is only about the password.
	c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": right, "SCIMBRIDGE_TOKEN": token})
	if code := c.Run(context.Background(), []string{"check", "--config", exampleConfig(t)}); code != 0 {
		t.Fatalf("check with the right password: exit %d\n%s", code, out)
	}
	for _, cmd := range []string{"serve", "check"} {
		t.Run(cmd, func(t *testing.T) {
			c, out := cli(t, map[string]string{"SCIMBRIDGE_DSN": wrong, "SCIMBRIDGE_TOKEN": token})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			done := make(chan int, 1)
			go func() { done <- c.Run(ctx, []string{cmd, "--config", exampleConfig(t)}) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				cancel()
				<-done
				t.Fatalf("%s still running after 30s with a wrong password:\n%s", cmd, out)
			}
			msg := strings.ToLower(out.String())
			if code != 1 || !strings.Contains(msg, "access denied") || !strings.Contains(msg, "1045") {
				t.Errorf("%s: exit %d, want 1 and a message naming access denied (1045):\n%s", cmd, code, msg)
			}
			if strings.Contains(msg, "not reachable") || strings.Contains(msg, "wrong-password") {
				t.Errorf("%s: misleading message, or the password in the output:\n%s", cmd, msg)
			}
		})
	}
}
