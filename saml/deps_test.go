package saml

import (
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// goxmldsig before v1.6.1 lets a forged XML signature pass (CVE-2026-33487); crewjam/saml v0.5.1 asks for
// v1.4.0 only, so go.mod must require the fixed version itself. This fails if the version go.mod requires,
// or the one the build resolves, falls back below it.
const minGoxmldsig = "v1.6.1"

func TestGoxmldsigIsPatched(t *testing.T) {
	// go.mod lists every module the build uses (Go >= 1.17), so its line is the version resolved.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/russellhaering/goxmldsig\s+(v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatalf("go.mod does not require github.com/russellhaering/goxmldsig (at least %s) itself", minGoxmldsig)
	}
	if semverLess(string(m[1]), minGoxmldsig) {
		t.Errorf("go.mod requires goxmldsig %s, older than %s (CVE-2026-33487): go get github.com/russellhaering/goxmldsig@%s", m[1], minGoxmldsig, minGoxmldsig)
	}

	// The version linked into this binary, where the toolchain records it (test binaries may not).
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path != "github.com/russellhaering/goxmldsig" {
				continue
			}
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			if semverLess(v, minGoxmldsig) {
				t.Errorf("linked goxmldsig %s is older than %s", v, minGoxmldsig)
			}
		}
	}

	// And the version the go command resolves, when it is at hand (it is under go test).
	if goBin, err := exec.LookPath("go"); err == nil {
		cmd := exec.Command(goBin, "list", "-m", "-f", "{{.Version}}", "github.com/russellhaering/goxmldsig")
		cmd.Dir = ".."
		out, err := cmd.Output()
		if err != nil {
			t.Logf("go list -m: %v (skipped)", err)
		} else if v := strings.TrimSpace(string(out)); semverLess(v, minGoxmldsig) {
			t.Errorf("go list -m resolves goxmldsig %s, older than %s", v, minGoxmldsig)
		}
	}
}

// semverLess compares vMAJOR.MINOR.PATCH versions; a pre-release counts as below its release.
func semverLess(a, b string) bool {
	pa, pb := semverParts(a), semverParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return strings.Contains(a, "-") && !strings.Contains(b, "-")
}

func semverParts(v string) [3]int {
	var out [3]int
	core, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	for i, p := range strings.SplitN(core, ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

func TestSemverLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"v1.4.0", "v1.6.1", true}, {"v1.6.0", "v1.6.1", true}, {"v1.6.1", "v1.6.1", false},
		{"v1.10.0", "v1.6.1", false}, {"v2.0.0", "v1.6.1", false}, {"v1.6.1-rc.1", "v1.6.1", true},
	} {
		if got := semverLess(tc.a, tc.b); got != tc.less {
			t.Errorf("semverLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
