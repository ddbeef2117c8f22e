package scim_test

import (
	"strings"
	"testing"

	"github.com/scimbridge/scimbridge/scim"
)

func TestSameIdentity(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"alice@example.com", "Alice@Example.COM", true},
		{"ÉLODIE@example.com", "élodie@example.com", true}, // accents kept, case folded
		{"straße", "STRASSE", false},                       // ß is not ss
		{"straße", "STRAẞE", true},                         // but it is the capital ẞ
		{"alicé", "alice", false},
		{"ａlice", "alice", false}, // full width
		{"alice＠x", "alice@x", false},
		{"VİCTIM", "victim", false}, // dotted capital I is not I
		{"vıctim", "victim", false}, // dotless small i is not i
		{"bob ", "bob", false},
		{"ﬁle", "file", false},          // compatibility ligature
		{"Kelvin", "\u212aelvin", true}, // the Kelvin sign folds to k (Unicode case folding)
		{"é", "e\u0301", false},         // different code points
	} {
		if got := scim.SameIdentity(c.a, c.b); got != c.same {
			t.Errorf("SameIdentity(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
		if got := scim.FoldIdentity(c.a) == scim.FoldIdentity(c.b); got != c.same {
			t.Errorf("FoldIdentity(%q) = %q, FoldIdentity(%q) = %q: equal %v, want %v", c.a, scim.FoldIdentity(c.a), c.b, scim.FoldIdentity(c.b), got, c.same)
		}
	}
}

// FoldIdentity agrees with SameIdentity on every pair of characters of the first planes' letters.
func TestFoldIdentityAgreesWithSameIdentity(t *testing.T) {
	var letters []rune
	for r := rune(0x20); r < 0x2200; r++ {
		letters = append(letters, r)
	}
	letters = append(letters, 0x212A, 0x212B, 0xFF21, 0xFF41, 0x1E9E)
	for _, a := range letters {
		for _, b := range []rune{a + 1, a - 1, a + 32, a - 32, 0x130, 0x131, 'i', 'I', 's', 'k', 0x3C2, 0x3C3} {
			x, y := string(a), string(b)
			if (scim.FoldIdentity(x) == scim.FoldIdentity(y)) != scim.SameIdentity(x, y) {
				t.Fatalf("%q vs %q: fold %q/%q, SameIdentity %v", x, y, scim.FoldIdentity(x), scim.FoldIdentity(y), scim.SameIdentity(x, y))
			}
		}
	}
	if got := scim.FoldIdentity("Alice@Example.COM"); got != "alice@example.com" {
		t.Errorf("ASCII fold = %q", got)
	}
}

func TestLowerIdentityKeepsTheIdentity(t *testing.T) {
	for in, want := range map[string]string{
		"Alice@Example.COM": "alice@example.com",
		"VİCTIM":            "vİctim", // strings.ToLower would make it "victim"
		"ÉLODIE":            "élodie",
	} {
		if got := scim.LowerIdentity(in); got != want || !scim.SameIdentity(got, in) {
			t.Errorf("LowerIdentity(%q) = %q, want %q", in, got, want)
		}
	}
	if got := scim.UpperIdentity("vıctim"); got != "VıCTIM" || strings.ToUpper("vıctim") != "VICTIM" {
		t.Errorf("UpperIdentity(vıctim) = %q", got)
	}
}

func TestCheckIdentity(t *testing.T) {
	for _, s := range []string{"bob ", " bob", "bob\t", "bob\u00a0"} {
		if err := scim.CheckIdentity("userName", s); err == nil || scim.AsError(err).ScimType != scim.TypeInvalidValue {
			t.Errorf("CheckIdentity(%q) = %v, want invalidValue", s, err)
		}
	}
	if err := scim.CheckIdentity("userName", "bob smith"); err != nil {
		t.Errorf("inner space refused: %v", err)
	}
}
