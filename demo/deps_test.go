package demo_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The production binary must not link go-mysql-server (an engine without row locks) nor this module, and
// scimbridge's own module must not even list them: the demo has its go.mod so that `go mod download`
// in the Dockerfile, vulnerability scanners and `go mod tidy` of scimbridge never see the engine.
func TestProductionBinaryDoesNotLinkTheDemoEngine(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// In scimbridge's module alone, as the Dockerfile builds it: without go.work, so that nothing of the
	// demo's module can take part.
	list := exec.Command(goTool, "list", "-deps", "./cmd/scimbridge")
	list.Dir, list.Env = root, append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", root, err, out)
	}
	deps := strings.Fields(string(out))
	if !contains(deps, "github.com/scimbridge/scimbridge/adapters/mysql") {
		t.Fatalf("go list -deps printed no dependency of cmd/scimbridge that it must have:\n%s", out)
	}
	for _, p := range deps {
		if strings.Contains(p, "dolthub") || strings.HasPrefix(p, "github.com/scimbridge/scimbridge/demo") {
			t.Errorf("cmd/scimbridge links %s", p)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("dolthub")) {
			t.Errorf("scimbridge's %s lists a dolthub module: the demo's dependencies belong in demo/go.mod (run go mod tidy in both)", f)
		}
	}
	// The demo itself does, or this test would prove nothing about the checks above.
	out, err = exec.Command(goTool, "list", "-deps", "github.com/scimbridge/scimbridge/demo/cmd/scimbridge-demo").CombinedOutput()
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
