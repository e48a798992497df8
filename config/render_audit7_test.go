package config

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRenderNamelessPerson: a person Graph gives no name (a comment without
// from, or with an empty name) gets a text without the gap the name would
// have filled, and only the spaces around where the name was printed
// change; with a name the text is as before.
func TestRenderNamelessPerson(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		data     TemplateData // with no name; a second run adds Name "Ann Lee"
		nameless string
		named    string
	}{
		{name: "before an exclamation mark", text: "Thanks {{.FirstName}}!", nameless: "Thanks!", named: "Thanks Ann!"},
		{name: "before a comma", text: "Hi {{.FirstName}}, thanks", nameless: "Hi, thanks", named: "Hi Ann, thanks"},
		{name: "first", text: "{{.FirstName}}, thanks for your comment", nameless: "Thanks for your comment", named: "Ann, thanks for your comment"},
		{name: "last", text: "Hello {{.FirstName}}", nameless: "Hello", named: "Hello Ann"},
		{name: "after a comma", text: "Thanks for your message, {{.FirstName}}!", nameless: "Thanks for your message!", named: "Thanks for your message, Ann!"},
		{name: "after a comma, last", text: "Thanks for your comment, {{.FirstName}}", nameless: "Thanks for your comment", named: "Thanks for your comment, Ann"},
		{name: "between words", text: "Dear {{.FirstName}} welcome", nameless: "Dear welcome", named: "Dear Ann welcome"},
		{name: "full name", text: "Hi {{.Name}}, thanks", nameless: "Hi, thanks", named: "Hi Ann Lee, thanks"},
		{name: "both names side by side", text: "Dear {{.FirstName}} {{.Name}} welcome!", nameless: "Dear welcome!", named: "Dear Ann Ann Lee welcome!"},
		{name: "used twice", text: "Hi {{.FirstName}}! See you soon, {{.FirstName}}.", nameless: "Hi! See you soon.", named: "Hi Ann! See you soon, Ann."},
		{name: "used twice in a row", text: "Hi {{.FirstName}}{{.FirstName}} !", nameless: "Hi!", named: "Hi AnnAnn !"},
		{name: "at the end of a line", text: "Hello {{.FirstName}}\nThanks", nameless: "Hello\nThanks", named: "Hello Ann\nThanks"},
		{name: "alone on an indented line", text: "Hello!\n  {{.FirstName}}\nBye", nameless: "Hello!\n\nBye", named: "Hello!\n  Ann\nBye"},
		{name: "first on an indented line", text: "Hello.\n  {{.FirstName}}, thanks", nameless: "Hello.\n  Thanks", named: "Hello.\n  Ann, thanks"},
		{name: "through $", text: "{{with .Message}}Hi {{$.FirstName}}, you wrote {{.}}{{end}}", data: TemplateData{Message: "hey"},
			nameless: "Hi, you wrote hey", named: "Hi Ann, you wrote hey"},
		{name: "in an if", text: "{{if .Message}}Hi {{.FirstName}}!{{end}}", data: TemplateData{Message: "hey"}, nameless: "Hi!", named: "Hi Ann!"},
		{
			name:     "the template's own spacing elsewhere is kept",
			text:     "Hi  there,\n\n\tthanks {{.FirstName}}!  We answer\tsoon ,  promised .\n\nBye  !",
			nameless: "Hi  there,\n\n\tthanks!  We answer\tsoon ,  promised .\n\nBye  !",
			named:    "Hi  there,\n\n\tthanks Ann!  We answer\tsoon ,  promised .\n\nBye  !",
		},
		{
			name: "the person's words are kept", text: "Hi {{.FirstName}}, you wrote: {{.Message}}", data: TemplateData{Message: "hello  ,  world !"},
			nameless: "Hi, you wrote: hello  ,  world !", named: "Hi Ann, you wrote: hello  ,  world !",
		},
		{name: "no name field", text: "Thanks  !", nameless: "Thanks  !", named: "Thanks  !"},
		{name: "a name the template handles", text: "Hi {{or .FirstName \"there\"}}!", nameless: "Hi there!", named: "Hi Ann!"},
		{name: "a name the template tests", text: "{{if .Name}}Hi {{.FirstName}}{{else}}Hello{{end}} !", nameless: "Hello !", named: "Hi Ann !"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []*Page{
				renderPage(t, "default_text: "+yamlQuote(tt.text)),
				{ID: "123", DefaultText: tt.text}, // not validated: compiled as it goes
			} {
				got, ok, err := p.Render(tt.data)
				if err != nil || !ok || got != tt.nameless {
					t.Errorf("without a name: Render = %q, %v, %v; want %q", got, ok, err, tt.nameless)
				}
				named := tt.data
				named.Name = "Ann Lee"
				if got, _, err := p.Render(named); err != nil || got != tt.named {
					t.Errorf("with a name: Render = %q, %v; want %q", got, err, tt.named)
				}
			}
		})
	}
}

// TestRenderBlankName: a name that shows nothing (spaces, invisible format
// characters, control characters) is no name.
func TestRenderBlankName(t *testing.T) {
	p := renderPage(t, `default_text: "Thanks {{.Name}}!{{if .FirstName}} x{{end}}"`)
	for _, name := range []string{"", "  ", "\u200b", "\x01\x02", " \t\n"} {
		if got, _, err := p.Render(TemplateData{Name: name, Message: "hi"}); err != nil || got != "Thanks!" {
			t.Errorf("name %q: Render = %q, %v; want %q", name, got, err, "Thanks!")
		}
	}
}

// TestRenderNamelessChecked: the tidied text is still checked and cut as
// any text: a quote too long is cut to fit, a text left empty is
// ErrTextEmpty, and validation renders the templates with no name.
func TestRenderNamelessChecked(t *testing.T) {
	quote := renderPage(t, `default_text: "Hi {{.FirstName}}, you wrote: {{.Message}}"`)
	got, _, err := quote.Render(TemplateData{Message: strings.Repeat("word ", 1000)})
	if err != nil || !strings.HasPrefix(got, "Hi, you wrote: word") || !strings.HasSuffix(got, "…") || utf8.RuneCountInString(got) > MaxTextRunes {
		t.Errorf("long quote: Render = %.40q… (%d runes), %v; want it cut to fit, after %q", got, utf8.RuneCountInString(got), err, "Hi, you wrote:")
	}
	only := renderPage(t, `default_text: "{{.FirstName}}!"`)
	if got, _, err := only.Render(TemplateData{}); !errors.Is(err, ErrTextEmpty) {
		t.Errorf("only a name: Render = %q, %v; want ErrTextEmpty", got, err)
	}
	if _, err := Parse([]byte(withPage(`default_text: "Thanks {{.FirstName}}!\u0001"`, "")), env(nil)); err == nil || !strings.Contains(err.Error(), ErrTextControl.Error()) {
		t.Errorf("control character in the template: %v; want %v", err, ErrTextControl)
	}
	ctl := &Page{ID: "123", DefaultText: "Thanks {{.FirstName}}!\x01"}
	if got, _, err := ctl.Render(TemplateData{}); !errors.Is(err, ErrTextControl) {
		t.Errorf("control character in an unvalidated template: Render = %q, %v; want ErrTextControl", got, err)
	}
}

// TestNameMarksCannotBeForged: the marks around a name hold a NUL byte,
// which a person's words lose and a template may not hold, so neither can
// pass for one.
func TestNameMarksCannotBeForged(t *testing.T) {
	p := renderPage(t, `default_text: "Hi {{.FirstName}}, you wrote: {{.Message}}"`)
	got, _, err := p.Render(TemplateData{Name: nameStart + nameEnd + "Ann", Message: "x " + nameStart + nameEnd + " !"})
	if err != nil || got != "Hi name(name)Ann, you wrote: x name(name) !" {
		t.Errorf("Render = %q, %v", got, err)
	}
	for _, text := range []string{"Thanks" + nameStart + nameEnd + " !", "Thanks {{.FirstName}}\x00!"} {
		if _, err := parseTemplate("t", text); !errors.Is(err, ErrTextControl) {
			t.Errorf("template %q: parseTemplate = %v; want ErrTextControl", text, err)
		}
	}
}

// yamlQuote returns s as a YAML double-quoted string.
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
