package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The YAML parser's own messages may quote the file: "unknown anchor 'X'
// referenced" repeats a token written as *X, and a later version may quote
// more. A secret can be written in the file, so Parse never passes one on:
// it names the line and says what is wrong in its own words, from the list
// below of the problems go.yaml.in/yaml/v3 reports; any other message gives
// a plain "not valid YAML".

// problemSource is where in the parser a problem comes from, which decides
// how its line is counted.
type problemSource int

const (
	fromScanner problemSource = iota // the line is counted from 1
	fromParser                       // the line is counted from 0 (a bug of yaml v3)
	fromReader                       // no line: found here
)

type yamlProblem struct {
	from problemSource
	msg  string
}

const (
	msgDirective = "a malformed or unsupported % directive; put a value that starts with % in quotes"
	msgTag       = "a malformed or unknown tag (!...); put a value that starts with ! in quotes"
	msgEscape    = `an invalid \ escape in a double-quoted value; write \\ for a backslash, or use single quotes`
	msgEncoding  = "the file is not valid UTF-8 text"
	msgInvalid   = "the file is not valid YAML"
	msgAlias     = "an alias (*name) refers to an anchor (&name) the file does not define before it; put a value that starts with * in quotes"
	msgTooDeep   = "the file nests too deeply"
	msgReserved  = "a value starts with a character YAML reserves (@ or `); put the value in quotes"
	msgTab       = "a tab in the indentation; YAML indents with spaces"
	// msgQuoteFlow is said of a value that starts with { or [ and is not
	// quoted: YAML reads a { } mapping or a [ ] list there, most often of
	// a reply text that starts with a template action.
	msgQuoteFlow = msgQuoteFlowBare + `, like "{{.FirstName}}, thanks!"`
	// msgQuoteFlowBare is the same said of a key that takes no reply text
	// (redis.url: [redis://...]), where a template's example misleads.
	msgQuoteFlowBare = `a value that starts with { or [ is read as a { } mapping or a [ ] list: put it in quotes`
)

// Problems that need more than the table below.
const (
	problemCannotStart = "found character that cannot start any token"
	problemEndInQuote  = "found unexpected end of stream"      // in a quoted scalar
	problemDocInQuote  = "found unexpected document indicator" // in a quoted scalar
)

// yamlProblems maps the problems of go.yaml.in/yaml/v3 (scannerc.go,
// parserc.go, readerc.go), none of which quotes the file, to plain words.
var yamlProblems = map[string]yamlProblem{
	problemCannotStart:                                             {fromScanner, msgReserved}, // or a tab: see yamlError
	"could not find expected ':'":                                  {fromScanner, "a key without ':' after it, or a value not indented under its key; write key: value, with a space after the colon"},
	"mapping values are not allowed in this context":               {fromScanner, "a ': ' where no key can start; check the indentation, or put a value that holds ': ' in quotes"},
	"block sequence entries are not allowed in this context":       {fromScanner, "a list item (- ...) where none can be; check the indentation"},
	"mapping keys are not allowed in this context":                 {fromScanner, "an explicit key (? ...) where none can be; check the indentation"},
	"did not find expected alphabetic or numeric character":        {fromScanner, "an anchor (&name) or alias (*name) whose name is empty or holds characters other than letters, digits, _ and -; put a value that starts with & or * in quotes"},
	"found unknown directive name":                                 {fromScanner, msgDirective},
	"could not find expected directive name":                       {fromScanner, msgDirective},
	"found unexpected non-alphabetical character":                  {fromScanner, msgDirective},
	"did not find expected digit or '.' character":                 {fromScanner, msgDirective},
	"found extremely long version number":                          {fromScanner, msgDirective},
	"did not find expected version number":                         {fromScanner, msgDirective},
	"did not find expected whitespace":                             {fromScanner, msgDirective},
	"did not find expected comment or line break":                  {fromScanner, "unexpected text after a block scalar indicator (| or >) or in a % directive; put the value in quotes"},
	"did not find the expected '>'":                                {fromScanner, msgTag},
	"did not find expected whitespace or line break":               {fromScanner, msgTag},
	"did not find expected '!'":                                    {fromScanner, msgTag},
	"did not find expected tag URI":                                {fromScanner, msgTag},
	"did not find URI escaped octet":                               {fromScanner, msgTag},
	"found an incorrect leading UTF-8 octet":                       {fromScanner, msgTag},
	"found an incorrect trailing UTF-8 octet":                      {fromScanner, msgTag},
	"found an indentation indicator equal to 0":                    {fromScanner, "a block scalar (| or >) with an indentation indicator of 0; use 1 to 9, or none"},
	"found a tab character where an indentation space is expected": {fromScanner, "a tab in the indentation of a block scalar (| or >); indent with spaces"},
	"found a tab character that violates indentation":              {fromScanner, msgTab},
	problemDocInQuote:                                              {fromScanner, "a quoted value is not closed before a --- or ... line"},
	problemEndInQuote:                                              {fromScanner, "a quoted value is never closed"},
	"found unknown escape character":                               {fromScanner, msgEscape},
	"did not find expected hexdecimal number":                      {fromScanner, msgEscape},
	"found invalid Unicode character escape code":                  {fromScanner, msgEscape},

	"did not find expected <stream-start>":   {fromParser, "the document does not start where expected"},
	"did not find expected <document start>": {fromParser, "the document does not start where expected"},
	"found undefined tag handle":             {fromParser, msgTag},
	"did not find expected node content":     {fromParser, "a value is missing or misplaced"},
	"did not find expected '-' indicator":    {fromParser, "a line inside a list that is not an item (- ...); check the indentation"},
	"did not find expected key":              {fromParser, "a line that is not a key at this indentation; check the indentation"},
	"did not find expected ',' or ']'":       {fromParser, "a [ ] list is not closed, or its items are not separated by commas"},
	"did not find expected ',' or '}'":       {fromParser, "a { } mapping is not closed, or its entries are not separated by commas"},
	"found duplicate %YAML directive":        {fromParser, msgDirective},
	"found incompatible YAML document":       {fromParser, msgDirective},
	"found duplicate %TAG directive":         {fromParser, msgDirective},

	"invalid leading UTF-8 octet":        {fromReader, msgEncoding},
	"incomplete UTF-8 octet sequence":    {fromReader, msgEncoding},
	"invalid trailing UTF-8 octet":       {fromReader, msgEncoding},
	"invalid length of a UTF-8 sequence": {fromReader, msgEncoding},
	"invalid Unicode character":          {fromReader, msgEncoding},
	"incomplete UTF-16 character":        {fromReader, msgEncoding},
	"unexpected low surrogate area":      {fromReader, msgEncoding},
	"incomplete UTF-16 surrogate pair":   {fromReader, msgEncoding},
	"expected low surrogate area":        {fromReader, msgEncoding},
	"control characters are not allowed": {fromReader, "a control character (other than tab and line breaks)"},
}

// maxSearchBytes bounds the input re-parsed to find the line of a problem:
// a few hundred times a configuration file, and a fraction of a second.
const maxSearchBytes = 4 << 20

// parseNode parses the first YAML document of data.
func parseNode(data []byte) (*yaml.Node, *yaml.Decoder, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&root)
	return &root, dec, err
}

// yamlError returns the FieldError for err, a parser error on data: the
// line of the problem and what it is, quoting nothing of data.
func yamlError(err error, data []byte) *FieldError {
	fe := yamlFieldError(err, data)
	if n, r := separatorLine(data, fe.Line); n > 0 {
		// yaml v3 reads these as line breaks (YAML 1.1), where editors show
		// none: a value pasted with one is cut in two, and the problem
		// yaml names is a symptom.
		fe.Msg += fmt.Sprintf("; line %d holds a Unicode %s (U+%04X), which YAML reads as a line break though editors show none: delete it, or write it as \\u%04X inside double quotes", n, separators[r], r, r)
	}
	return fe
}

// separators are the characters yaml v3 reads as line breaks besides CR and
// LF, by name.
var separators = map[rune]string{0x85: "next-line character", 0x2028: "line separator", 0x2029: "paragraph separator"}

// separatorLine returns the line of the first of the separators in data and
// which it is, if it is on line l or before (l 0: anywhere), else 0.
func separatorLine(data []byte, l int) (int, rune) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if _, ok := separators[r]; ok {
			if n := lineAt(data, i); l == 0 || n <= l {
				return n, r
			}
			return 0, 0
		}
		i += size
	}
	return 0, 0
}

// yamlFieldError is yamlError but for the separators' hint.
func yamlFieldError(err error, data []byte) *FieldError {
	problem, line := splitYAMLError(err)
	if name, ok := unknownAnchor(problem); ok {
		return &FieldError{Line: aliasLine(data, name), Msg: msgAlias}
	}
	p, known := yamlProblems[problem]
	if !known {
		if strings.HasPrefix(problem, "exceeded max depth of ") {
			return &FieldError{Line: max(line, 1), Msg: msgTooDeep} // a scanner problem: yaml v3 omits line 1
		}
		// A message this code does not know may quote the file.
		return &FieldError{Line: line, Msg: msgInvalid}
	}
	switch p.from {
	case fromReader:
		line = badCharLine(data)
	case fromParser:
		line++ // yaml v3 counts a parser error's line from 0, and omits line 0
	default:
		line = max(line, 1) // yaml v3 omits line 1
	}
	if p.from == fromReader {
		return &FieldError{Line: line, Msg: p.msg}
	}
	// A problem at the end of the file is on the line after the last.
	line = problemLine(data, problem, min(line, lastLine(data)))
	msg := p.msg
	if problem == problemCannotStart && tabIndented(data, line) {
		// yaml says the same of a tab as of an @ or a `.
		msg = msgTab
	}
	if text := lineText(data, line); unquotedFlowText(lineValue(text)) {
		// yaml's problem (a key expected, a mapping not closed) is a
		// symptom of the text's { or [, and "check the indentation" sent
		// the user to the wrong place. The reply text's example only on a
		// reply text's line, as for a type error (decoder.scalar): at
		// redis.url: [::1]:6379 it sent the user looking for a template.
		msg = msgQuoteFlowBare
		if replyTextLine(text) {
			msg = msgQuoteFlow
		}
	} else if flowProblems[problem] && unquotedVarNear(data, line) {
		// ${VAR}'s braces close a { } mapping early: yaml's problem names
		// the mapping, not the variable that must be quoted.
		msg += `; a ${VAR} inside [ ] or { } must be in quotes ("${VAR}"), or its } ends the mapping`
	}
	if problem != problemEndInQuote && problem != problemDocInQuote {
		if open := openQuoteLine(data, line); open > 0 {
			// The quoted value runs on over the line break, and what
			// follows its next quote is read as plain text: yaml's problem
			// is a symptom, often of a quote not closed on its line.
			msg = fmt.Sprintf("a quote opened on line %d may not be closed, so the quoted value runs on to this line (if it is meant to: %s)", open, msg)
		}
	}
	return &FieldError{Line: line, Msg: msg}
}

// flowProblems are yaml's problems with a [ ] list or a { } mapping.
var flowProblems = map[string]bool{
	"did not find expected ',' or ']'": true,
	"did not find expected ',' or '}'": true,
}

// unquotedVarNear reports whether line l of data, or one of the two before it
// (a mapping may span lines), holds a ${ that no quote opens.
func unquotedVarNear(data []byte, l int) bool {
	for i := max(l-2, 1); i <= l; i++ {
		text := lineText(data, i)
		for j := 0; ; {
			k := bytes.Index(text[j:], []byte("${"))
			if k < 0 {
				break
			}
			j += k
			if j == 0 || (text[j-1] != '"' && text[j-1] != '\'') {
				return true
			}
			j += 2
		}
	}
	return false
}

// lineValue returns the value written on a line of a block mapping or list:
// what follows its "key: " and "- ", or the line without its indentation.
func lineValue(text []byte) []byte {
	v := bytes.TrimLeft(text, " ")
	for bytes.HasPrefix(v, []byte("- ")) {
		v = bytes.TrimLeft(v[2:], " ")
	}
	if i := bytes.Index(v, []byte(": ")); i > 0 && !bytes.ContainsAny(v[:i], "{[\"'#") {
		v = bytes.TrimLeft(v[i+2:], " ")
	}
	return v
}

// replyTextLine reports whether text, a line of the file, sets a reply text
// (its key is text or default_text) or holds a template action ({{), where
// the reply text's example of quoting fits.
func replyTextLine(text []byte) bool {
	if bytes.Contains(text, []byte("{{")) {
		return true
	}
	k := bytes.TrimLeft(text, " ")
	for bytes.HasPrefix(k, []byte("- ")) {
		k = bytes.TrimLeft(k[2:], " ")
	}
	i := bytes.Index(k, []byte(": "))
	if i <= 0 {
		return false
	}
	k = k[:i]
	return bytes.Equal(k, []byte("text")) || bytes.Equal(k, []byte("default_text"))
}

// unquotedFlowText reports whether v, a value as lineValue gives it, is a
// text that YAML reads as a { } mapping or a [ ] list: one starting with
// "{{" (a template action), or a { } or [ ] followed by more than a comment.
func unquotedFlowText(v []byte) bool {
	if bytes.HasPrefix(v, []byte("{{")) {
		return true
	}
	if len(v) == 0 || v[0] != '{' && v[0] != '[' {
		return false
	}
	depth := 0
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				rest := bytes.TrimSpace(v[i+1:])
				return len(rest) > 0 && rest[0] != '#' && rest[0] != ','
			}
		}
	}
	return false
}

// lineText returns line l of data (counted from 1) without its line break,
// or nil.
func lineText(data []byte, l int) []byte {
	ends := lineEnds(data)
	if l < 1 || l > len(ends) {
		return nil
	}
	start := 0
	if l > 1 {
		start = ends[l-2]
	}
	return bytes.TrimRight(data[start:ends[l-1]], "\r\n")
}

// tabIndented reports whether line l of data has a tab in its indentation:
// before its first character other than a space, or than a "-" of a list
// item followed by a space or a tab.
func tabIndented(data []byte, l int) bool {
	text := lineText(data, l)
	for i, c := range text {
		switch {
		case c == '\t':
			return true
		case c == ' ':
		case c == '-' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'):
		default:
			return false
		}
	}
	return false
}

// openQuoteLine returns the line where a quoted value opens that is still
// open at the end of the line before line l, or 0 when none is. It parses
// the file up to there once: a quoted value open at its end is the one
// problem yaml then reports as "found unexpected end of stream".
func openQuoteLine(data []byte, l int) int {
	ends := lineEnds(data)
	if l < 2 || l-1 > len(ends) {
		return 0
	}
	_, _, err := parseNode(data[:ends[l-2]])
	if err == nil {
		return 0
	}
	problem, open := splitYAMLError(err)
	if problem != problemEndInQuote {
		return 0
	}
	// yaml names the line where the quoted value starts, counted from 1,
	// except that it omits line 1 and names the end instead.
	if open < 1 || open >= l {
		return 1
	}
	return open
}

// splitYAMLError returns the problem of a yaml v3 error, "yaml: [line N: ]problem",
// and the line it names, or 0.
func splitYAMLError(err error) (problem string, line int) {
	problem = strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(problem, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil && l >= 0 {
				return after, l
			}
		}
	}
	return problem, 0
}

// unknownAnchor returns the name in "unknown anchor 'name' referenced".
func unknownAnchor(problem string) (string, bool) {
	name, ok := strings.CutPrefix(problem, "unknown anchor '")
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, "' referenced")
	return name, ok && name != ""
}

// problemLine returns the line where the problem is. yaml v3 names the
// start of the enclosing construct (a list, a mapping, a scalar) where it
// has one, which can be many lines above the mistake: the first line from
// there whose text up to its end already gives the same problem is the
// line of the mistake. It returns from when none does.
func problemLine(data []byte, problem string, from int) int {
	ends := lineEnds(data)
	budget := maxSearchBytes
	for l := max(from, 1); l <= len(ends); l++ {
		if budget -= ends[l-1]; budget < 0 {
			break
		}
		_, _, err := parseNode(data[:ends[l-1]])
		if err == nil {
			continue
		}
		if p, _ := splitYAMLError(err); p == problem {
			return l
		}
	}
	return from
}

// lineEnds returns the offset just past each line of data, its line break
// included; the last line may have none. Line breaks are counted as yaml
// counts them: \n, \r\n and a lone \r.
func lineEnds(data []byte) []int {
	var ends []int
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			ends = append(ends, i+1)
		case '\n':
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] < len(data) {
		ends = append(ends, len(data))
	}
	return ends
}

// lastLine returns the last line of data that holds more than spaces, or 1.
func lastLine(data []byte) int {
	ends := lineEnds(data)
	for l := len(ends); l > 1; l-- {
		if len(bytes.TrimSpace(data[ends[l-2]:ends[l-1]])) > 0 {
			return l
		}
	}
	return 1
}

// lineAt returns the line of the byte at offset.
func lineAt(data []byte, offset int) int {
	for i, end := range lineEnds(data) {
		if offset < end {
			return i + 1
		}
	}
	return 0
}

// badCharLine returns the line of the first byte that is not valid UTF-8
// or is a character YAML does not allow, or 0 (as for UTF-16 files, which
// yaml reads too).
func badCharLine(data []byte) int {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return 0
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || !yamlAllowed(r) {
			return lineAt(data, i)
		}
		i += size
	}
	return 0
}

// yamlAllowed reports whether YAML allows r in a file (readerc.go).
func yamlAllowed(r rune) bool {
	switch {
	case r == 0x09, r == 0x0A, r == 0x0D, r >= 0x20 && r <= 0x7E, r == 0x85:
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
	default:
		return false
	}
	return true
}

// aliasLine returns the line of the first alias *name, which yaml reports
// without a line, or 0 if it cannot tell. The text "*name" may also stand in
// a comment or a quoted value, so the places are tested: with the "*" of
// the places from the i-th on turned into an "x" (a plain value), the error
// stays exactly when a place before the i-th is an alias, and the first i
// for which it stays is one past the first alias.
func aliasLine(data []byte, name string) int {
	var at []int
	for i := 0; i+1+len(name) <= len(data); i++ {
		if data[i] != '*' || !bytes.HasPrefix(data[i+1:], []byte(name)) {
			continue
		}
		if i > 0 && !bytes.ContainsRune([]byte(" \t\r\n[{,"), rune(data[i-1])) {
			continue
		}
		if end := i + 1 + len(name); end < len(data) && isAnchorChar(data[end]) {
			continue
		}
		at = append(at, i)
	}
	stays := func(from int) bool {
		if from == len(at) {
			return true // data itself
		}
		buf := bytes.Clone(data)
		for _, i := range at[from:] {
			buf[i] = 'x'
		}
		_, _, err := parseNode(buf)
		if err == nil {
			return false
		}
		p, _ := splitYAMLError(err)
		n, ok := unknownAnchor(p)
		return ok && n == name
	}
	if i := sort.Search(len(at)+1, stays); i > 0 {
		return lineAt(data, at[i-1])
	}
	return 0
}

// isAnchorChar reports whether c may be part of an anchor's name in yaml v3.
func isAnchorChar(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// decodeYAML parses data, which must hold at most one YAML document.
func decodeYAML(data []byte) (*yaml.Node, *FieldError) {
	root, dec, err := parseNode(data)
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil // an empty file
	case err != nil:
		return nil, yamlError(err, data)
	}
	// A top that is not a mapping of keys is no configuration: most often
	// another file given to -c, such as an env file, whose KEY=value lines
	// YAML reads as one value (its comment lines end it, and the next
	// line then reads as a second document). Said alone, before the check
	// for more documents and without "at least one page is required", which
	// would follow from it; nothing of the file is quoted.
	if len(root.Content) > 0 {
		if n := root.Content[0]; n.Kind == yaml.SequenceNode || n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			msg := "the file is not a configuration: want a mapping of its keys (redis:, pages:, ...), each written key: value, got " + kindName(n)
			if n.Kind == yaml.ScalarNode {
				msg += " (an env file's KEY=value lines read as one value: give -c the YAML file)"
			}
			return nil, &FieldError{Msg: msg, Line: n.Line}
		}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, &FieldError{Msg: "the file must hold one YAML document"}
	}
	return root, nil
}
