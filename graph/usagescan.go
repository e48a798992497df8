package graph

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The usage headers' scanner. It reads the shapes Graph sends,
// {"call_count":28,"total_cputime":7,"total_time":25} and
// {"<id>":[{"type":"pages","call_count":100,...}],...}, with numbers or
// numeric strings as values, and reports false for anything else (nesting,
// null, escapes in a figure, non-ASCII keys), which is then left to
// encoding/json. Only valid JSON is scanned, so the two agree.

type usageScanner struct {
	s string
	i int
}

func (sc *usageScanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *usageScanner) peek() byte {
	sc.ws()
	if sc.i >= len(sc.s) {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *usageScanner) eat(c byte) bool {
	if sc.peek() != c {
		return false
	}
	sc.i++
	return true
}

// str reads a string; ok is false at a backslash or a byte >= 0x80 when
// plain is set (a key or a figure must be plain ASCII to be scanned).
func (sc *usageScanner) str(plain bool) (string, bool) {
	if !sc.eat('"') {
		return "", false
	}
	start := sc.i
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return sc.s[start : sc.i-1], true
		case c == '\\':
			if plain {
				return "", false
			}
			sc.i += 2
			continue
		case c >= 0x80 && plain:
			return "", false
		}
		sc.i++
	}
	return "", false
}

// figure reads a number or a plain string and converts it as flexFloat does.
func (sc *usageScanner) figure() (float64, bool) {
	var raw string
	if sc.peek() == '"' {
		s, ok := sc.str(true)
		if !ok {
			return 0, false
		}
		raw = strings.TrimSpace(s)
	} else {
		start := sc.i
		for sc.i < len(sc.s) && strings.IndexByte("+-0123456789.eE", sc.s[sc.i]) >= 0 {
			sc.i++
		}
		if sc.i == start {
			return 0, false // null, true, an object...: leave it to encoding/json
		}
		raw = sc.s[start:sc.i]
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f != f {
		return 0, true
	}
	return f, true
}

// value reads a key's value into f: a figure, or an unknown key's string or
// number (skipped); anything else stops the scan.
func (sc *usageScanner) value(f *usageFigures, key string) bool {
	var dst *flexFloat
	switch {
	case strings.EqualFold(key, "call_count"):
		dst = &f.CallCount
	case strings.EqualFold(key, "total_cputime"):
		dst = &f.TotalCPUTime
	case strings.EqualFold(key, "total_time"):
		dst = &f.TotalTime
	case strings.EqualFold(key, "estimated_time_to_regain_access"):
		dst = &f.Regain
	}
	if dst == nil {
		switch c := sc.peek(); {
		case c == '"':
			_, ok := sc.str(false)
			return ok
		case c == '-' || c >= '0' && c <= '9':
			_, ok := sc.figure()
			return ok
		}
		return false
	}
	v, ok := sc.figure()
	if ok {
		*dst = flexFloat(v)
	}
	return ok
}

// figures reads one flat object of figures.
func (sc *usageScanner) figures() (usageFigures, bool) {
	var f usageFigures
	if !sc.eat('{') {
		return f, false
	}
	if sc.eat('}') {
		return f, true
	}
	for {
		key, ok := sc.str(true)
		if !ok || !sc.eat(':') || !sc.value(&f, key) {
			return f, false
		}
		if sc.eat('}') {
			return f, true
		}
		if !sc.eat(',') {
			return f, false
		}
	}
}

func (sc *usageScanner) end() bool {
	sc.ws()
	return sc.i == len(sc.s)
}

// scanFigures adds X-App-Usage or X-Page-Usage v to u; false: not scanned.
func scanFigures(v string, u *Usage) bool {
	if !json.Valid([]byte(v)) {
		return true // encoding/json would ignore it too
	}
	sc := usageScanner{s: v}
	f, ok := sc.figures()
	if !ok || !sc.end() {
		return false
	}
	u.add(f)
	return true
}

// scanBUC adds X-Business-Use-Case-Usage v to u; false: not scanned.
func scanBUC(v string, u *Usage) bool {
	if !json.Valid([]byte(v)) {
		return true
	}
	sc := usageScanner{s: v}
	w := *u // u changes only if the whole header scans
	if !sc.eat('{') {
		return false
	}
	if !sc.eat('}') {
		for {
			// Every id's list counts, a repeated id's too (addBUCJSON).
			_, ok := sc.str(true)
			if !ok || !sc.eat(':') || !sc.eat('[') {
				return false
			}
			if !sc.eat(']') {
				for {
					f, ok := sc.figures()
					if !ok {
						return false
					}
					w.add(f)
					if sc.eat(']') {
						break
					}
					if !sc.eat(',') {
						return false
					}
				}
			}
			if sc.eat('}') {
				break
			}
			if !sc.eat(',') {
				return false
			}
		}
	}
	if !sc.end() {
		return false
	}
	*u = w
	return true
}
