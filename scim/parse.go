package scim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// maxDepth bounds recursion on parentheses, "not" and brackets, so a hostile filter cannot exhaust the stack.
const maxDepth = 50

// parser is a recursive-descent parser for RFC 7644 section 3.4.2.2 filters, with the leniency real
// IdPs need. scimType is the RFC error type its errors carry, which depends on where the text came from.
type parser struct {
	scanner
	scimType string
	prefix   string // prepended to error details
	depth    int
}

func (p *parser) fail(format string, args ...any) *Error {
	return BadRequest(p.scimType, p.prefix+format, args...)
}

func (p *parser) unexpected(pos int, want string) *Error {
	return p.fail("unexpected %s at offset %d; expected %s", p.describe(pos), pos, want)
}

// ParseFilter parses a filter= query parameter or a search request's filter.
func ParseFilter(s string) (Expr, error) {
	p := &parser{scanner: scanner{src: s}, scimType: TypeInvalidFilter}
	p.skipSpace()
	if p.eof() {
		return nil, p.fail("empty filter")
	}
	e, err := p.or(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.unexpected(p.pos, `"and", "or" or the end of the filter`)
	}
	return e, nil
}

// ParsePath parses a PATCH operation's path.
func ParsePath(s string) (Path, error) {
	p := &parser{scanner: scanner{src: s}, scimType: TypeInvalidPath}
	return p.path()
}

// ParseAttrPath parses one entry of an attributes= or excludedAttributes= list. A bare schema URN
// (the segment before its last name is a version, as in "...:2.0:User") selects the whole extension and
// comes back as AttrPath{URN: s}. A value filter, which Microsoft's validator sends as
// attributes=emails[type eq "work"], is checked and then dropped: projection is per attribute.
func ParseAttrPath(s string) (AttrPath, error) {
	p := &parser{scanner: scanner{src: s}, scimType: TypeInvalidValue, prefix: fmt.Sprintf("attribute %q: ", s)}
	path, err := p.path()
	if err != nil {
		return AttrPath{}, err
	}
	a := path.Attr
	if path.Filter != nil {
		a.Sub = path.SubAttr
		return a, nil
	}
	if a.URN != "" && a.Sub == "" && version.MatchString(a.URN[strings.LastIndexByte(a.URN, ':')+1:]) {
		return AttrPath{URN: a.URN + ":" + a.Name}, nil
	}
	return a, nil
}

// ParseAttrList parses a comma-separated attributes= or excludedAttributes= list. Commas inside a
// value filter do not split, and empty entries are ignored.
func ParseAttrList(s string) ([]AttrPath, error) {
	var entries []string
	depth, inStr, esc, start := 0, false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case inStr:
			esc, inStr = c == '\\', c != '"'
		case c == '"' && depth > 0:
			inStr = true
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			entries, start = append(entries, s[start:i]), i+1
		}
	}
	var out []AttrPath
	for _, e := range append(entries, s[start:]) {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		a, err := ParseAttrPath(e)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *parser) path() (Path, error) {
	p.skipSpace()
	if p.eof() {
		return Path{}, p.fail("empty path")
	}
	start := p.pos
	tok := p.word()
	if tok == "" {
		return Path{}, p.unexpected(start, "an attribute name")
	}
	attr, err := p.attrPath(tok, start, false)
	if err != nil {
		return Path{}, err
	}
	path := Path{Attr: attr}
	p.skipSpace()
	if p.peek() == '[' {
		if path.Filter, err = p.bracket(attr, start); err != nil {
			return Path{}, err
		}
		if path.SubAttr, err = p.subAttr(); err != nil {
			return Path{}, err
		}
	}
	p.skipSpace()
	if !p.eof() {
		return Path{}, p.unexpected(p.pos, "the end of the path")
	}
	return path, nil
}

func (p *parser) or(inBracket bool) (Expr, error) {
	left, err := p.and(inBracket)
	for err == nil && p.keyword("or") {
		var right Expr
		if right, err = p.and(inBracket); err == nil {
			left = &LogicalExpr{Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) and(inBracket bool) (Expr, error) {
	left, err := p.unary(inBracket)
	for err == nil && p.keyword("and") {
		var right Expr
		if right, err = p.unary(inBracket); err == nil {
			left = &LogicalExpr{And: true, Left: left, Right: right}
		}
	}
	return left, err
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("filter nests deeper than %d levels at offset %d", maxDepth, pos)
	}
	return nil
}

// group parses "( filter )" with the cursor on "(".
func (p *parser) group(inBracket bool) (Expr, error) {
	open := p.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.pos++
	e, err := p.or(inBracket)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.unexpected(p.pos, fmt.Sprintf(`")" to close the "(" at offset %d`, open))
	}
	p.pos++
	p.depth--
	return e, nil
}

func (p *parser) unary(inBracket bool) (Expr, error) {
	p.skipSpace()
	if p.peek() == '(' {
		return p.group(inBracket)
	}
	start := p.pos
	w := p.word()
	if strings.EqualFold(w, "not") {
		p.skipSpace()
		if p.peek() != '(' {
			return nil, p.unexpected(p.pos, `"(" after "not"`)
		}
		x, err := p.group(inBracket)
		if err != nil {
			return nil, err
		}
		return &NotExpr{X: x}, nil
	}
	if w == "" {
		return nil, p.unexpected(start, `an attribute name, "not" or "("`)
	}
	attr, err := p.attrPath(w, start, inBracket)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != '[' {
		return p.comparison(attr)
	}
	if inBracket {
		return nil, p.fail("nested value filter at offset %d: a filter inside [...] cannot contain another [...]", p.pos)
	}
	f, err := p.bracket(attr, start)
	if err != nil {
		return nil, err
	}
	// Non-standard but sent by IdPs: emails[type eq "work"].value eq "x" means the element matching both.
	sub, err := p.subAttr()
	if err != nil || sub == "" {
		return &ValuePathExpr{Attr: attr, Filter: f}, err
	}
	c, err := p.comparison(AttrPath{Name: sub})
	if err != nil {
		return nil, err
	}
	return &ValuePathExpr{Attr: attr, Filter: &LogicalExpr{And: true, Left: f, Right: c}}, nil
}

func (p *parser) attrPath(tok string, pos int, inBracket bool) (AttrPath, error) {
	a, problem := splitAttrPath(tok)
	if problem != "" {
		return a, p.fail("invalid attribute path %q at offset %d: %s", tok, pos, problem)
	}
	if inBracket && (a.URN != "" || a.Sub != "") {
		return a, p.fail("invalid attribute %q at offset %d: inside [...] name a sub-attribute, such as \"value\"", tok, pos)
	}
	return a, nil
}

// bracket parses "[ filter ]" with the cursor on "[". attrPos is where attr was written.
func (p *parser) bracket(attr AttrPath, attrPos int) (Expr, error) {
	open := p.pos
	if attr.Sub != "" {
		return nil, p.fail("value filter at offset %d follows sub-attribute %q; only a multi-valued attribute takes [...]", open, attr.String())
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	p.pos++
	f, err := p.or(true)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ']' {
		return nil, p.unexpected(p.pos, fmt.Sprintf(`"]" to close the "[" at offset %d`, open))
	}
	p.pos++
	p.depth--
	return f, nil
}

// subAttr parses the optional ".name" after a value filter's "]".
func (p *parser) subAttr() (string, error) {
	p.skipSpace()
	if p.peek() != '.' {
		return "", nil
	}
	p.pos++
	p.skipSpace()
	start := p.pos
	if name := p.word(); isAttrName(name) {
		return name, nil
	}
	return "", p.unexpected(start, `a sub-attribute name after "]."`)
}

func (p *parser) comparison(attr AttrPath) (Expr, error) {
	p.skipSpace()
	start := p.pos
	op := Op(strings.ToLower(p.word()))
	switch op {
	case OpPr:
		return &CompareExpr{Attr: attr, Op: op}, nil
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
	default:
		return nil, p.unexpected(start, "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &CompareExpr{Attr: attr, Op: op, Value: v}, nil
}

func (p *parser) value() (any, error) {
	p.skipSpace()
	start := p.pos
	switch p.peek() {
	case '"':
		return p.str()
	case 0, '(', '[':
		return nil, p.unexpected(start, "a value")
	}
	w := p.bare()
	if w == "" {
		return nil, p.unexpected(start, "a value")
	}
	switch strings.ToLower(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if jsonNumber.MatchString(w) {
		return json.Number(w), nil
	}
	// IdPs send unquoted strings (Microsoft's validator: name.familyName eq Employee).
	return w, nil
}

// str decodes a JSON string literal with the cursor on its opening quote.
func (p *parser) str() (string, error) {
	start := p.pos
	i := start + 1
	for i < len(p.src) && p.src[i] != '"' {
		if p.src[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(p.src) {
		return "", p.fail("unterminated string starting at offset %d", start)
	}
	var s string
	if err := json.Unmarshal([]byte(p.src[start:i+1]), &s); err != nil {
		return "", p.fail("invalid string %s at offset %d: %v", p.describe(start), start, err)
	}
	p.pos = i + 1
	return s, nil
}
