package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokens gathers the API tokens: auth.tokens, then each variable of auth.tokens_env (which may hold several
// tokens separated by commas or spaces), then the lines of auth.tokens_file (blank lines and lines starting
// with # are skipped). It fails when there is none, or when one is shorter than MinTokenLength; no message
// ever holds a token. main passes os.Getenv and os.ReadFile.
func (c *Config) Tokens(getenv func(string) string, readFile func(string) ([]byte, error)) ([]string, error) {
	var (
		tokens []string
		errs   []error
		seen   = map[string]bool{}
	)
	take := func(tok, from string) {
		switch {
		case utf8.RuneCountInString(tok) < MinTokenLength:
			errs = append(errs, fmt.Errorf("auth: the token from %s is %d characters long; tokens need at least %d (make one with: openssl rand -hex 32)",
				from, utf8.RuneCountInString(tok), MinTokenLength))
		case strings.IndexFunc(tok, unicode.IsSpace) >= 0:
			errs = append(errs, fmt.Errorf("auth: the token from %s contains a space", from))
		case !seen[tok]:
			seen[tok] = true
			tokens = append(tokens, tok)
		}
	}
	for i, tok := range c.Auth.Tokens {
		take(strings.TrimSpace(tok), fmt.Sprintf("auth.tokens[%d]", i))
	}
	for _, name := range c.Auth.TokensEnv {
		fields := strings.FieldsFunc(getenv(name), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		for i, tok := range fields {
			from := "$" + name
			if len(fields) > 1 {
				from = fmt.Sprintf("$%s (token %d)", name, i+1)
			}
			take(tok, from)
		}
	}
	if f := c.Auth.TokensFile; f != "" {
		data, err := readFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.tokens_file: %w", err))
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			take(line, fmt.Sprintf("%s line %d", f, i+1))
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
			return nil, errors.New("auth: no API token: set auth.tokens_env or auth.tokens_file")
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
