package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// phpPair is one entry of a PHP-serialized array, kept as the app's exact bytes.
type phpPair struct {
	raw     string // key and value, as serialized
	key     string // the key: a string key's text, or an integer key's digits
	intKey  bool
	value   string // the value's raw bytes
	text    string // a string value's text
	isText  bool
	truthy  bool // PHP's truthiness of a scalar value (arrays: non-empty)
	valueAt int  // offset of value in raw
}

// parsePHPArray parses a PHP-serialized array (`a:1:{s:13:"administrator";b:1;}`), as WordPress keeps
// wp_capabilities. Anything else is an error: the app's value is not overwritten blindly.
func parsePHPArray(s string) ([]phpPair, error) {
	p := &phpParser{s: s}
	pairs, err := p.array()
	if err == nil && p.i != len(s) {
		err = fmt.Errorf("text after the array at byte %d", p.i)
	}
	if err != nil {
		return nil, fmt.Errorf("not a PHP-serialized array: %w", err)
	}
	return pairs, nil
}

type phpParser struct {
	s string
	i int
}

func (p *phpParser) expect(lit string) error {
	if !strings.HasPrefix(p.s[p.i:], lit) {
		return fmt.Errorf("want %q at byte %d", lit, p.i)
	}
	p.i += len(lit)
	return nil
}

func (p *phpParser) number(end byte) (string, error) {
	j := strings.IndexByte(p.s[p.i:], end)
	if j <= 0 {
		return "", fmt.Errorf("want a number at byte %d", p.i)
	}
	n := p.s[p.i : p.i+j]
	if _, err := strconv.ParseFloat(n, 64); err != nil {
		return "", fmt.Errorf("bad number %q at byte %d", n, p.i)
	}
	p.i += j + 1
	return n, nil
}

func (p *phpParser) array() ([]phpPair, error) {
	if err := p.expect("a:"); err != nil {
		return nil, err
	}
	n, err := p.number(':')
	if err != nil {
		return nil, err
	}
	count, _ := strconv.Atoi(n)
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	pairs := make([]phpPair, 0, count)
	for k := 0; k < count; k++ {
		start := p.i
		var pair phpPair
		switch {
		case strings.HasPrefix(p.s[p.i:], "i:"):
			p.i += 2
			if pair.key, err = p.number(';'); err != nil {
				return nil, err
			}
			pair.intKey = true
		case strings.HasPrefix(p.s[p.i:], "s:"):
			if pair.key, err = p.str(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("want a key at byte %d", p.i)
		}
		pair.valueAt = p.i - start
		vstart := p.i
		if err := p.value(&pair); err != nil {
			return nil, err
		}
		pair.value, pair.raw = p.s[vstart:p.i], p.s[start:p.i]
		pairs = append(pairs, pair)
	}
	return pairs, p.expect("}")
}

// str reads s:LEN:"...";, LEN counting bytes.
func (p *phpParser) str() (string, error) {
	if err := p.expect("s:"); err != nil {
		return "", err
	}
	n, err := p.number(':')
	if err != nil {
		return "", err
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || p.i+1+l+2 > len(p.s) {
		return "", fmt.Errorf("bad string length at byte %d", p.i)
	}
	if err := p.expect(`"`); err != nil {
		return "", err
	}
	text := p.s[p.i : p.i+l]
	p.i += l
	return text, p.expect(`";`)
}

func (p *phpParser) value(pair *phpPair) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("want a value at byte %d", p.i)
	}
	switch p.s[p.i] {
	case 's':
		text, err := p.str()
		pair.text, pair.isText, pair.truthy = text, true, text != "" && text != "0"
		return err
	case 'b', 'i', 'd':
		p.i += 2
		n, err := p.number(';')
		f, _ := strconv.ParseFloat(n, 64)
		pair.truthy = f != 0
		return err
	case 'N':
		return p.expect("N;")
	case 'a':
		inner, err := p.array()
		pair.truthy = len(inner) > 0
		return err
	}
	return fmt.Errorf("unsupported value %q at byte %d", p.s[p.i], p.i)
}

func phpString(s string) string { return "s:" + strconv.Itoa(len(s)) + `:"` + s + `";` }

// phpRoles are the roles a PHP array grants: the keys of a map with a true value ({role: true}, as
// WordPress), or the string values of a list.
func phpRoles(pairs []phpPair) []string {
	var out []string
	for _, p := range pairs {
		switch {
		case !p.intKey && p.truthy:
			out = append(out, p.key)
		case p.intKey && p.isText:
			out = append(out, p.text)
		}
	}
	return out
}

// mergePHP rewrites a PHP array so that of the managed roles exactly want are granted; every other entry
// keeps its bytes. A list (integer keys) gets granted roles appended as values; a map (or an empty
// array) as `s:role;b:1;`.
func mergePHP(pairs []phpPair, managed map[string]bool, want []string) string {
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	list := len(pairs) > 0
	next := 0
	for _, p := range pairs {
		list = list && p.intKey
		if n, err := strconv.Atoi(p.key); err == nil && p.intKey && n >= next {
			next = n + 1
		}
	}
	var out []string
	have := map[string]bool{}
	for _, p := range pairs {
		role, held := p.key, !p.intKey && p.truthy
		if p.intKey {
			role, held = p.text, p.isText
		}
		switch {
		case !managed[role] || (!held && !wanted[role]):
			out = append(out, p.raw)
		case !wanted[role] || have[role]:
			// a managed role no longer granted (or granted twice): its entry goes
		case !held: // a managed role the map has as false: now granted
			out = append(out, p.raw[:p.valueAt]+"b:1;")
			have[role] = true
		default:
			out = append(out, p.raw)
			have[role] = true
		}
	}
	for _, w := range want {
		if have[w] {
			continue
		}
		if list {
			out = append(out, "i:"+strconv.Itoa(next)+";"+phpString(w))
			next++
		} else {
			out = append(out, phpString(w)+"b:1;")
		}
		have[w] = true
	}
	return "a:" + strconv.Itoa(len(out)) + ":{" + strings.Join(out, "") + "}"
}
