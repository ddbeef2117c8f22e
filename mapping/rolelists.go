package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
)

// List encodings of the list store (roles.encoding).
const (
	ListSeparated = "separated" // roles separated by roles.separator (default)
	ListJSON      = "json"      // a JSON array of strings: ["system_user","system_admin"]
	ListPHP       = "php"       // a PHP-serialized array or map: a:1:{s:13:"administrator";b:1;}
)

// Held returns the managed roles a stored list value grants, in the rules' order. A value that is not
// of the encoding (the app broke it) grants none; Merge refuses to overwrite it.
func (r *Roles) Held(current string) []string {
	var tokens []string
	switch r.Encoding {
	case ListJSON:
		tokens, _ = jsonRoles(current)
	case ListPHP:
		if strings.TrimSpace(current) != "" {
			pairs, _ := parsePHPArray(current)
			tokens = phpRoles(pairs)
		}
	default:
		return r.ListRoles(current)
	}
	have := map[string]bool{}
	for _, t := range tokens {
		have[t] = true
	}
	var out []string
	for _, m := range r.Managed() {
		if have[m] {
			out = append(out, m)
		}
	}
	return out
}

// Merge rewrites a stored list value so that of the managed roles exactly want are granted; everything
// the mapping does not manage keeps the app's exact bytes, and a value needing no change comes back
// unchanged. An empty value is an empty list.
func (r *Roles) Merge(current string, want []string) (string, error) {
	managed := map[string]bool{}
	for _, m := range r.Managed() {
		managed[m] = true
	}
	switch r.Encoding {
	case ListJSON:
		return mergeJSON(current, managed, want)
	case ListPHP:
		var pairs []phpPair
		if strings.TrimSpace(current) != "" {
			var err error
			if pairs, err = parsePHPArray(current); err != nil {
				return "", err
			}
		}
		merged := mergePHP(pairs, managed, want)
		if same(r.Held(current), want) && strings.TrimSpace(current) != "" {
			return current, nil
		}
		return merged, nil
	}
	return r.MergeList(current, want), nil
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func jsonRoles(current string) ([]string, error) {
	if strings.TrimSpace(current) == "" {
		return nil, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(current), &elems); err != nil {
		return nil, fmt.Errorf("not a JSON array: %w", err)
	}
	var out []string
	for _, e := range elems {
		var s string
		if json.Unmarshal(e, &s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

func mergeJSON(current string, managed map[string]bool, want []string) (string, error) {
	var elems []json.RawMessage
	if strings.TrimSpace(current) != "" {
		if err := json.Unmarshal([]byte(current), &elems); err != nil {
			return "", fmt.Errorf("not a JSON array: %w", err)
		}
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	changed := strings.TrimSpace(current) == ""
	var out []string
	have := map[string]bool{}
	for _, e := range elems {
		var s string
		isText := json.Unmarshal(e, &s) == nil
		switch {
		case !isText || !managed[s]:
			out = append(out, string(e))
		case !wanted[s] || have[s]:
			changed = true
		default:
			out = append(out, string(e))
			have[s] = true
		}
	}
	for _, w := range want {
		if !have[w] {
			b, _ := json.Marshal(w)
			out = append(out, string(b))
			have[w] = true
			changed = true
		}
	}
	if !changed {
		return current, nil
	}
	return "[" + strings.Join(out, ",") + "]", nil
}
