package scim

import (
	"reflect"
	"strings"
)

// patchFiltered applies an operation to the elements a value filter selects: emails[type eq "work"](.value).
func patchFiltered(c map[string]any, kind string, a *Attribute, p Path, value any) error {
	var sub *Attribute
	if p.SubAttr != "" {
		if sub = a.Sub(p.SubAttr); sub == nil {
			return BadRequest(TypeInvalidPath, "%q has no sub-attribute %q", a.Name, p.SubAttr)
		}
	}
	list, _ := c[a.Name].([]any)
	var hits []int
	for i, e := range list {
		ok, err := matchElement(a, e.(map[string]any), p.Filter)
		if err != nil {
			return err
		}
		if ok {
			hits = append(hits, i)
		}
	}
	if kind == "remove" {
		kept := list[:0:0]
		for i, e := range list {
			switch {
			case !contains(hits, i):
				kept = append(kept, e)
			case sub != nil:
				delete(e.(map[string]any), sub.Name)
				kept = append(kept, e)
			}
		}
		if kept = compact(a, kept); len(kept) == 0 {
			delete(c, a.Name)
		} else {
			c[a.Name] = kept
		}
		return nil
	}
	var nv any
	var err error
	if sub != nil {
		nv, err = NormalizeValue(sub, value)
	} else {
		nv, err = normalizeSingle(a, value)
	}
	if err != nil {
		return err
	}
	created := len(hits) == 0
	if created {
		tmpl, ok := eqTemplate(a, p.Filter)
		if !ok {
			return BadRequest(TypeNoTarget, "no value of %q matches %s", a.Name, p.Filter.String())
		}
		list = append(list, tmpl)
		hits = []int{len(list) - 1}
	}
	for _, i := range hits {
		e := list[i].(map[string]any)
		switch {
		case sub != nil:
			setOrDelete(e, sub.Name, nv)
		case nv != nil:
			for k, v := range nv.(map[string]any) {
				e[k] = v
			}
		}
	}
	if created {
		// The element is created only when the filter names what the operation makes (Entra's
		// emails[type eq "work"].value): one that would not match its own filter afterwards
		// (emails[value eq "old"].value set to "new") targets an element that is not there, which
		// RFC 7644 3.5.2.3 answers with noTarget; creating it would add a copy on every retry.
		ok, err := matchElement(a, list[hits[0]].(map[string]any), p.Filter)
		if err != nil {
			return err
		}
		if !ok {
			return BadRequest(TypeNoTarget, "no value of %q matches %s", a.Name, p.Filter.String())
		}
	}
	c[a.Name] = list
	keepOnePrimary(list, hits)
	return nil
}

// removeValues removes the elements equal to the given ones: Entra removes members as
// {"op":"remove","path":"members","value":[{"value":"id"}]}.
func removeValues(c map[string]any, a *Attribute, value any) error {
	nv, err := NormalizeValue(a, value)
	if err != nil || nv == nil {
		return err
	}
	list, _ := c[a.Name].([]any)
	kept := list[:0:0]
	for _, e := range list {
		drop := false
		for _, gone := range nv.([]any) {
			if sameElement(a, e, gone) {
				drop = true
				break
			}
		}
		if !drop {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		delete(c, a.Name)
	} else {
		c[a.Name] = kept
	}
	return nil
}

// addUnique appends item unless an equal element is there already (adding a member twice is a no-op,
// and merges what the new copy says); it returns the list and the index the item ended at.
func addUnique(a *Attribute, list []any, item any) ([]any, int) {
	for i, e := range list {
		if sameElement(a, e, item) {
			if m, ok := e.(map[string]any); ok {
				for k, v := range item.(map[string]any) {
					m[k] = v
				}
			}
			return list, i
		}
	}
	return append(list, item), len(list)
}

// sameElement compares two elements of a multi-valued attribute by their "value" (and "type" when both
// carry one), which is how members and emails are identified.
func sameElement(a *Attribute, x, y any) bool {
	mx, okx := x.(map[string]any)
	my, oky := y.(map[string]any)
	if !okx || !oky {
		return reflect.DeepEqual(x, y)
	}
	vx, vy := mx["value"], my["value"]
	if vx == nil || vy == nil {
		return reflect.DeepEqual(mx, my)
	}
	if tx, ty := mx["type"], my["type"]; tx != nil && ty != nil && !strings.EqualFold(literalText(tx), literalText(ty)) {
		return false
	}
	valueAttr := a.Sub("value")
	return valueAttr != nil && compareValue(valueAttr, vx, OpEq, vy)
}

// keepOnePrimary keeps at most one element with primary=true (RFC 7643 section 2.4): the last one among
// the elements just written, or else the first in the list.
func keepOnePrimary(list []any, written []int) {
	winner := -1
	for _, i := range written {
		if isPrimary(list[i]) {
			winner = i
		}
	}
	for i, e := range list {
		if !isPrimary(e) {
			continue
		}
		if winner < 0 {
			winner = i
		} else if i != winner {
			e.(map[string]any)["primary"] = false
		}
	}
}

func isPrimary(e any) bool {
	m, ok := e.(map[string]any)
	return ok && m["primary"] == true
}

// compact drops elements left empty by a removed sub-attribute, and, for attributes whose elements are
// identified by "value" (emails, members), elements that lost it: an email with a type but no address
// means nothing.
func compact(a *Attribute, list []any) []any {
	byValue := a.Sub("value") != nil
	out := list[:0:0]
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && (len(m) == 0 || (byValue && m["value"] == nil)) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func contains(idx []int, i int) bool {
	for _, j := range idx {
		if j == i {
			return true
		}
	}
	return false
}
