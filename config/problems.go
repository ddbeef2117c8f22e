package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// unjoin splits an errors.Join error into its parts.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// problems collects the errors of one file, each placed at the line of the key it names.
type problems struct {
	name  string
	lines keyLines
	errs  []error
}

// lineError is one problem at a line of the configuration file (line 0 when no line is known).
type lineError struct {
	file string
	line int
	col  int // 0 when unknown
	msg  string
	err  error // the underlying error, if any
}

func (e *lineError) Error() string {
	if e.line > 0 && e.col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
	}
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.file, e.msg)
}

func (e *lineError) Unwrap() error { return e.err }

// add records a problem about key ("server.base_path").
func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.find(splitKey(key)), msg: fmt.Sprintf(format, args...)})
}

// addMsg records a message that starts with the key it is about ("users.columns.email: ...").
func (p *problems) addMsg(msg string) {
	p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.find(leadingKey(msg)), msg: msg})
}

// err reports the problems in the order of their lines, those without a line last.
func (p *problems) err() error {
	line := func(e error) int {
		if le, ok := e.(*lineError); ok && le.line > 0 {
			return le.line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(p.errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(p.errs...)
}

var leadingKeyPattern = regexp.MustCompile(`^(server|auth|database|users|log|roles|groups|gate|webhooks)((\.[A-Za-z0-9_-]+)|(\[[0-9]+\]))*`)

// leadingKey extracts the key a message starts with, such as users.extensions[1].urn, as path pieces with
// the index of the array element kept in brackets on the piece ("extensions[1]").
func leadingKey(msg string) []string {
	return splitKey(leadingKeyPattern.FindString(msg))
}

func splitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// syntaxError turns a TOML syntax error into "name:line:col: message" followed by the offending lines.
func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &lineError{file: name, msg: err.Error(), err: err}
	}
	msg := pe.Message
	// ErrorWithPosition is "toml: error: ...\n\nAt line N, column C:\n\n<excerpt>"; keep the excerpt.
	if parts := strings.SplitN(pe.ErrorWithPosition(), "\n\n", 3); len(parts) == 3 {
		msg += "\n\n" + strings.TrimRight(parts[2], "\n")
	}
	return &lineError{file: name, line: pe.Position.Line, col: pe.Position.Col, msg: msg, err: pe}
}

var (
	typeErrPattern   = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "((?:[^"\\]|\\.)*)"\): (.*)$`)
	incompatPattern  = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (.+)$`)
	unknownInPattern = regexp.MustCompile(`unknown key "([^"]+)"`)
)

// decodeError turns an error from decoding into the Config (a value of the wrong type, or an error from a
// custom UnmarshalTOML in package mapping) into "name:line: key: message".
func (p *problems) decodeError(err error) error {
	var (
		key  string
		line int
		msg  = err.Error()
	)
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key, line, msg = pe.LastKey, pe.Position.Line, pe.Message
	} else if m := typeErrPattern.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], m[3]
	}
	if m := incompatPattern.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("expected %s, got %s", describeType(m[2]), describeType(m[1]))
	}
	path := splitKey(key)
	if m := unknownInPattern.FindStringSubmatch(msg); m != nil && key != "" {
		// The line of the unknown key itself, when a table spans several lines.
		if l := p.lines.exact(append(append([]string(nil), path...), m[1])); l > 0 {
			line = l
		}
	}
	if line == 0 {
		line = p.lines.find(path)
	}
	switch last := path[max(len(path)-1, 0):]; {
	case key == "":
	case len(last) == 1 && (strings.HasPrefix(msg, last[0]+":") || strings.HasPrefix(msg, last[0]+".")):
		// The message names its key already ("key_generation.random_length must be a number"): complete it.
		msg = strings.Join(append(path[:len(path)-1:len(path)-1], msg), ".")
	default:
		msg = key + ": " + msg
	}
	return &lineError{file: p.name, line: line, msg: msg, err: err}
}

func describeType(t string) string {
	switch strings.ToLower(t) {
	case "string":
		return "a string"
	case "integer", "int64":
		return "a whole number"
	case "float", "float64":
		return "a number"
	case "bool", "boolean":
		return "true or false"
	case "array", "slice":
		return "a list [...]"
	case "table", "hash", "map":
		return "a table"
	}
	return t
}

// unknownKeys reports the keys the decoder left unused: misspelt keys and sections this version does not
// know. A key inside an unknown table is not reported again.
func (p *problems) unknownKeys(keys []toml.Key) {
	undecoded := map[string]bool{}
	for _, k := range keys {
		undecoded[joinKey(k)] = true
	}
	occurrence := map[string]int{}
	for _, k := range keys {
		reported := false
		for j := 1; j < len(k); j++ {
			if undecoded[joinKey(k[:j])] {
				reported = true
				break
			}
		}
		if reported {
			continue
		}
		n := occurrence[joinKey(k)]
		occurrence[joinKey(k)]++
		msg := fmt.Sprintf("unknown key %q", k.String())
		if s := suggestKey(k); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.errs = append(p.errs, &lineError{file: p.name, line: p.lines.nth(k, n), msg: msg})
	}
}

var unmarshalerType = reflect.TypeOf((*toml.Unmarshaler)(nil)).Elem()

// suggestKey returns k with its first unknown piece replaced by the closest known key of that table, or "".
func suggestKey(k toml.Key) string {
	t := reflect.TypeOf(Config{})
	for i, piece := range k {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
			return "" // a map or a custom type: any key may be right
		}
		var names []string
		var next reflect.Type
		for j := 0; j < t.NumField(); j++ {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
			if strings.EqualFold(name, piece) {
				next = f.Type
			}
		}
		if next == nil {
			best := closest(piece, names)
			if best == "" {
				return ""
			}
			fixed := append(toml.Key(nil), k[:i+1]...)
			fixed[i] = best
			return fixed.String()
		}
		t = next
	}
	return ""
}

// closest returns the candidate nearest to s by edit distance, or "" when none is near enough.
func closest(s string, candidates []string) string {
	best, bestD := "", max(2, utf8.RuneCountInString(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
