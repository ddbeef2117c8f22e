package mapping

import (
	"sort"
	"strings"
)

// Sub-attributes the list's table has no column for (an email's type or display when user_emails has only
// an address and a primary flag) are kept per element in the bookkeeping document, with the element's
// value to find it again: reading the list, each row's element gets back what the IdP sent with its value.
// So Entra's `replace emails[type eq "work"].value` finds the work address and replaces it, rather than
// matching nothing and appending.

// extras returns, for the elements of r's list, the sub-attributes no column holds, each with the
// element's value; nil when there are none or the list has no value column to match rows by.
func (l *List) extras(list []any) []any {
	if l.identity == nil {
		return nil
	}
	var out []any
	for _, e := range list {
		obj, _ := e.(map[string]any)
		value, ok := obj["value"].(string)
		if !ok || value == "" {
			continue
		}
		kept := map[string]any{}
		for k, v := range obj {
			if !strings.EqualFold(k, "value") && l.Element(k) == nil {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			kept["value"] = value
			out = append(out, kept)
		}
	}
	return out
}

// withExtras gives each element read from a row the sub-attributes kept for its value (compared as
// identities are: in letter case only), each kept element used once.
func (l *List) withExtras(list []any, kept []any) {
	used := make([]bool, len(kept))
	for _, e := range list {
		obj, _ := e.(map[string]any)
		value, _ := obj["value"].(string)
		for i, k := range kept {
			km, _ := k.(map[string]any)
			if used[i] || !strings.EqualFold(scalarText(km["value"]), value) {
				continue
			}
			used[i] = true
			keys := make([]string, 0, len(km))
			for key := range km {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			for _, key := range keys {
				if _, has := obj[key]; !has && l.Element(key) == nil {
					obj[key] = km[key]
				}
			}
			break
		}
	}
}
