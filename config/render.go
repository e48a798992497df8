package config

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
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
)

// CheckText returns s without its leading and trailing white space, or
// ErrTextEmpty or ErrTextTooLong when that is empty or longer than
// MaxTextRunes characters. The API checks texts it is given with it too.
func CheckText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrTextEmpty
	}
	if n := utf8.RuneCountInString(s); n > MaxTextRunes {
		return "", fmt.Errorf("%w (%d)", ErrTextTooLong, n)
	}
	return s, nil
}

// FirstName returns the first word of name, or "" for a blank name.
func FirstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Render returns the reply text for d: the text of the first rule whose match
// finds d.Message, else DefaultText. ok is false, with no error, when neither
// applies. An empty d.FirstName is taken from d.Name, an empty d.PageID is the
// Page's. The text is trimmed; one that is empty or longer than MaxTextRunes
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
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("{{define}} is not allowed in a reply text")
	}
	if t.Tree != nil {
		if err := checkActions(t.Tree.Root); err != nil {
			return nil, err
		}
	}
	return t, nil
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
	var w limitedBuffer
	if err := t.Execute(&w, d); err != nil {
		if errors.Is(err, errRenderTooLong) {
			return "", fmt.Errorf("%w (more than %d bytes)", ErrTextTooLong, maxRenderBytes)
		}
		return "", err
	}
	return CheckText(w.String())
}

var errRenderTooLong = errors.New("rendered text too long")

// limitedBuffer fails writes past maxRenderBytes.
type limitedBuffer struct{ strings.Builder }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRenderBytes {
		return 0, errRenderTooLong
	}
	return b.Builder.Write(p)
}

// sampleData is what validation renders every template with.
func sampleData(pageID string) TemplateData {
	return TemplateData{
		FirstName: "Alex",
		Name:      "Alex Doe",
		UserID:    "100000000000001",
		Message:   "Hello, how much does it cost?",
		PageID:    pageID,
		PostID:    pageID + "_100000000000002",
		CommentID: "100000000000002_100000000000003",
	}
}
