package demo_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary must not link go-mysql-server (an engine without row locks) nor this package.
func TestProductionBinaryDoesNotLinkTheDemoEngine(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/scimbridge/scimbridge/cmd/scimbridge").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/scimbridge/scimbridge/adapters/mysql") {
		t.Fatalf("go list -deps printed no dependency of cmd/scimbridge that it must have:\n%s", out)
	}
	for _, p := range deps {
		if strings.Contains(p, "dolthub") || strings.HasPrefix(p, "github.com/scimbridge/scimbridge/internal/demo") {
			t.Errorf("cmd/scimbridge links %s", p)
		}
	}
	// The demo itself does, or this test would prove nothing about the check above.
	out, err = exec.Command(goTool, "list", "-deps", "github.com/scimbridge/scimbridge/cmd/scimbridge-demo").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/dolthub/go-mysql-server") {
		t.Error("cmd/scimbridge-demo does not list go-mysql-server among its dependencies")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
