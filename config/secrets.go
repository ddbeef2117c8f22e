package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokens returns the secrets of NamedTokens, for callers that need no names.
func (c *Config) Tokens(getenv func(string) string, readFile func(string) ([]byte, error)) ([]string, error) {
	named, err := c.NamedTokens(getenv, readFile)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(named))
	for i, t := range named {
		out[i] = t.Secret
	}
	return out, nil
}

// NamedTokens gathers the API tokens with their names: the literal auth.tokens, each variable of
// auth.tokens_env (which may hold several tokens separated by commas or spaces) and the lines of
// auth.tokens_file (blank lines and lines starting with # are skipped), all named "default"; then each
// [[auth.tokens]] source under its name. It fails when there is none, when one is shorter than
// MinTokenLength, when a named source gives no token while no other source of its name does, or when one
// token is given under two names; no message ever holds a token. main passes os.Getenv and os.ReadFile.
func (c *Config) NamedTokens(getenv func(string) string, readFile func(string) ([]byte, error)) ([]NamedToken, error) {
	var (
		tokens []NamedToken
		errs   []error
		seen   = map[string]string{} // token -> where it came from
		owner  = map[string]string{} // token -> name
		found  = map[string]bool{}   // name -> some source of it gave a token
		empty  []string              // named sources that gave none, as "name (source)"
	)
	take := func(name, tok, from string) {
		switch {
		case utf8.RuneCountInString(tok) < MinTokenLength:
			errs = append(errs, fmt.Errorf("auth: the token from %s is %d characters long; tokens need at least %d (make one with: openssl rand -hex 32)",
				from, utf8.RuneCountInString(tok), MinTokenLength))
		case strings.IndexFunc(tok, unicode.IsSpace) >= 0:
			errs = append(errs, fmt.Errorf("auth: the token from %s contains a space", from))
		case owner[tok] != "" && owner[tok] != name:
			errs = append(errs, fmt.Errorf("auth: the token from %s (name %q) is also the token from %s (name %q); a token belongs to one name",
				from, name, seen[tok], owner[tok]))
		case owner[tok] == "":
			seen[tok], owner[tok], found[name] = from, name, true
			tokens = append(tokens, NamedToken{Name: name, Secret: tok})
		}
	}
	fromEnv := func(name, env, label string) int {
		fields := strings.FieldsFunc(getenv(env), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		for i, tok := range fields {
			from := "$" + env + label
			if len(fields) > 1 {
				from = fmt.Sprintf("$%s%s (token %d)", env, label, i+1)
			}
			take(name, tok, from)
		}
		return len(fields)
	}
	fromFile := func(name, file, key, label string) int {
		data, err := readFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		n := 0
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			n++
			take(name, line, fmt.Sprintf("%s line %d%s", file, i+1, label))
		}
		return n
	}
	for i, ts := range c.Auth.Tokens {
		if ts.Value != "" {
			take(DefaultTokenName, strings.TrimSpace(ts.Value), fmt.Sprintf("auth.tokens[%d]", i))
		}
	}
	for _, env := range c.Auth.TokensEnv {
		fromEnv(DefaultTokenName, env, "")
	}
	if f := c.Auth.TokensFile; f != "" {
		fromFile(DefaultTokenName, f, "auth.tokens_file", "")
	}
	for i, ts := range c.Auth.Tokens {
		label := fmt.Sprintf(" (auth.tokens %q)", ts.Name)
		switch {
		case ts.Value != "":
		case ts.Env != "":
			if fromEnv(ts.Name, ts.Env, label) == 0 {
				empty = append(empty, fmt.Sprintf("%s: the environment variable %s is empty or not set", ts.Name, ts.Env))
			}
		case ts.File != "":
			if fromFile(ts.Name, ts.File, fmt.Sprintf("auth.tokens[%d] (%s)", i, ts.Name), label) == 0 {
				empty = append(empty, fmt.Sprintf("%s: %s holds no token", ts.Name, ts.File))
			}
		}
	}
	for _, e := range empty {
		if name, _, _ := strings.Cut(e, ":"); !found[name] {
			errs = append(errs, fmt.Errorf("auth: no token for %s", e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		var tried []string
		switch n := len(c.Auth.TokensEnv); {
		case n == 1:
			tried = append(tried, "the environment variable "+c.Auth.TokensEnv[0]+" is empty or not set")
		case n > 1:
			tried = append(tried, "the environment variables "+joinWith(c.Auth.TokensEnv, "and")+" are empty or not set")
		}
		if c.Auth.TokensFile != "" {
			tried = append(tried, "auth.tokens_file ("+c.Auth.TokensFile+") holds no token")
		}
		if len(tried) == 0 {
			return nil, errors.New("auth: no API token: add [[auth.tokens]] entries (name, and env or file), or set auth.tokens_env or auth.tokens_file")
		}
		return nil, fmt.Errorf("auth: no API token: %s", strings.Join(tried, ", and "))
	}
	return tokens, nil
}

// DSN returns the database DSN: database.dsn if set, else the content of database.dsn_file (trimmed),
// else the variable named by database.dsn_env. main passes os.Getenv and os.ReadFile.
func (c *Config) DSN(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	d := c.Database
	if dsn := strings.TrimSpace(d.DSN); dsn != "" {
		return dsn, nil
	}
	if d.DSNFile != "" {
		data, err := readFile(d.DSNFile)
		if err != nil {
			return "", fmt.Errorf("database.dsn_file: %w", err)
		}
		dsn := strings.TrimSpace(string(data))
		if dsn == "" {
			return "", fmt.Errorf("database.dsn_file: %s is empty", d.DSNFile)
		}
		return dsn, nil
	}
	if d.DSNEnv == "" {
		return "", errors.New("database: no DSN: set database.dsn_env, database.dsn_file or database.dsn")
	}
	if dsn := strings.TrimSpace(getenv(d.DSNEnv)); dsn != "" {
		return dsn, nil
	}
	return "", fmt.Errorf("database: no DSN: the environment variable %s is empty or not set (or set database.dsn_file)", d.DSNEnv)
}
