package mapping

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/scimbridge/scimbridge/scim"
)

// source is the SCIM attribute a column holds: a path, or one element of a list picked by a filter
// ("emails[primary].value" is emails[primary eq true].value, falling back to the first email).
type source struct {
	path   string    // canonical: "name.givenName", "emails.value"
	ref    scim.Ref  // the attribute (and sub-attribute when not a list pick)
	filter scim.Expr // for a list pick
	sub    *scim.Attribute
	typ    *scim.ResourceType
}

var primarySugar = regexp.MustCompile(`(?i)\[\s*primary\s*\]`)

func compileSource(rt *scim.ResourceType, from string) (*source, error) {
	p, err := scim.ParsePath(primarySugar.ReplaceAllString(from, "[primary eq true]"))
	if err != nil {
		return nil, fmt.Errorf("%q is not an attribute path", from)
	}
	ref, ok := rt.Resolve(p.Attr)
	if !ok {
		return nil, fmt.Errorf("unknown SCIM attribute %q", from)
	}
	if ref.Attr.Mutability == "readOnly" && !strings.EqualFold(ref.Attr.Name, "id") {
		return nil, fmt.Errorf("%q is read-only and cannot be mapped", from)
	}
	if ref.Attr.Mutability == "writeOnly" {
		return nil, fmt.Errorf("%q is write-only (a clear-text password) and cannot be mapped", from)
	}
	if strings.EqualFold(ref.Attr.Name, "id") || strings.EqualFold(ref.Attr.Name, "meta") {
		return nil, fmt.Errorf("%q belongs to scimbridge and cannot be mapped", from)
	}
	s := &source{ref: ref, typ: rt}
	if p.Filter == nil {
		if ref.Attr.MultiValued || (ref.Attr.Type == scim.Complex && ref.Sub == nil) {
			return nil, fmt.Errorf("%q holds more than one value; map one element, as in %s[primary].value", from, ref.Attr.Name)
		}
		s.path = ref.Path()
		return s, nil
	}
	if p.SubAttr == "" {
		return nil, fmt.Errorf("%q must name a sub-attribute after the filter, as in emails[primary].value", from)
	}
	if s.sub = ref.Attr.Sub(p.SubAttr); s.sub == nil {
		return nil, fmt.Errorf("%q: %s has no sub-attribute %q", from, ref.Attr.Name, p.SubAttr)
	}
	s.filter = p.Filter
	s.path = ref.Path() + "." + s.sub.Name
	return s, nil
}

// container returns the object holding the source's attribute (the resource, or its extension object).
func (s *source) container(r scim.Resource, create bool) map[string]any {
	if s.ref.URN == "" {
		return r
	}
	ext, _ := r[s.ref.URN].(map[string]any)
	if ext == nil && create {
		ext = map[string]any{}
		r[s.ref.URN] = ext
	}
	return ext
}

func (s *source) get(r scim.Resource) any {
	c := s.container(r, false)
	if c == nil {
		return nil
	}
	v := c[s.ref.Attr.Name]
	switch {
	case s.filter != nil:
		list, _ := v.([]any)
		if i := scim.Select(s.ref.Attr, list, s.filter); i >= 0 {
			return list[i].(map[string]any)[s.sub.Name]
		}
		if isPrimaryPick(s.filter) && len(list) > 0 { // IdPs often mark no email primary
			return list[0].(map[string]any)[s.sub.Name]
		}
		return nil
	case s.ref.Sub != nil:
		obj, _ := v.(map[string]any)
		if obj == nil {
			return nil
		}
		return obj[s.ref.Sub.Name]
	}
	return v
}

func isPrimaryPick(f scim.Expr) bool {
	c, ok := f.(*scim.CompareExpr)
	return ok && strings.EqualFold(c.Attr.Name, "primary") && c.Op == scim.OpEq && c.Value == true
}

func (s *source) set(r scim.Resource, v any) {
	c := s.container(r, v != nil)
	if c == nil {
		return
	}
	name := s.ref.Attr.Name
	switch {
	case s.filter != nil:
		if v == nil {
			return
		}
		list, _ := c[name].([]any)
		i := scim.Select(s.ref.Attr, list, s.filter)
		if i < 0 && isPrimaryPick(s.filter) && len(list) > 0 {
			i = 0
		}
		if i < 0 {
			tmpl, _ := scim.EqTemplate(s.ref.Attr, s.filter)
			if tmpl == nil {
				tmpl = map[string]any{}
			}
			list = append(list, tmpl)
			i = len(list) - 1
		}
		list[i].(map[string]any)[s.sub.Name] = v
		c[name] = list
	case s.ref.Sub != nil:
		obj, _ := c[name].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		setOrDelete(obj, s.ref.Sub.Name, v)
		setOrDelete(c, name, nonEmpty(obj))
	default:
		setOrDelete(c, name, v)
	}
	if s.ref.URN != "" && len(c) == 0 {
		delete(r, s.ref.URN)
	}
}

func (s *source) remove(r scim.Resource) { s.set(r, nil) }

func nonEmpty(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// attrDef is the definition of the single value the source reads.
func (s *source) attrDef() *scim.Attribute {
	switch {
	case s.sub != nil:
		return s.sub
	case s.ref.Sub != nil:
		return s.ref.Sub
	}
	return s.ref.Attr
}
