package config

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A long comment quoted in a changed form ({{html .Message}}: each < is
// four characters in the text) is cut to fit, not to nothing: the person
// gets the reply with part of their words, not no reply.
func TestCutQuoteTransformed(t *testing.T) {
	for _, tmpl := range []string{
		"You said {{html .Message}} and {{html .Message}}",
		`You said {{printf "%q" .Message}}`,
	} {
		msg := strings.Repeat("<\"", 1500)
		text, err := execute(nil, "t", tmpl, TemplateData{Message: msg})
		if err != nil {
			t.Errorf("%s: %v", tmpl, err)
			continue
		}
		if n := utf8.RuneCountInString(text); n > MaxTextRunes || n < MaxTextRunes/2 {
			t.Errorf("%s: %d characters, want the quote cut to fit in %d, keeping most of them", tmpl, n, MaxTextRunes)
		}
	}
}
