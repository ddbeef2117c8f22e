package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// DefaultTokenName names the tokens of the flat form (auth.tokens as strings, auth.tokens_env,
// auth.tokens_file).
const DefaultTokenName = "default"

// TokenSource is one entry of auth.tokens: a literal token of the flat form (`tokens = ["..."]`, name
// "default"), or a named source of tokens,
//
//	[[auth.tokens]]
//	name = "okta"
//	env  = "OKTA_SCIM_TOKEN"   # or file = "/run/secrets/okta"
//
// whose name (never the token) goes into the access log, the metrics and the audit trail. Several
// entries may share a name, and a variable or file may hold several tokens: rotation.
type TokenSource struct {
	Name  string
	Env   string // environment variable holding the token(s), comma- or space-separated
	File  string // file with one token a line
	Value string // a literal token (the flat form only)

	problems []string // what was wrong in the entry as written, reported by validateTokens
}

// TokenList is auth.tokens, in either form.
type TokenList []TokenSource

// UnmarshalTOML takes a list of strings (the flat form), an array of tables ([[auth.tokens]]) or a
// list of inline tables. Problems are kept on the entries, for validateTokens to report at their line.
func (l *TokenList) UnmarshalTOML(v any) error {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	default:
		// The value is not printed: it may be a token.
		return fmt.Errorf("must be [[auth.tokens]] tables (name, and env or file) or, in the old form, a list of token strings")
	}
	for _, it := range items {
		switch it := it.(type) {
		case string:
			*l = append(*l, TokenSource{Name: DefaultTokenName, Value: it})
		case map[string]any:
			*l = append(*l, tokenSourceOf(it))
		default:
			// The value is not printed: it may be a token.
			*l = append(*l, TokenSource{problems: []string{"must be a table with name and env or file (or, in the old form, a token string)"}})
		}
	}
	return nil
}

func tokenSourceOf(m map[string]any) TokenSource {
	var ts TokenSource
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var dst *string
		switch k {
		case "name":
			dst = &ts.Name
		case "env":
			dst = &ts.Env
		case "file":
			dst = &ts.File
		default:
			ts.problems = append(ts.problems, fmt.Sprintf("unknown key %q (an entry has name, and env or file; a token itself belongs in that variable or file)", k))
			continue
		}
		s, ok := m[k].(string)
		if !ok {
			ts.problems = append(ts.problems, fmt.Sprintf("%s must be a string", k))
			continue
		}
		*dst = strings.TrimSpace(s)
	}
	return ts
}

// named reports whether the list has [[auth.tokens]] entries (not only literal tokens).
func (l TokenList) named() bool {
	for _, ts := range l {
		if ts.Value == "" {
			return true
		}
	}
	return false
}

var tokenNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validateTokens reports every wrong [[auth.tokens]] entry. When there are named entries and
// auth.tokens_env was not written, the default variables (SCIMBRIDGE_TOKEN, ...) are not read: a token
// left in one of them from before must not keep working unnamed.
func (c *Config) validateTokens(p *problems, tokensEnvWritten bool) {
	if c.Auth.Tokens.named() && !tokensEnvWritten {
		c.Auth.TokensEnv = nil
	}
	for i, ts := range c.Auth.Tokens {
		if ts.Value != "" {
			continue
		}
		key := fmt.Sprintf("auth.tokens[%d]", i)
		for _, msg := range ts.problems {
			p.add(key, "%s: %s", key, msg)
		}
		if len(ts.problems) > 0 {
			continue
		}
		switch {
		case ts.Name == "":
			p.add(key, `%s has no name: give each token source a name = "..." saying who holds it, such as "okta" or "entra"`, key)
		case !tokenNamePattern.MatchString(ts.Name):
			p.add(key, "%s.name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", key, ts.Name)
		}
		switch {
		case ts.Env == "" && ts.File == "":
			p.add(key, `%s (%s) needs env = "VARIABLE" or file = "/path/to/file" holding its token`, key, ts.Name)
		case ts.Env != "" && ts.File != "":
			p.add(key, "%s (%s) has both env and file; give one (add another [[auth.tokens]] with the same name for a second token)", key, ts.Name)
		case ts.Env != "" && !envNamePattern.MatchString(ts.Env):
			p.add(key, "%s.env is not an environment variable name (letters, digits and _); put the token in that variable, not here", key)
		}
	}
}

// NamedToken is an accepted API token and the name of who holds it.
type NamedToken struct {
	Name, Secret string
}
