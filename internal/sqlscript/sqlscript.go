// Package sqlscript splits the SQL scripts scimbridge ships (examples/legacy-app/schema.sql) into
// statements, for the demo and the tests that load them through a driver that runs one at a time.
package sqlscript

import "strings"

// Split cuts a script into statements at semicolons that end a line, dropping blank lines and "--"
// comment lines. It does not parse SQL: a script must not put ";" at the end of a line inside a string.
func Split(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
