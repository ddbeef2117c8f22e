package mapping

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

var templateRef = regexp.MustCompile(`\{([^{}]+)\}`)

// templatePart is a piece of a default template: literal text, or an attribute to fill in.
type templatePart struct {
	text string
	src  *source
}

func compileTemplate(rt *scim.ResourceType, t string) ([]templatePart, error) {
	if t == "" {
		return nil, nil
	}
	var parts []templatePart
	last := 0
	for _, m := range templateRef.FindAllStringSubmatchIndex(t, -1) {
		src, err := compileSource(rt, t[m[2]:m[3]])
		if err != nil {
			return nil, fmt.Errorf("default %q: %v", t, err)
		}
		parts = append(parts, templatePart{text: t[last:m[0]]}, templatePart{src: src})
		last = m[1]
	}
	return append(parts, templatePart{text: t[last:]}), nil
}

// renderTemplate fills "{name.givenName} {name.familyName}" from the resource; nil when every part is empty.
func renderTemplate(parts []templatePart, r scim.Resource) any {
	var b strings.Builder
	filled := false
	for _, p := range parts {
		if p.src == nil {
			b.WriteString(p.text)
		} else if s, ok := p.src.get(r).(string); ok && s != "" {
			filled = true
			b.WriteString(s)
		}
	}
	if !filled {
		return nil
	}
	return strings.TrimSpace(b.String())
}
