package config

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// renderPage returns the first Page of a config with the given Page lines.
func renderPage(t *testing.T, lines string) *Page {
	t.Helper()
	return &mustParse(t, withPage(lines, ""), nil).Pages[0]
}

func TestRender(t *testing.T) {
	rules := `
rules:
  - {match: "(?i)price|cost", text: "Hi {{.FirstName}}, prices are on our site."}
  - {match: "(?i)cost|open", text: "We are open 9 to 5."}
  - {match: "^empty", text: "{{if ne .Message \"empty\"}}x{{end}}"}
  - {match: "^short", text: "Hi {{if ge (len .Name) 4}}{{slice .Name 0 4}}{{end}}!"}
`
	withDefault := rules + "default_text: \"  Thanks {{.FirstName}} from {{.PageID}}!  \"\n"
	tests := []struct {
		name    string
		page    string
		data    TemplateData
		want    string
		wantOK  bool
		wantErr error
	}{
		{name: "first rule", page: withDefault, data: TemplateData{Name: "Ann Lee", Message: "what PRICE?"}, want: "Hi Ann, prices are on our site.", wantOK: true},
		{name: "first of two matches wins", page: withDefault, data: TemplateData{FirstName: "Bo", Message: "the cost"}, want: "Hi Bo, prices are on our site.", wantOK: true},
		{name: "second rule", page: withDefault, data: TemplateData{Message: "are you open?"}, want: "We are open 9 to 5.", wantOK: true},
		{name: "default trimmed, page id filled", page: withDefault, data: TemplateData{Name: "Cy", Message: "nice"}, want: "Thanks Cy from 123!", wantOK: true},
		{name: "given FirstName kept", page: withDefault, data: TemplateData{FirstName: "Dee", Name: "Deborah X", Message: "x"}, want: "Thanks Dee from 123!", wantOK: true},
		{name: "no match, no default", page: rules, data: TemplateData{Message: "nice"}, wantOK: false},
		{name: "no rules, no default", page: "", data: TemplateData{Message: "price"}, wantOK: false},
		{name: "renders empty", page: rules, data: TemplateData{Message: "empty"}, wantOK: true, wantErr: ErrTextEmpty},
		{name: "a name cut inside a character", page: rules, data: TemplateData{Name: "José Silva", Message: "short"}, want: "Hi Jos!", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := renderPage(t, tt.page)
			got, ok, err := p.Render(tt.data)
			if !errors.Is(err, tt.wantErr) || ok != tt.wantOK || got != tt.want {
				t.Errorf("Render = %q, %v, %v; want %q, %v, %v", got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
		})
	}
}

// TestRenderTooLong: a text past MaxTextRunes is an error, except where a
// comment quoted in it ({{.Message}}) makes it so: the quote is cut, with an
// ellipsis, until the text fits, so the person still gets a reply.
func TestRenderTooLong(t *testing.T) {
	quote := renderPage(t, "default_text: \"{{.Message}}\"")
	twice := renderPage(t, "default_text: \"Hi {{.FirstName}}, you wrote: {{.Message}} ({{.Message}})\"")
	name := renderPage(t, "default_text: \"Hi {{.Name}}\"")
	long := strings.Repeat("é", 2001)
	tests := []struct {
		name    string
		page    *Page
		data    TemplateData
		want    string // the text, or its start when it ends in "…"
		wantCut bool
		wantErr error
	}{
		{name: "2000 runes", page: quote, data: TemplateData{Message: strings.Repeat("é", 2000)}, want: strings.Repeat("é", 2000)},
		{name: "2000 runes and blanks", page: quote, data: TemplateData{Message: "  " + strings.Repeat("é", 2000) + "\n"}, want: strings.Repeat("é", 2000)},
		{name: "2001 runes", page: quote, data: TemplateData{Message: long}, want: strings.Repeat("é", 1999), wantCut: true},
		{name: "huge", page: quote, data: TemplateData{Message: strings.Repeat("x", 1<<20)}, want: strings.Repeat("x", 100), wantCut: true},
		{name: "quoted twice", page: twice, data: TemplateData{Name: "Alex Doe", Message: strings.Repeat("word ", 900)}, want: "Hi Alex, you wrote: word word", wantCut: true},
		{name: "a name too long is not cut", page: name, data: TemplateData{Name: long, Message: "hi"}, wantErr: ErrTextTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := tt.page.Render(tt.data)
			if !ok || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Render: ok %v, err %v; want %v", ok, err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "page 123 default_text") {
					t.Errorf("error %q does not say where", err)
				}
				return
			}
			n := utf8.RuneCountInString(got)
			if n > MaxTextRunes || !strings.HasPrefix(got, tt.want) || strings.Contains(got, "…") != tt.wantCut {
				t.Errorf("text of %d runes %.60q...%q; want at most %d, starting %.60q, cut: %v", n, got, got[max(len(got)-20, 0):], MaxTextRunes, tt.want, tt.wantCut)
			}
			if tt.wantCut && n < MaxTextRunes-20 {
				t.Errorf("text cut to %d runes: more than it had to be", n)
			}
		})
	}
}

func TestRenderUnvalidatedPage(t *testing.T) {
	p := &Page{ID: "9", Rules: []Rule{{Match: "a", Text: "rule {{.FirstName}}"}}, DefaultText: "default"}
	tests := []struct {
		name    string
		page    *Page
		message string
		want    string
		wantErr string
	}{
		{name: "rule", page: p, message: "a", want: "rule Ann"},
		{name: "default", page: p, message: "b", want: "default"},
		{name: "bad regexp", page: &Page{Rules: []Rule{{Match: "(" + literalSecret, Text: "x"}}}, wantErr: "rules[0].match: is not a valid Go regexp: missing closing )"},
		{name: "bad template", page: &Page{Rules: []Rule{{Match: "", Text: "{{." + literalSecret + "}}"}}}, wantErr: "rules[0].text: the action at column 3 names a field reply texts do not have"},
		{name: "template that does not parse", page: &Page{DefaultText: "{{" + literalSecret + "}}"}, wantErr: "default_text: is not a valid template: it calls a function that does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := tt.page.Render(TemplateData{Name: "Ann B", Message: tt.message})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Render error %v, want %q", err, tt.wantErr)
				}
				for _, piece := range secretPieces() {
					if err != nil && strings.Contains(err.Error(), piece) {
						t.Errorf("error quotes %q from the page: %v", piece, err)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRenderConcurrent(t *testing.T) {
	p := renderPage(t, "rules: [{match: a, text: \"A {{.Name}}\"}]\ndefault_text: \"D {{.Name}}\"")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				msg := []string{"a", "b"}[i%2]
				if _, _, err := p.Render(TemplateData{Name: "N", Message: msg}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFirstName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "two words", in: "Ann Lee", want: "Ann"},
		{name: "one word", in: "Cher", want: "Cher"},
		{name: "blanks", in: "  \tJosé  María ", want: "José"},
		{name: "empty", in: "", want: ""},
		{name: "only blanks", in: " \n ", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirstName(tt.in); got != tt.want {
				t.Errorf("FirstName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{name: "trimmed", in: "  hi \n", want: "hi"},
		{name: "empty", in: "", wantErr: ErrTextEmpty},
		{name: "blank", in: " \t\n", wantErr: ErrTextEmpty},
		{name: "max", in: strings.Repeat("ü", MaxTextRunes), want: strings.Repeat("ü", MaxTextRunes)},
		{name: "over", in: strings.Repeat("a", MaxTextRunes+1), wantErr: ErrTextTooLong},
		{name: "tab, newline and CR kept", in: "a\tb\r\nc", want: "a\tb\r\nc"},
		{name: "NUL", in: "hi\x00there", wantErr: ErrTextControl},
		{name: "NUL only", in: "\x00", wantErr: ErrTextControl},
		{name: "bell", in: "hi \a", wantErr: ErrTextControl},
		{name: "escape", in: "\x1b[31mred", wantErr: ErrTextControl},
		{name: "unit separator", in: "a\x1fb", wantErr: ErrTextControl},
		{name: "vertical tab inside", in: "a\vb", wantErr: ErrTextControl},
		{name: "DEL", in: "a\x7fb", wantErr: ErrTextControl},
		{name: "zero-width space only", in: "\u200b", wantErr: ErrTextEmpty},
		{name: "invisible format characters and blanks", in: " \u200b\u200d\ufeff\u2060\u00a0\u3000\u200e ", wantErr: ErrTextEmpty},
		{name: "zero-width joiner in an emoji kept", in: "thanks \U0001F469\u200d\U0001F4BB", want: "thanks \U0001F469\u200d\U0001F4BB"},
		{name: "right-to-left mark kept", in: "\u200fשלום", want: "\u200fשלום"},
		{name: "invalid UTF-8", in: "caf\xe9", wantErr: ErrTextNotUTF8},
		{name: "a lone continuation byte", in: "ok \x80 ok", wantErr: ErrTextNotUTF8},
		{name: "U+FFFD itself kept", in: "a \ufffd b", want: "a \ufffd b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckText(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("CheckText = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestCheckTextNamesControl: a control character is named with its place
// in the text as given (leading blanks counted), and the text is not quoted.
func TestCheckTextNamesControl(t *testing.T) {
	_, err := CheckText("  héllo\x07secret")
	var ce *ControlError
	if !errors.As(err, &ce) || ce.Rune != 7 || ce.At != 8 {
		t.Fatalf("CheckText: %v (%+v), want U+0007 at character 8", err, ce)
	}
	if msg := err.Error(); !strings.Contains(msg, "U+0007 at character 8") || strings.Contains(msg, "secret") {
		t.Fatalf("error %q", msg)
	}
}

// TestTemplateErrorsInPlainWords: each problem text/template reports is
// said in plain words, none of them quoting the template (which holds a
// secret here), and none falling back to the catch-all message, which would
// mean text/template words it differently now.
func TestTemplateErrorsInPlainWords(t *testing.T) {
	s := literalSecret
	tests := []struct{ text, want string }{
		{"{{." + s, "an action {{ is not closed with }}"},
		{"{{if ." + s + "}}x", "the text ends before the {{end}}"},
		{s + "{{end}}", "an unexpected {{end}}"},
		{s + "{{else}}", "an unexpected {{else}}"},
		{"{{" + s + " .Name}}", "calls a function that does not exist"},
		{"{{$" + s + "}}", "$variable that is not defined"},
		{"{{\"" + s + "}}", "a quoted string inside an action is not closed"},
		{"{{`" + s + "}}", "a quoted string inside an action is not closed"},
		{"{{.Name \x01" + s + "}}", "a character templates do not allow"},
		{"{{1" + s + "}}", "a malformed number"},
		{"{{/* " + s + " }}", "a comment {{/* */}} is not closed"},
		{"{{/* " + s + " */ }}", "a comment {{/* */}} is not closed"},
		{s + "{{}}", "an action lacks a value"},
		{"{{(." + s + "}}", "the parentheses in an action do not match"},
		{"{{." + s + ")}}", "the parentheses in an action do not match"},
		{"x\n{{." + s + "}}", "the action at line 2, column 3 names a field reply texts do not have; the fields are .FirstName,"},
		{"{{.Messag}}", "names a field reply texts do not have (did you mean .Message?)"},
		{"{{.Name." + s + "}}", "names a field reply texts do not have"},
		{"{{len \"" + s + "\" 2}}", "calls a function with the wrong number of arguments"},
		{"{{index \"" + s + "\" 99}}", "calls a function that fails; check its arguments"},
		{"{{.Name \"" + s + "\"}}", "gives arguments to a field, which takes none"},
	}
	for _, tt := range tests {
		_, err := checkTemplate(nil, "text", tt.text, pageShapes(&Page{ID: "1"}), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.text, err, tt.want)
			continue
		}
		for _, piece := range secretPieces() {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("%q: error quotes %q: %v", tt.text, piece, err)
			}
		}
	}
}
