package sandbox

import (
	"fmt"
	"strconv"
	"strings"
)

// field is one entry of Graph's fields parameter, such as
// comments.limit(5).order(reverse_chronological){id,from{name}}.
type field struct {
	name   string
	mods   map[string]string // limit, order, filter, summary, ...
	sub    []field
	subRaw string // the text between the braces, for paging links
}

// parseFields parses a fields parameter; "" gives no fields (the defaults).
func parseFields(s string) ([]field, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := &fieldParser{s: s}
	fs, err := p.list()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.i], p.i)
	}
	return fs, nil
}

type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *fieldParser) name() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

func (p *fieldParser) list() ([]field, error) {
	var fs []field
	for {
		p.space()
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return fs, nil
	}
}

func (p *fieldParser) field() (field, error) {
	f := field{name: p.name()}
	if f.name == "" {
		return f, fmt.Errorf("expected a field name at position %d", p.i)
	}
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			mod := p.name()
			if mod == "" || p.i >= len(p.s) || p.s[p.i] != '(' {
				return f, fmt.Errorf("bad modifier of field %s at position %d", f.name, p.i)
			}
			end := strings.IndexByte(p.s[p.i:], ')')
			if end < 0 {
				return f, fmt.Errorf("unclosed modifier %s of field %s", mod, f.name)
			}
			if f.mods == nil {
				f.mods = map[string]string{}
			}
			f.mods[mod] = strings.TrimSpace(p.s[p.i+1 : p.i+end])
			p.i += end + 1
		case '{':
			if f.sub != nil {
				return f, fmt.Errorf("two field lists for field %s", f.name)
			}
			p.i++
			start := p.i
			sub, err := p.list()
			if err != nil {
				return f, err
			}
			if p.i >= len(p.s) || p.s[p.i] != '}' {
				return f, fmt.Errorf("unclosed field list of field %s", f.name)
			}
			f.sub, f.subRaw = sub, p.s[start:p.i]
			p.i++
		default:
			return f, nil
		}
	}
	return f, nil
}

// intMod returns a modifier's integer value, def when absent.
func (f field) intMod(name string, def int) (int, error) {
	v, ok := f.mods[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("modifier %s(%s) of field %s is not a number", name, v, f.name)
	}
	return n, nil
}

// withDefaults returns fs, or the defaults when fs is empty. Graph answers an
// object's id whatever fields were asked for, so id is added when missing.
func withDefaults(fs []field, defaults ...string) []field {
	if len(fs) > 0 {
		if !has(fs, "id") {
			fs = append(fs[:len(fs):len(fs)], field{name: "id"})
		}
		return fs
	}
	out := make([]field, len(defaults))
	for i, d := range defaults {
		out[i] = field{name: d}
	}
	return out
}

// has reports whether fs names a field.
func has(fs []field, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

// withIDs adds id to every non-empty subfield list once per request, so that
// writing each item does not.
func withIDs(fs []field) []field {
	for i := range fs {
		if len(fs[i].sub) > 0 {
			fs[i].sub = withIDs(withDefaults(fs[i].sub))
		}
	}
	return fs
}
