package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxDecodeNodes bounds the work of decoding one file, whatever its aliases
// multiply.
const maxDecodeNodes = 100_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	rateType     = reflect.TypeFor[Rate]()
	pageType     = reflect.TypeFor[Page]()
)

// decoder decodes a yaml.Node into the config types by their yaml tags. It
// is ours rather than yaml's so that every error names the key path, an
// unknown key is an error with its line, ${VAR} is expanded in each value,
// and no value from the environment ever shows up in an error message.
type decoder struct {
	lookupEnv func(string) (string, bool)
	errs      []*FieldError
	failed    map[string]bool // paths with a decoding error
	lines     map[string]int  // line of each path given a non-null value
	env       map[string][]envVar
	literal   map[string]bool // paths given a non-empty value with no ${VAR}
	shellText map[string]bool // paths given the text $NAME as it is, with no ${VAR} or $$
	budget    int
}

func newDecoder(lookupEnv func(string) (string, bool)) *decoder {
	return &decoder{
		lookupEnv: lookupEnv,
		failed:    map[string]bool{},
		lines:     map[string]int{},
		env:       map[string][]envVar{},
		literal:   map[string]bool{},
		shellText: map[string]bool{},
		budget:    maxDecodeNodes,
	}
}

func (d *decoder) errorf(path string, n *yaml.Node, format string, args ...any) {
	e := &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	d.errs = append(d.errs, e)
	d.failed[path] = true
}

// line returns the line of path, or of its closest ancestor in the file.
func (d *decoder) line(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// hideEnv keeps the values of environment variables out of e, which
// validation wrote without knowing where the value came from. Its message's
// own words are public (the format), so only what was put into it (the
// arguments: a parser's error that may quote the value, cut short or not)
// is looked at: each value shows as its ${VAR}, and every word (a run
// between spaces) of an argument that still holds a piece of one, 4
// characters or more, shows as "…". The format's words are never touched: a
// value that shares letters with them ("verify-me" and "verify Meta's
// signatures") neither hides the message nor tells what it holds.
func (d *decoder) hideEnv(e *FieldError) {
	vars := d.env[e.Path]
	if len(vars) == 0 || len(e.args) == 0 {
		return
	}
	args := make([]any, len(e.args))
	changed := false
	for i, a := range e.args {
		args[i] = a
		var s string
		switch v := a.(type) {
		case string:
			s = v
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		default:
			continue // numbers and the like hold no piece of a value
		}
		if h, hidden := hideVars(s, vars); hidden {
			args[i], changed = h, true
		}
	}
	if changed {
		e.Msg = fmt.Sprintf(e.format, args...)
	}
}

// hideVars returns s with each of vars' values shown as its ${VAR}, and
// each word that still holds a piece of one (4 characters or more) as "…";
// hidden is false when s held none.
func hideVars(s string, vars []envVar) (string, bool) {
	orig := s
	for _, v := range vars {
		if v.value == "" {
			continue
		}
		s = strings.ReplaceAll(s, v.value, "${"+v.name+"}")
		if q := strconv.Quote(v.value); q[1:len(q)-1] != v.value {
			s = strings.ReplaceAll(s, q[1:len(q)-1], "${"+v.name+"}")
		}
	}
	// The ${VAR}s just written are not pieces of a value.
	named := make([]bool, len(s))
	for _, v := range vars {
		ph := "${" + v.name + "}"
		for off := 0; ; {
			j := strings.Index(s[off:], ph)
			if j < 0 {
				break
			}
			for k := off + j; k < off+j+len(ph); k++ {
				named[k] = true
			}
			off += j + len(ph)
		}
	}
	var hide []bool
	for _, v := range vars {
		for i := 0; i+4 <= len(v.value); i++ {
			g := v.value[i : i+4]
			for off := 0; ; {
				j := strings.Index(s[off:], g)
				if j < 0 {
					break
				}
				j += off
				if !named[j] || !named[j+3] {
					if hide == nil {
						hide = make([]bool, len(s))
					}
					for k := j; k < j+4; k++ {
						hide[k] = true
					}
				}
				off = j + 1
			}
		}
	}
	if hide == nil {
		return s, s != orig
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			b.WriteByte(' ')
			i++
			continue
		}
		end, hidden := i, false
		for end < len(s) && s[end] != ' ' {
			hidden = hidden || hide[end]
			end++
		}
		if hidden {
			b.WriteString("…")
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String(), true
}

// decode sets v from n. A null leaves v as it is, so defaults set beforehand
// stay.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(path, n, "unknown alias")
			return
		}
		n = n.Alias
	}
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorf(path, n, "the document is too large (too many aliases?)")
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	d.lines[path] = n.Line

	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		v, t = v.Elem(), t.Elem()
	}
	switch {
	case t == rateType || t == durationType:
		d.scalar(n, v, path)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(path, n, "want a mapping, got %s", kindName(n))
			return
		}
		d.mapping(n, v, path, map[string]int{}, false)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(path, n, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			e := s.Index(i)
			if t.Elem() == pageType {
				e.Set(reflect.ValueOf(defaultPage()))
			}
			d.decode(c, e, path+"["+strconv.Itoa(i)+"]")
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

// mapping decodes the keys of n into the struct v. Explicit keys come first,
// then "<<" merges, whose keys only fill what is still missing.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, seen map[string]int, merged bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(path, k, "keys must be strings, got %s", kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		f, known := fieldByKey(v.Type(), k.Value)
		p, shown := keyPath(v.Type(), path, k.Value, known)
		if line, dup := seen[k.Value]; dup {
			if !merged {
				d.errorf(p, k, "duplicate %s (first at line %d)", shown, line)
			}
			continue
		}
		seen[k.Value] = k.Line
		if !known {
			d.errorf(p, k, "unknown %s (known keys: %s)", shown, strings.Join(keysOf(v.Type()), ", "))
			continue
		}
		d.decode(val, v.FieldByIndex(f.Index), p)
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		switch m.Kind {
		case yaml.MappingNode:
			d.mapping(m, v, path, seen, true)
		case yaml.SequenceNode:
			for _, e := range m.Content {
				for e.Kind == yaml.AliasNode && e.Alias != nil {
					e = e.Alias
				}
				if e.Kind != yaml.MappingNode {
					d.errorf(path, e, "<< merges mappings, got %s", kindName(e))
					continue
				}
				d.mapping(e, v, path, seen, true)
			}
		default:
			d.errorf(path, m, "<< merges mappings, got %s", kindName(m))
		}
	}
}

// maxShownKey is the length past which an unknown key is not shown: the
// longest key is 17 characters.
const maxShownKey = 20

// keyPath returns the path of key, a key of the struct type t at path, and
// how to call the key in a message. An unknown key that is not a plain name
// (letters, _ and -, at most maxShownKey long: no key has a digit, and a
// token does) may be a key run together with its value, as
// "access_token:EAAB..." in a flow mapping, or a value written as a key: it
// stays out of the path and the message, which point at the mapping and say
// how to write it.
func keyPath(t reflect.Type, path, key string, known bool) (p, shown string) {
	if known || plainKey(key) {
		if path != "" {
			key = path + "." + key
		}
		return key, "key"
	}
	for _, k := range keysOf(t) {
		if rest, ok := strings.CutPrefix(key, k); ok && rest != "" && strings.ContainsRune(":= \t", rune(rest[0])) {
			return path, fmt.Sprintf("key (%s run together with its value, not shown); write %q, with a space after the colon", k, k+": value")
		}
	}
	return path, "key (not shown: not a plain name, so it may hold a value); write key: value, with a space after the colon"
}

func plainKey(key string) bool {
	if key == "" || len(key) > maxShownKey {
		return false
	}
	for _, c := range key {
		if c != '_' && c != '-' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	fields, ok := fieldsByKey.Load(t)
	if !ok {
		m := map[string]reflect.StructField{}
		for _, f := range reflect.VisibleFields(t) {
			if k := yamlKey(f); f.IsExported() {
				if _, dup := m[k]; !dup {
					m[k] = f
				}
			}
		}
		fields, _ = fieldsByKey.LoadOrStore(t, m)
	}
	f, ok := fields.(map[string]reflect.StructField)[key]
	return f, ok
}

// fieldsByKey holds each struct type's exported fields by YAML key, the
// first of a key kept: reflect.VisibleFields for every key of every Page
// was a sixth of an agency's config load.
var fieldsByKey sync.Map // reflect.Type: map[string]reflect.StructField

func keysOf(t reflect.Type) []string {
	var keys []string
	for _, f := range reflect.VisibleFields(t) {
		if k := yamlKey(f); f.IsExported() && k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

// scalar decodes a scalar value, after ${VAR} expansion, into a string,
// bool, int, time.Duration or Rate.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		if n.Style&yaml.FlowStyle != 0 {
			if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode &&
				envStyleName(n.Content[0].Value) && validVarName(n.Content[0].Value) && n.Content[1].ShortTag() == "!!null" {
				// {PAGE_TOKEN}: a variable without its $. Not named: it
				// may be a secret written in the file.
				d.errorf(path, n, "want %s, got %s; a variable is written with its $, like ${PAGE_TOKEN}", typeName(t), kindName(n))
				return
			}
			// A text written {{.FirstName}}, unquoted; the template's
			// example only where a reply text is wanted.
			hint := msgQuoteFlowBare
			if strings.HasSuffix(path, ".default_text") || strings.HasSuffix(path, ".text") {
				hint = msgQuoteFlow
			}
			d.errorf(path, n, "want %s, got %s; %s", typeName(t), kindName(n), hint)
			return
		}
		d.errorf(path, n, "want %s, got %s", typeName(t), kindName(n))
		return
	}
	s, vars, err := expand(n.Value, d.lookupEnv)
	if err != nil {
		d.errorf(path, n, "%s", err)
		if errors.As(err, new(*unsetVarError)) {
			d.errs[len(d.errs)-1].unsetVar = true
		}
		return
	}
	// Never repeat the value: one from the environment may be a secret, and
	// so may one written in the file, pasted into the wrong key. The key and
	// the line say where it is; a value from the environment is named by its
	// variables.
	shown := "is"
	if len(vars) > 0 {
		d.env[path] = vars
		shown = "the value of " + envNames(vars) + " is"
	} else if s != "" {
		d.literal[path] = true
		if s == n.Value && shellVar(s) != "" {
			d.shellText[path] = true
		}
	}
	if s == "" && t.Kind() != reflect.String {
		return // ${VAR} set to "": same as no value
	}
	switch {
	case t == rateType:
		r, err := ParseRate(s)
		if err != nil {
			d.errorf(path, n, "%s not a rate: %v", shown, err)
			return
		}
		v.Set(reflect.ValueOf(r))
	case t == durationType:
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(path, n, "%s not a duration (like 90s, 10m or 168h)", shown)
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.errorf(path, n, "%s not true or false", shown)
			return
		}
		v.SetBool(b)
	case t.Kind() == reflect.Int:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(path, n, "%s not an integer", shown)
			return
		}
		v.SetInt(i)
	default:
		d.errorf(path, n, "cannot decode into %s", t) // a type this decoder does not know
	}
}

func typeName(t reflect.Type) string {
	switch {
	case t == rateType:
		return "a rate"
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int:
		return "an integer"
	}
	return "a string"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// envVar is one ${VAR} substituted into a value.
type envVar struct{ name, value string }

// emptyVars names the variables that are set but empty and gave the value
// of path or of a key under it (redis.url for an error about redis), as
// "${A} is" or "${A} and ${B} are"; "" when there are none. A name not
// written as environment variables are (it may be a secret put in ${ }) is
// not shown.
func (d *decoder) emptyVars(path string) string {
	if path == "" {
		return ""
	}
	var empty []envVar
	hidden := false
	for p, vars := range d.env {
		if p != path && !strings.HasPrefix(p, path+".") && !strings.HasPrefix(p, path+"[") {
			continue
		}
		if slices.ContainsFunc(vars, func(v envVar) bool { return v.value != "" }) {
			continue // the value is not empty
		}
		for _, v := range vars {
			if !envStyleName(v.name) {
				hidden = true
				continue
			}
			if !slices.Contains(empty, v) {
				empty = append(empty, v)
			}
		}
	}
	if len(empty) == 0 {
		if hidden {
			return "a variable in ${...} is"
		}
		return ""
	}
	slices.SortFunc(empty, func(a, b envVar) int { return strings.Compare(a.name, b.name) })
	if len(empty) == 1 {
		return envNames(empty) + " is"
	}
	return envNames(empty) + " are"
}

// envNames returns the variables of vars as ${A}, or ${A} and ${B}.
func envNames(vars []envVar) string {
	var names []string
	for _, v := range vars {
		if n := "${" + v.name + "}"; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// expand replaces each ${VAR} in s by the variable's value and each "$$" by
// "$"; any other "$" stays as it is, so a regexp's "price$" needs no
// escaping. It returns the variables it substituted. Errors name the
// variable, never a value.
func expand(s string, lookupEnv func(string) (string, bool)) (string, []envVar, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var vars []envVar
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), vars, nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", nil, errors.New("unterminated ${ (write $$ for a literal $)")
			}
			name := s[2:end]
			if v, op, ok := strings.Cut(name, ":"); ok && validVarName(v) && op != "" && strings.IndexByte("-=?+", op[0]) >= 0 {
				// The shell's ${VAR:-default} and its kin, as Compose
				// takes them. Named only when written as environment
				// variables are (a secret may be put in ${ }), and
				// nothing after the operator is shown: a default may be
				// a secret.
				if envStyleName(v) {
					return "", nil, fmt.Errorf("${%s:%c...} is not supported: write ${%s} and set %s, or write the value itself", v, op[0], v, v)
				}
				return "", nil, errors.New("a ${VAR:-default} (or :=, :?, :+) is not supported: write ${VAR} and set the variable, or write the value itself")
			}
			if !validVarName(name) {
				// Not quoted: in a secret written in the file, the text
				// after a "${" is a piece of the secret.
				return "", nil, errors.New("invalid variable name in ${...} (letters, digits and _, not starting with a digit; write $$ for a literal $)")
			}
			val, ok := lookupEnv(name)
			if !ok {
				if !envStyleName(name) {
					// A valid name, yet not written as environment
					// variables are: it may be a secret put in ${ }.
					return "", nil, &unsetVarError{"a variable in ${...} is not set (its name is not shown: it is not written in capitals, digits and _ like an environment variable's, so it may be a secret; write $$ for a literal $)"}
				}
				return "", nil, &unsetVarError{"environment variable " + name + " is not set"}
			}
			b.WriteString(val)
			vars = append(vars, envVar{name, val})
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// unsetVarError is expand's error for a ${VAR} not set in the environment.
type unsetVarError struct{ msg string }

func (e *unsetVarError) Error() string { return e.msg }

// maxShownVarName is the length past which the name of an unset variable
// is not shown: names of environment variables are short, tokens long.
const maxShownVarName = 40

// envStyleName reports whether name is written as environment variables
// conventionally are, in capitals, digits and _, and is short: such a name
// is shown in an error, any other may be a secret written in ${ }.
func envStyleName(name string) bool {
	if len(name) > maxShownVarName {
		return false
	}
	for _, c := range name {
		if c != '_' && !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
