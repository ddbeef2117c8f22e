package scim

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identity comparison: what makes two userNames (or two email addresses used to match accounts) "the same
// user". SCIM says userName is case-insensitive (RFC 7643 4.1.1), and nothing more: two names that differ
// in an accent (alicé, alice), in width (ａlice), in ß/ss, in dotted or dotless i (VİCTIM, victim) or in a
// compatibility form are different names, even where a database collation or a casual lower-casing would
// call them equal. Treating them as equal would let whoever controls a look-alike name take over the
// account it resembles, at adoption and at sign-in.
//
// So identities compare by Unicode simple case folding only: each character stands for its case-folding
// orbit (unicode.SimpleFold), and nothing else changes. strings.ToLower is not that: it maps İ to i.
// Canonically equivalent strings in different normal forms (é as one code point or as e + U+0301) are
// different names too; IdPs send NFC.

// FoldIdentity returns the key under which two identities compare equal exactly when SameIdentity says
// so. scimbridge stores it (the bookkeeping's user_name_lc) to make userName unique among live users.
func FoldIdentity(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s) // the same as folding for ASCII, and the common case
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune picks one representative of r's case-folding orbit: its smallest lower-case member, else its
// smallest member. Any fixed choice would do; this one keeps ASCII names readable (k for K and the Kelvin
// sign, s for S and ſ).
func foldRune(r rune) rune {
	best, bestLower := r, unicode.IsLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lower := unicode.IsLower(f)
		if (lower && !bestLower) || (lower == bestLower && f < best) {
			best, bestLower = f, lower
		}
	}
	return best
}

// SameIdentity reports whether two identities name the same user: equal under Unicode simple case
// folding, with nothing trimmed or normalized.
func SameIdentity(a, b string) bool {
	return strings.EqualFold(a, b) // simple case folding, rune by rune, as FoldIdentity
}

// CheckIdentity refuses an identity that cannot be compared safely: one with white space at either end.
// MySQL's and MariaDB's usual collations ignore trailing spaces (PAD SPACE), so "bob " would find, and be
// refused by the unique index of, the app's "bob"; trimming it instead would hand bob's account to whoever
// sent the space. attr names the attribute in the error.
func CheckIdentity(attr, s string) error {
	if s != strings.TrimFunc(s, unicode.IsSpace) {
		return BadRequest(TypeInvalidValue, "%s %q has white space at the start or end; remove it in the identity provider", attr, s)
	}
	return nil
}

// LowerIdentity lower-cases s without changing which identity it is: a character whose lower case lies
// outside its case-folding orbit (İ, whose lower case is i) is kept. For everything else it is
// strings.ToLower, so an app column holding lower-cased logins gets what it expects.
func LowerIdentity(s string) string { return caseWithin(s, unicode.ToLower) }

// UpperIdentity is LowerIdentity's upper-case twin: ı (whose upper case is I) is kept.
func UpperIdentity(s string) string { return caseWithin(s, unicode.ToUpper) }

func caseWithin(s string, to func(rune) rune) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if c := to(r); c == r || foldRune(c) == foldRune(r) {
			r = c
		}
		b.WriteRune(r)
	}
	return b.String()
}
