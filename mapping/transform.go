package mapping

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/scimbridge/scimbridge/scim"
)

// Transforms turn an attribute into what the app's column needs: a lower-cased copy of a login, or a
// login derived from an email for apps that forbid "@" in logins. They compose, applied in the order
// given: transform = "email_local, lower, slug". The lossy ones (email_local, slug, a max_length) are never
// read back: the attribute is read from another column or from the bookkeeping.
var transforms = map[string]func(c *Column, s string) string{
	"lower": func(_ *Column, s string) string { return scim.LowerIdentity(s) }, // VİCTIM does not become victim
	"upper": func(_ *Column, s string) string { return scim.UpperIdentity(s) },
	"trim":  func(_ *Column, s string) string { return strings.TrimSpace(s) },
	"email_local": func(_ *Column, s string) string { // "ann.lee+x@example.com" -> "ann.lee+x"
		if i := strings.LastIndexByte(s, '@'); i > 0 {
			return s[:i]
		}
		return s
	},
	"slug": func(c *Column, s string) string { // characters outside `allowed` are dropped
		var b strings.Builder
		for _, r := range s {
			if c.allowed(r) {
				b.WriteRune(r)
			}
		}
		return b.String()
	},
}

var lossy = map[string]bool{"email_local": true, "slug": true}

// defaultSlug is what slug keeps when the column gives no `allowed`.
const defaultSlug = "a-zA-Z0-9._-"

func compileTransforms(c *Column, spec ColumnSpec) error {
	for _, t := range strings.Split(spec.Transform, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if transforms[t] == nil {
			return fmt.Errorf("unknown transform %q (lower, upper, trim, email_local, slug)", t)
		}
		c.chain = append(c.chain, t)
	}
	if spec.Allowed != "" && !c.has("slug") {
		return fmt.Errorf("allowed is the character set of the slug transform; add transform = \"slug\"")
	}
	c.allowedSet = spec.Allowed
	if c.allowedSet == "" {
		c.allowedSet = defaultSlug
	}
	if spec.MaxLength < 0 {
		return fmt.Errorf("max_length must be positive")
	}
	c.maxLength = int(spec.MaxLength)
	if (len(c.chain) > 0 || c.maxLength > 0) && c.src.attrDef().Type != scim.String {
		return fmt.Errorf("transform %q needs a string attribute, %s is %s", spec.Transform, c.src.path, c.src.attrDef().Type)
	}
	return nil
}

func (c *Column) has(t string) bool {
	for _, x := range c.chain {
		if x == t {
			return true
		}
	}
	return false
}

// allowed reports whether r is in the slug's character set: single characters and ranges ("a-z").
func (c *Column) allowed(r rune) bool {
	set := []rune(c.allowedSet)
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && set[i+1] == '-' {
			if set[i] <= r && r <= set[i+2] {
				return true
			}
			i += 2
			continue
		}
		if set[i] == r {
			return true
		}
	}
	return false
}

// transformed applies the column's transforms, then cuts the result to max_length characters.
func (c *Column) transformed(s string) string {
	for _, t := range c.chain {
		s = transforms[t](c, s)
	}
	if c.maxLength > 0 && utf8.RuneCountInString(s) > c.maxLength {
		s = string([]rune(s)[:c.maxLength])
	}
	return s
}

// lossy reports a column whose value cannot be read back as the attribute.
func (c *Column) lossy() bool {
	if c.maxLength > 0 {
		return true
	}
	for _, t := range c.chain {
		if lossy[t] {
			return true
		}
	}
	return false
}
