package scim

import (
	"regexp"
	"strconv"
	"strings"
)

// scanner is the cursor the parser drives. There is no separate token stream because the grammar is
// context sensitive: the same characters are an attribute path, an operator or an unquoted value
// depending on where they stand (IdPs send `userName sw O` and `meta.created gt 2015-10-10T14:38:21-07:00`).
type scanner struct {
	src string
	pos int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isDelim reports the bytes that end a word. Everything else is kept in the word and judged by the
// parser, so that an error can quote the whole offending word rather than its first odd byte.
func isDelim(c byte) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"'
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

// peek returns the current byte, or 0 at the end (0 never matches a byte the parser looks for).
func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

// word scans an attribute path, operator or keyword.
func (s *scanner) word() string {
	start := s.pos
	for s.pos < len(s.src) && !isDelim(s.src[s.pos]) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// bare scans an unquoted value. It stops only where a value cannot go on, so that values such as
// `example.com` or `2015-10-10T14:38:21.8617979-07:00` stay whole.
func (s *scanner) bare() string {
	start := s.pos
	for s.pos < len(s.src) {
		if c := s.src[s.pos]; isSpace(c) || c == ')' || c == ']' {
			break
		}
		s.pos++
	}
	return s.src[start:s.pos]
}

// keyword consumes the next word if it is k in any case, and otherwise leaves the cursor where it was.
func (s *scanner) keyword(k string) bool {
	save := s.pos
	s.skipSpace()
	if strings.EqualFold(s.word(), k) {
		return true
	}
	s.pos = save
	return false
}

// describe quotes the token at pos for an error message.
func (s *scanner) describe(pos int) string {
	if pos >= len(s.src) {
		return "end of input"
	}
	end := pos + 1
	switch s.src[pos] {
	case '(', ')', '[', ']':
	case '"':
		for end < len(s.src) && s.src[end] != '"' {
			if s.src[end] == '\\' {
				end++
			}
			end++
		}
		end++
	default:
		for end < len(s.src) && !isDelim(s.src[end]) {
			end++
		}
	}
	tok := s.src[pos:min(end, len(s.src))]
	if len(tok) > 40 {
		tok = tok[:40] + "..."
	}
	return strconv.Quote(tok)
}

// isAttrName is RFC 7643 ATTRNAME = ALPHA *(nameChar).
func isAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_' || c == '$')) {
			return false
		}
	}
	return true
}

var (
	jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	version    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
)

// splitAttrPath splits "[URN:]name[.sub]" at the last colon, because the URN itself contains colons
// and dots ("...:enterprise:2.0:User:manager.value"). problem is "" when tok is well formed.
func splitAttrPath(tok string) (a AttrPath, problem string) {
	rest := tok
	if i := strings.LastIndexByte(tok, ':'); i >= 0 {
		a.URN, rest = tok[:i], tok[i+1:]
		if len(a.URN) <= 4 || !strings.EqualFold(a.URN[:4], "urn:") {
			return a, "the part before the last \":\" must be a schema URN"
		}
		for i := 0; i < len(a.URN); i++ {
			if a.URN[i] <= ' ' || a.URN[i] > '~' {
				return a, "the schema URN may hold only printable ASCII"
			}
		}
	}
	name, sub, dotted := strings.Cut(rest, ".")
	if !isAttrName(name) {
		return a, strconv.Quote(name) + " is not a valid attribute name"
	}
	if dotted && !isAttrName(sub) {
		return a, strconv.Quote(sub) + " is not a valid sub-attribute name"
	}
	a.Name, a.Sub = name, sub
	return a, ""
}
