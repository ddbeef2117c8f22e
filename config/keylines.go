package config

import (
	"strconv"
	"strings"
)

// keyLines maps every key of a TOML document (its pieces lowercased and joined by joinKey) to the lines
// where it is defined, in document order. BurntSushi/toml keeps positions to itself, so scanKeyLines reads
// the text again: it follows [table] and [[array]] headers, dotted keys, inline tables and arrays, and
// skips strings and comments. It only runs on text the TOML parser has accepted.
type keyLines map[string][]int

func joinKey(k []string) string { return strings.ToLower(strings.Join(k, "\x00")) }

// exact returns the first line defining the key, or 0.
func (kl keyLines) exact(k []string) int {
	if l := kl[joinKey(k)]; len(l) > 0 {
		return l[0]
	}
	return 0
}

// nth returns the line of the n-th definition of the key (the n-th element of an array of tables), or
// else the line of its nearest enclosing key.
func (kl keyLines) nth(k []string, n int) int {
	if l := kl[joinKey(k)]; len(l) > 0 {
		return l[min(n, len(l)-1)]
	}
	return kl.find(k)
}

// find returns the line of the key, or of its nearest enclosing key that is in the document; 0 when none
// is. A piece may carry an array index, "extensions[1]", which picks the definition of that element.
func (kl keyLines) find(k []string) int {
	clean := make([]string, len(k))
	index := make([]int, len(k))
	for i, piece := range k {
		clean[i] = piece
		if open := strings.IndexByte(piece, '['); open > 0 && strings.HasSuffix(piece, "]") {
			if n, err := strconv.Atoi(piece[open+1 : len(piece)-1]); err == nil {
				clean[i], index[i] = piece[:open], n
			}
		}
	}
	for j := len(clean); j > 0; j-- {
		n := 0
		for i := 0; i < j; i++ {
			if index[i] > 0 {
				n = index[i]
			}
		}
		if l := kl[joinKey(clean[:j])]; len(l) > 0 {
			return l[min(n, len(l)-1)]
		}
	}
	return 0
}

type keyScanner struct {
	s    string
	i    int
	line int
	out  keyLines
}

func scanKeyLines(src string) keyLines {
	sc := &keyScanner{s: src, line: 1, out: keyLines{}}
	var table []string
	for {
		sc.skipBlank(true)
		if sc.eof() {
			return sc.out
		}
		start := sc.i
		if sc.peek() == '[' {
			double := strings.HasPrefix(sc.s[sc.i:], "[[")
			sc.next()
			if double {
				sc.next()
			}
			line := sc.line
			table = sc.key()
			sc.record(nil, table, line)
			sc.skipBlank(false)
			for !sc.eof() && sc.peek() == ']' {
				sc.next()
			}
		} else {
			line := sc.line
			k := sc.key()
			sc.record(table, k, line)
			sc.skipBlank(false)
			if sc.peek() == '=' {
				sc.next()
				sc.value(concat(table, k))
			}
		}
		if sc.i == start { // cannot happen on valid TOML; never loop forever
			sc.next()
		}
	}
}

// record notes that key (and each of its dotted prefixes) is defined at line, under the table prefix.
func (sc *keyScanner) record(prefix, key []string, line int) {
	for j := 1; j <= len(key); j++ {
		k := joinKey(concat(prefix, key[:j]))
		sc.out[k] = append(sc.out[k], line)
	}
}

func concat(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

func (sc *keyScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *keyScanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *keyScanner) next() {
	if sc.eof() {
		return
	}
	if sc.s[sc.i] == '\n' {
		sc.line++
	}
	sc.i++
}

// skipBlank skips spaces and comments, and newlines too when newlines is set.
func (sc *keyScanner) skipBlank(newlines bool) {
	for !sc.eof() {
		switch c := sc.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n'):
			sc.next()
		case c == '#':
			for !sc.eof() && sc.peek() != '\n' {
				sc.next()
			}
		default:
			return
		}
	}
}

// key reads a dotted key: bare, "quoted" or 'literal' pieces separated by dots.
func (sc *keyScanner) key() []string {
	var pieces []string
	for {
		sc.skipBlank(false)
		start := sc.i
		switch sc.peek() {
		case '"', '\'':
			sc.skipString()
			raw := sc.s[start:sc.i]
			piece := raw[1 : len(raw)-1]
			if raw[0] == '"' {
				if u, err := strconv.Unquote(raw); err == nil {
					piece = u
				}
			}
			pieces = append(pieces, piece)
		default:
			for !sc.eof() && isBareKeyChar(sc.peek()) {
				sc.next()
			}
			pieces = append(pieces, sc.s[start:sc.i])
		}
		sc.skipBlank(false)
		if sc.peek() != '.' {
			return pieces
		}
		sc.next()
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips a value; the keys of inline tables in it are recorded under path.
func (sc *keyScanner) value(path []string) {
	sc.skipBlank(false)
	switch sc.peek() {
	case '"', '\'':
		sc.skipString()
	case '{':
		sc.next()
		for !sc.eof() {
			sc.skipBlank(true)
			switch sc.peek() {
			case '}':
				sc.next()
				return
			case ',':
				sc.next()
				continue
			}
			start, line := sc.i, sc.line
			k := sc.key()
			sc.record(path, k, line)
			sc.skipBlank(true)
			if sc.peek() == '=' {
				sc.next()
				sc.value(concat(path, k))
			}
			if sc.i == start {
				sc.next()
			}
		}
	case '[':
		sc.next()
		for !sc.eof() {
			sc.skipBlank(true)
			switch sc.peek() {
			case ']':
				sc.next()
				return
			case ',':
				sc.next()
				continue
			}
			start := sc.i
			sc.value(path)
			if sc.i == start {
				sc.next()
			}
		}
	default: // number, boolean, date and time (which may hold a space)
		for !sc.eof() && !strings.ContainsRune(",]}#\n", rune(sc.peek())) {
			sc.next()
		}
	}
}

// skipString skips a basic, literal or multi-line string, the cursor on its first quote.
func (sc *keyScanner) skipString() {
	q := sc.peek()
	if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(q), 3)) {
		sc.next()
		sc.next()
		sc.next()
		for !sc.eof() {
			if q == '"' && sc.peek() == '\\' {
				sc.next()
				sc.next()
				continue
			}
			if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(q), 3)) {
				for !sc.eof() && sc.peek() == q { // up to two quotes may end the content
					sc.next()
				}
				return
			}
			sc.next()
		}
		return
	}
	sc.next()
	for !sc.eof() && sc.peek() != '\n' {
		c := sc.peek()
		sc.next()
		if q == '"' && c == '\\' {
			sc.next()
			continue
		}
		if c == q {
			return
		}
	}
}
