package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CheckJSONText refuses a request body any of whose strings, names or values, is not valid Unicode
// text: bytes that are not UTF-8 (0xff), an escaped lone surrogate (\ud800), or a C0 control character
// (U+0000 to U+001F, raw or escaped). It reads the raw bytes because encoding/json turns the first two
// into U+FFFD without a word, so after decoding they cannot be told from a real U+FFFD.
//
// Tab, line feed and carriage return are allowed only in an attribute named "formatted"
// (addresses.formatted, name.formatted: RFC 7643 4.1.2 lets a formatted address span lines); anywhere
// else (userName, displayName, emails) they are refused too: no IdP means them there, and they break
// log lines, CSV exports and the app's own screens.
//
// A body that is not JSON passes: the decoder reports the syntax error after this.
func CheckJSONText(body []byte) error {
	w := textWalker{src: body}
	return w.run()
}

// textFrame is one open object or array on the way to the current string.
type textFrame struct {
	object  bool
	wantKey bool   // in an object: the next string is a name
	key     string // in an object: the current member's name
	index   int    // in an array: the current element's index
	opPath  string // in a PATCH operation: its "path", which names the attribute its "value" is for
}

type textWalker struct {
	src   []byte
	stack []textFrame
}

func (w *textWalker) run() error {
	for i := 0; i < len(w.src); i++ {
		top := w.top()
		switch c := w.src[i]; c {
		case '{', '[':
			w.stack = append(w.stack, textFrame{object: c == '{', wantKey: c == '{'})
		case '}', ']':
			if len(w.stack) == 0 {
				return nil
			}
			w.stack = w.stack[:len(w.stack)-1]
		case ',':
			if top != nil && top.object {
				top.wantKey = true
			} else if top != nil {
				top.index++
			}
		case ':':
			if top != nil {
				top.wantKey = false
			}
		case '"':
			end := stringEnd(w.src, i)
			if end < 0 {
				return nil
			}
			raw := w.src[i+1 : end]
			if top != nil && top.object && top.wantKey {
				var name string
				if json.Unmarshal(w.src[i:end+1], &name) != nil {
					name = string(raw)
				}
				if problem := textProblem(raw, false); problem != "" {
					return BadRequest(TypeInvalidValue, "an attribute name in %q %s", w.path(), problem)
				}
				top.key = name
			} else if problem := textProblem(raw, w.allowsLines()); problem != "" {
				return BadRequest(TypeInvalidValue, "attribute %q %s", w.path(), problem)
			} else if top != nil && top.object && strings.EqualFold(top.key, "path") {
				_ = json.Unmarshal(w.src[i:end+1], &top.opPath)
			}
			i = end
		}
	}
	return nil
}

func (w *textWalker) top() *textFrame {
	if len(w.stack) == 0 {
		return nil
	}
	return &w.stack[len(w.stack)-1]
}

// path names where the walker is: "name.givenName", "emails[1].value", "urn:...:User:department".
// Inside the value of a PATCH operation with a path, it starts from that path ("displayName" rather
// than "Operations[0].value").
func (w *textWalker) path() string {
	var b strings.Builder
	prev := ""
	for _, f := range w.stack {
		switch {
		case f.object && f.opPath != "" && strings.EqualFold(f.key, "value"):
			b.Reset()
			b.WriteString(f.opPath)
			prev = f.opPath
		case f.object && f.key != "":
			if b.Len() > 0 {
				if strings.HasPrefix(strings.ToLower(prev), "urn:") {
					b.WriteByte(':')
				} else {
					b.WriteByte('.')
				}
			}
			b.WriteString(f.key)
			prev = f.key
		case !f.object:
			fmt.Fprintf(&b, "[%d]", f.index)
			prev = ""
		}
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

// allowsLines reports whether the current value is a "formatted" attribute, where line breaks belong.
func (w *textWalker) allowsLines() bool {
	for i := len(w.stack) - 1; i >= 0; i-- {
		if f := w.stack[i]; f.object {
			return strings.EqualFold(f.key, "formatted")
		}
	}
	return false
}

// stringEnd returns the index of the quote closing the string that opens at start, or -1.
func stringEnd(src []byte, start int) int {
	for i := start + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// textProblem describes what is wrong with the raw text of a JSON string, or returns "".
func textProblem(raw []byte, lines bool) string {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw):
			r, size := unescape(raw[i:])
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				low, lowSize := unescape(raw[i+size:])
				if low < 0xDC00 || low > 0xDFFF {
					return fmt.Sprintf("holds a lone UTF-16 surrogate (\\u%04x), which is not a character", r)
				}
				size += lowSize
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Sprintf("holds a lone UTF-16 surrogate (\\u%04x), which is not a character", r)
			case r >= 0 && r < 0x20 && !(lines && isLineSpace(r)):
				return controlProblem(r)
			}
			i += size
		case c < 0x20:
			if !(lines && isLineSpace(rune(c))) {
				return controlProblem(rune(c))
			}
			i++
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				return fmt.Sprintf("is not valid UTF-8 (byte 0x%02x at offset %d)", c, i)
			}
			i += size
		}
	}
	return ""
}

func isLineSpace(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }

func controlProblem(r rune) string {
	if r == 0 {
		return "holds a NUL character (U+0000)"
	}
	return fmt.Sprintf("holds the control character U+%04X", r)
}

// unescape decodes the escape sequence at the start of s (which begins with a backslash) and returns its
// code unit and length; -1 when s does not start with a complete escape.
func unescape(s []byte) (rune, int) {
	if len(s) < 2 || s[0] != '\\' {
		return -1, 0
	}
	switch s[1] {
	case 'u':
		if len(s) < 6 {
			return -1, len(s)
		}
		n, err := strconv.ParseUint(string(s[2:6]), 16, 16)
		if err != nil {
			return -1, 6
		}
		return rune(n), 6
	case 't':
		return '\t', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	}
	return rune(s[1]), 2
}
