package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode"
	"unicode/utf8"
)

// MaxTextRunes is the most characters a reply text may have.
const MaxTextRunes = 2000

// maxRenderBytes stops a runaway template long before it eats memory; a
// text this long fails CheckText anyway.
const maxRenderBytes = 64 << 10

// Errors of CheckText and Render.
var (
	ErrTextEmpty   = errors.New("config: reply text is empty")
	ErrTextTooLong = fmt.Errorf("config: reply text is longer than %d characters", MaxTextRunes)
	ErrTextControl = errors.New("config: reply text holds a control character (only tab, newline and carriage return are allowed)")
	ErrTextNotUTF8 = errors.New("config: reply text is not valid UTF-8")
)

// CheckText returns s without its leading and trailing white space, or an
// error: ErrTextEmpty when nothing visible is left (only white space and
// invisible format characters such as U+200B, unicode.Cf), ErrTextControl
// when it holds a control character other than tab, newline and carriage
// return (U+0000–U+001F, U+007F), ErrTextTooLong when it is longer than
// MaxTextRunes characters, ErrTextNotUTF8 when it is not valid UTF-8. The API
// and the enqueue command check the texts they are given with it, and Render
// the texts it renders.
func CheckText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrTextNotUTF8
	}
	lead := strings.TrimLeftFunc(s, unicode.IsSpace)
	skipped := utf8.RuneCountInString(s[:len(s)-len(lead)])
	s = strings.TrimRightFunc(lead, unicode.IsSpace)
	if blank(s) {
		return "", ErrTextEmpty
	}
	n := 0
	for _, r := range s {
		n++
		if control(r) {
			return "", &ControlError{Rune: r, At: skipped + n}
		}
	}
	if n > MaxTextRunes {
		return "", fmt.Errorf("%w (%d)", ErrTextTooLong, n)
	}
	return s, nil
}

// ControlError is CheckText's ErrTextControl: the character and where it is
// in the text given (1 for the first character). It never quotes the text.
type ControlError struct {
	Rune rune
	At   int
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("%v: U+%04X at character %d", ErrTextControl, e.Rune, e.At)
}

// Is makes a *ControlError match ErrTextControl.
func (e *ControlError) Is(target error) bool { return target == ErrTextControl }

// blank reports whether s shows nothing: it holds only white space
// (unicode.IsSpace) and invisible format characters (unicode.Cf, such as
// the zero-width space U+200B, the word joiner U+2060 and the byte order
// mark U+FEFF).
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// dropControls returns s without the control characters CheckText refuses.
func dropControls(s string) string {
	if !strings.ContainsFunc(s, control) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if control(r) {
			return -1
		}
		return r
	}, s)
}

// control reports whether r is a control character a reply text may not
// hold: C0 controls but tab, newline and carriage return, and DEL.
func control(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
}

// FirstName returns the first word of name that shows something, or "" for
// a blank name. A word of only invisible format characters or control
// characters (a right-to-left mark set apart by a space, as names written in
// Arabic or Hebrew script can hold) is passed over: taken for the first
// name, it printed nothing, and the person was greeted as one Graph gave no
// name.
func FirstName(name string) string {
	for _, f := range strings.Fields(name) {
		if !blank(dropControls(f)) {
			return f
		}
	}
	return ""
}

// Render returns the reply text for d: the text of the first rule whose match
// finds d.Message, else DefaultText. ok is false, with no error, when neither
// applies. An empty d.FirstName is taken from d.Name, an empty d.PageID is the
// Page's. Where an empty name was printed, the spaces around it are tidied
// (tidyGaps). The text is trimmed; one that is empty or longer than MaxTextRunes
// is an error wrapping ErrTextEmpty or ErrTextTooLong. Render is safe for
// concurrent use; on a Page that was not validated it compiles as it goes.
func (p *Page) Render(d TemplateData) (text string, ok bool, err error) {
	if d.FirstName == "" {
		d.FirstName = FirstName(d.Name)
	}
	if d.PageID == "" {
		d.PageID = p.ID
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		re := r.re
		if re == nil {
			if re, err = compileMatch(r.Match); err != nil {
				return "", true, fmt.Errorf("page %s rules[%d].match: %w", p.ID, i, err)
			}
		}
		if !re.MatchString(d.Message) {
			continue
		}
		text, err := execute(r.tmpl, "text", r.Text, d)
		if err != nil {
			return "", true, fmt.Errorf("page %s rules[%d].text: %w", p.ID, i, err)
		}
		return text, true, nil
	}
	if p.DefaultText == "" {
		return "", false, nil
	}
	text, err = execute(p.defaultTmpl, "default_text", p.DefaultText, d)
	if err != nil {
		return "", true, fmt.Errorf("page %s default_text: %w", p.ID, err)
	}
	return text, true, nil
}

// parseTemplate parses a reply template. missingkey=error matters for maps
// only; on TemplateData an unknown field fails when the template runs, which
// validation does on sample data.
func parseTemplate(name, text string) (*template.Template, error) {
	if i := strings.IndexByte(text, 0); i >= 0 {
		// CheckText would refuse it in the text too, but here it could
		// also pass for a name's mark (nameStart).
		return nil, &ControlError{Rune: 0, At: utf8.RuneCountInString(text[:i]) + 1}
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, templateParseError(err)
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("{{define}} is not allowed in a reply text")
	}
	if t.Tree != nil {
		if err := checkActions(t.Tree.Root); err != nil {
			return nil, err
		}
		markNames(t.Tree.Root, false)
	}
	return t, nil
}

// A person Graph gives no name (a comment without from, or with an empty
// name) would leave a gap where the template prints the name: "Thanks !",
// "Hi , thanks". parseTemplate brackets each action that prints a name
// directly ({{.FirstName}}, {{.Name}}, {{$.FirstName}}, {{$.Name}}) with
// two text nodes, nameStart and nameEnd; limitedBuffer takes them for marks
// (they reach no text), records where a name printed nothing, and render
// tidies the spaces around those places only (tidyGaps). They hold a NUL
// byte, which nothing else written can: people's words lose their control
// characters (dropControls) and parseTemplate refuses a template holding
// one. Names used otherwise ({{if .FirstName}}, {{or .FirstName "there"}},
// {{printf "%s" .Name}}) are the template's to handle.
const (
	nameStart = "\x00name("
	nameEnd   = "\x00name)"
)

// nameFields are the fields of TemplateData that hold a person's name.
var nameFields = map[string]bool{"FirstName": true, "Name": true}

// markNames brackets the actions of list that print a name with nameStart
// and nameEnd. inWith is whether dot is a {{with}}'s value, not the
// TemplateData (a .FirstName there fails, and is left alone).
func markNames(n parse.Node, inWith bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		nodes := make([]parse.Node, 0, len(n.Nodes))
		for _, c := range n.Nodes {
			if a, ok := c.(*parse.ActionNode); ok && printsName(a, inWith) {
				nodes = append(nodes,
					&parse.TextNode{NodeType: parse.NodeText, Pos: a.Pos, Text: []byte(nameStart)},
					a,
					&parse.TextNode{NodeType: parse.NodeText, Pos: a.Pos, Text: []byte(nameEnd)})
				continue
			}
			markNames(c, inWith)
			nodes = append(nodes, c)
		}
		n.Nodes = nodes
	case *parse.IfNode:
		markNames(n.List, inWith)
		markNames(n.ElseList, inWith)
	case *parse.WithNode:
		markNames(n.List, true)
		markNames(n.ElseList, inWith)
	}
}

// printsName reports whether a prints a name field of the TemplateData as
// it is: {{.FirstName}}, or {{$.Name}} anywhere.
func printsName(a *parse.ActionNode, inWith bool) bool {
	p := a.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch arg := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return !inWith && len(arg.Ident) == 1 && nameFields[arg.Ident[0]]
	case *parse.VariableNode:
		return len(arg.Ident) == 2 && arg.Ident[0] == "$" && nameFields[arg.Ident[1]]
	}
	return false
}

// checkActions rejects {{range}} and {{template}}: TemplateData holds
// nothing to range over, and both can run for hours without writing a byte
// ({{range 1000000000000}}), which no output limit stops.
func checkActions(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkActions(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return errors.Join(checkActions(n.List), checkActions(n.ElseList))
	case *parse.WithNode:
		return errors.Join(checkActions(n.List), checkActions(n.ElseList))
	case *parse.RangeNode:
		return errors.New("{{range}} is not allowed in a reply text")
	case *parse.TemplateNode:
		return errors.New("{{template}} is not allowed in a reply text")
	}
	return nil
}

// execute runs t (or parses text when t is nil) on d and checks the result.
func execute(t *template.Template, name, text string, d TemplateData) (string, error) {
	if t == nil {
		var err error
		if t, err = parseTemplate(name, text); err != nil {
			return "", err
		}
	}
	// What people wrote is theirs to write: a control character in a name
	// or a comment is dropped from the reply, not a reason to send none.
	// (One in the template itself is the config's fault: CheckText says so.)
	for _, f := range []*string{&d.FirstName, &d.Name, &d.UserID, &d.Message, &d.PageID, &d.PostID, &d.CommentID} {
		*f = dropControls(*f)
	}
	// A name that shows nothing is no name: {{if .Name}} is false on it,
	// and the spaces around where it is printed are tidied.
	for _, f := range []*string{&d.FirstName, &d.Name} {
		if blank(*f) {
			*f = ""
		}
	}
	text, err := render(t, d)
	// A comment quoted in the reply ({{.Message}}) may be longer than a
	// reply can be: the quote is cut, with an ellipsis, until the text fits,
	// rather than the person getting no reply. Each pass cuts the quote by
	// what the text is over (to MaxTextRunes, or by half, when the text was
	// too long even to count), so a template quoting it more than once fits
	// in a few passes.
	for pass := 0; errors.Is(err, ErrTextTooLong) && d.Message != "" && pass < 8; pass++ {
		m := []rune(strings.TrimSuffix(d.Message, "…"))
		over := max(len(m)-MaxTextRunes, (len(m)+1)/2)
		if n := utf8.RuneCountInString(strings.TrimSpace(text)); n > MaxTextRunes {
			// Each time the text quotes the comment takes its share.
			if k := strings.Count(text, d.Message); k > 0 {
				over = (n - MaxTextRunes + k - 1) / k
			} else {
				// Quoted changed ({{html .Message}}, {{printf "%q"
				// .Message}}): a character of it may take several in
				// the text, so the cut is the comment's share of what
				// the text is over, not all of it, which could leave
				// nothing of the comment.
				over = int((int64(n-MaxTextRunes)*int64(len(m)) + int64(n) - 1) / int64(n))
			}
		}
		keep := max(len(m)-over-1, 0)
		d.Message = strings.TrimRightFunc(string(m[:keep]), unicode.IsSpace) + "…"
		if keep == 0 {
			d.Message = ""
		}
		text, err = render(t, d)
	}
	return text, err
}

// render runs t on d: the text, checked (CheckText), or an error.
func render(t *template.Template, d TemplateData) (string, error) {
	var w limitedBuffer
	if err := t.Execute(&w, d); err != nil {
		if errors.Is(err, errRenderTooLong) {
			return "", fmt.Errorf("%w (more than %d bytes)", ErrTextTooLong, maxRenderBytes)
		}
		return "", templateExecError(err)
	}
	// A template that cuts people's words by bytes ({{slice .Name 0 4}})
	// can cut a character in two: the broken bytes are dropped, not sent,
	// and not a reason to send nothing. (The template itself is UTF-8: YAML
	// is.)
	text := w.String()
	if len(w.gaps) > 0 {
		text = tidyGaps(text, w.gaps)
	}
	text = strings.ToValidUTF8(text, "")
	checked, err := CheckText(text)
	if err != nil {
		return text, err
	}
	return checked, nil
}

var errRenderTooLong = errors.New("rendered text too long")

// tidyGaps returns s without the gaps empty names left at gaps (byte
// offsets in s, ascending). Only the spaces and tabs around a gap, and the
// punctuation that belonged with the name, change; the rest of the text is
// kept as written. Gaps with only spaces between them are one gap. A gap:
//   - at the start of a line loses the spaces after it and a run of the
//     punctuation that follows it (, ; : . ! ? and their forms in other
//     scripts, closingPunct), and the word after it starts with a capital:
//     "{{.FirstName}}, thanks" -> "Thanks" (the line's indentation stays);
//   - before , . ; : ! ? ) (or their forms in other scripts: "،", "，") or
//     the end of a line loses the spaces around it, and a comma just before
//     it: "Thanks !" -> "Thanks!", "Hi , thanks" ->
//     "Hi, thanks", "Thanks, {{.FirstName}}!" -> "Thanks!", "Hello
//     {{.FirstName}}" -> "Hello";
//   - between words keeps the spaces before it only: "Dear  team" ->
//     "Dear team".
func tidyGaps(s string, gaps []int) string {
	out := make([]byte, 0, len(s))
	pos := 0 // s[:pos] is in out
	for i := 0; i < len(gaps); {
		first := gaps[i]
		if first < pos {
			// Within what an earlier gap took.
			i++
			continue
		}
		a := first
		for a > pos && (s[a-1] == ' ' || s[a-1] == '\t') {
			a--
		}
		last, b := first, skipBlanks(s, first)
		for i++; i < len(gaps) && gaps[i] <= b; i++ {
			last, b = gaps[i], skipBlanks(s, gaps[i])
		}
		out = append(out, s[pos:a]...)
		pos = b
		lineStart := len(out) == 0 || out[len(out)-1] == '\n'
		end := b == len(s) || s[b] == '\n' || s[b] == '\r'
		switch {
		case lineStart:
			// The indentation before the name stays (on a line
			// left empty it goes); what only made sense after the name
			// goes.
			if !end {
				out = append(out, s[a:first]...)
			}
			for pos < len(s) {
				r, n := utf8.DecodeRuneInString(s[pos:])
				if !closingPunct(r) || r == ')' || r == '）' {
					break
				}
				pos += n
			}
			if pos > b {
				pos = skipBlanks(s, pos)
			}
			if r, n := utf8.DecodeRuneInString(s[pos:]); unicode.IsLower(r) {
				out = utf8.AppendRune(out, unicode.ToUpper(r))
				pos += n
			}
		case end || closingPunct(firstRune(s[b:])):
			if r, n := utf8.DecodeLastRune(out); isComma(r) {
				out = out[:len(out)-n]
			}
		case a < first:
			out = append(out, s[a:first]...)
		default:
			out = append(out, s[last:b]...)
		}
	}
	return string(append(out, s[pos:]...))
}

// closingPunct reports whether r is punctuation that closes what comes
// before it, in the scripts reply texts are written in: ASCII's , . ; : ! ?
// and ), the Arabic comma, semicolon, question mark and full stop, the
// ideographic comma and full stop and the full-width forms of Chinese and
// Japanese, and the ellipsis. Marks that open what follows (Spanish ¿ and ¡,
// a left parenthesis) are not.
func closingPunct(r rune) bool {
	switch r {
	case ',', '.', ';', ':', '!', '?', ')',
		'\u060C', '\u061B', '\u061F', '\u06D4', // Arabic script: ، ؛ ؟ ۔
		'\u3001', '\u3002', // ideographic: 、 。
		'\uFF0C', '\uFF0E', '\uFF1B', '\uFF1A', '\uFF01', '\uFF1F', '\uFF09', // full width: ， ． ； ： ！ ？ ）
		'\u2026': // …
		return true
	}
	return false
}

// isComma reports whether r is a comma: ASCII's, the Arabic, the
// ideographic or the full-width one.
func isComma(r rune) bool {
	return r == ',' || r == '\u060C' || r == '\u3001' || r == '\uFF0C'
}

// firstRune returns the first character of s (utf8.RuneError when none).
func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// skipBlanks returns i moved past the spaces and tabs at s[i:].
func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// limitedBuffer fails writes past maxRenderBytes. It takes the marks around
// a name (nameStart, nameEnd) out, and records in gaps where a name printed
// nothing.
type limitedBuffer struct {
	strings.Builder
	nameAt int
	gaps   []int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if len(p) == len(nameStart) && p[0] == 0 {
		switch string(p) {
		case nameStart:
			b.nameAt = b.Len()
			return len(p), nil
		case nameEnd:
			if b.nameAt == b.Len() {
				b.gaps = append(b.gaps, b.nameAt)
			}
			return len(p), nil
		}
	}
	if b.Len()+len(p) > maxRenderBytes {
		return 0, errRenderTooLong
	}
	return b.Builder.Write(p)
}

// sampleData is the first input validation renders a template on: a
// comment of a named person (replyShapes).
func sampleData(pageID string) TemplateData {
	return replyShapes(&Page{ID: pageID})[0].data
}

// text/template's errors quote the template ("function \"X\" not defined",
// "at <.X>: can't evaluate field X"), and a template may hold a secret pasted
// into the wrong key, so the errors of parseTemplate and execute say what is
// wrong in their own words, with where in the text it is.

var (
	// templateParseErr is a parse error: "template: NAME:LINE: PROBLEM".
	templateParseErr = regexp.MustCompile(`(?s)^template: [^:]*:([0-9]+): (.*)$`)
	// templateExecErr is the start of an execution error: "template: NAME:LINE:COL: ".
	templateExecErr = regexp.MustCompile(`^template: [^:]*:([0-9]+):([0-9]+): `)
	// unknownField is how an execution error on a missing field ends.
	unknownField = regexp.MustCompile(`can't evaluate field ([A-Za-z0-9_]+) in type [A-Za-z0-9_.*]+$`)
)

// templateFuncs lists the functions a reply text may call.
const templateFuncs = "and, call, eq, ge, gt, html, index, js, le, len, lt, ne, not, or, print, printf, println, slice, urlquery"

// templateParseProblems maps the start of text/template's parse problems to
// plain words; the first that matches wins.
var templateParseProblems = []struct{ prefix, msg string }{
	{"unclosed action", "an action {{ is not closed with }}"},
	{"unexpected EOF", "the text ends before the {{end}} of an {{if}} or {{with}}"},
	{"unexpected {{end}}", "an unexpected {{end}}: it closes no {{if}} or {{with}}"},
	{"unexpected {{else", "an unexpected {{else}}: it is in no {{if}} or {{with}}"},
	{`function "`, "it calls a function that does not exist; the functions are " + templateFuncs},
	{"undefined variable", "it uses a $variable that is not defined"},
	{"unterminated", "a quoted string inside an action is not closed"},
	{"bad character", "an action holds a character templates do not allow"},
	{"unrecognized character", "an action holds a character templates do not allow"},
	{"bad number syntax", "an action holds a malformed number"},
	{"unclosed comment", "a comment {{/* */}} is not closed"},
	{"comment ends before closing delimiter", "a comment {{/* */}} is not closed"},
	{"missing value for", "an action lacks a value, like {{}} or {{if}}"},
	{"empty command", "an action lacks a value, like {{}} or {{if}}"},
	{"unclosed left paren", "the parentheses in an action do not match"},
	{"unexpected right paren", "the parentheses in an action do not match"},
}

// templateParseError returns err, an error of template.Parse, in plain words.
func templateParseError(err error) error {
	m := templateParseErr.FindStringSubmatch(err.Error())
	if m == nil {
		return errors.New("is not a valid template; check its {{ }} actions")
	}
	where := ""
	if m[1] != "1" {
		where = " (line " + m[1] + " of the text)"
	}
	for _, p := range templateParseProblems {
		if strings.HasPrefix(m[2], p.prefix) {
			return fmt.Errorf("is not a valid template%s: %s", where, p.msg)
		}
	}
	return fmt.Errorf("is not a valid template%s; check its {{ }} actions", where)
}

// templateExecError returns err, an error of Template.Execute, in plain words.
func templateExecError(err error) error {
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return errors.New("the template fails")
	}
	msg := ee.Err.Error()
	at := "an action"
	if m := templateExecErr.FindStringSubmatch(msg); m != nil {
		// The column is counted from 0.
		col, _ := strconv.Atoi(m[2])
		at = "the action at column " + strconv.Itoa(col+1)
		if m[1] != "1" {
			at = "the action at line " + m[1] + ", column " + strconv.Itoa(col+1)
		}
	}
	switch {
	case unknownField.MatchString(msg):
		hint := ""
		if f := nearestField(unknownField.FindStringSubmatch(msg)[1]); f != "" {
			hint = " (did you mean ." + f + "?)"
		}
		return fmt.Errorf("%s names a field reply texts do not have%s; the fields are %s", at, hint, templateFields())
	case strings.Contains(msg, "is not a defined function"):
		return fmt.Errorf("%s calls a function that does not exist; the functions are %s", at, templateFuncs)
	case strings.Contains(msg, "wrong number of args"):
		return fmt.Errorf("%s calls a function with the wrong number of arguments", at)
	case strings.Contains(msg, "error calling "):
		return fmt.Errorf("%s calls a function that fails; check its arguments", at)
	case strings.Contains(msg, "can't give argument to non-function"), strings.Contains(msg, "has arguments but cannot be invoked"):
		return fmt.Errorf("%s gives arguments to a field, which takes none", at)
	}
	return fmt.Errorf("%s fails; check its fields, functions and arguments", at)
}

// templateFields returns the fields of TemplateData as ".A, .B and .C".
func templateFields() string {
	var names []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[TemplateData]()) {
		names = append(names, "."+f.Name)
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// nearestField returns the field of TemplateData that name is a likely
// misspelling of (another case, or at most 2 edits away), or "".
func nearestField(name string) string {
	best, bestDist := "", 3
	for _, f := range reflect.VisibleFields(reflect.TypeFor[TemplateData]()) {
		if strings.EqualFold(f.Name, name) {
			return f.Name
		}
		if d := editDistance(strings.ToLower(f.Name), strings.ToLower(name)); d < bestDist && len(name) >= 3 {
			best, bestDist = f.Name, d
		}
	}
	return best
}

// editDistance returns the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
