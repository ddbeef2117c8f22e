package demo_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/demo"
)

// -walkthrough-shadow serves the first sync in shadow mode without changing the app's table (the
// walkthrough itself fails otherwise), prints the plan, goes live, and the app's table then holds what
// the plan said: alice renamed, bob reactivated, carol created with the admin role.
func TestShadowWalkthrough(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := demo.Main(context.Background(), []string{"-walkthrough-shadow"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"users: 2 to adopt, 1 to create, 0 to update, 0 to deactivate, 1 to reactivate",
		"app rows: 2 existing to change (keys 1, 2), 1 to insert",
		`column last_name: "Anderson" -> "Archer"`,
		`adopt, reactivate      User "bob@example.com"`,
		"roles granted: admin",
		"Shadow walkthrough done",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the shadow walkthrough did not print %q:\n%s", want, text)
		}
	}
	_, live, ok := strings.Cut(text, "after go-live")
	if !ok {
		t.Fatalf("no table after go-live:\n%s", text)
	}
	for _, row := range []string{`alice@example\.com\s+Alice\s+Archer\s+Alice Archer\s+1 active`, `bob@example\.com\s+Bob\s+Brown\s+Bob Brown\s+1 active`,
		`carol@example\.com\s+Carol\s+Cole\s+Carol Cole\s+1 active\s.*\sadmin`} {
		if !regexp.MustCompile(row).MatchString(live) {
			t.Errorf("after go-live the app's table lacks %s:\n%s", row, live)
		}
	}
	_, shadow, _ := strings.Cut(text, "shadow mode wrote none of it")
	shadow, _, _ = strings.Cut(shadow, "2. `scimbridge plan`")
	if strings.Contains(shadow, "carol@") || !regexp.MustCompile(`bob@example\.com\s+Bob\s+Brown\s+Bob Brown\s+3 suspended`).MatchString(shadow) {
		t.Errorf("the app's table changed in shadow mode:\n%s", shadow)
	}
}
