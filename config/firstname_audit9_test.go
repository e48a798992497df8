package config

import "testing"

// TestFirstNameSkipsInvisibleWords: a name whose first word shows nothing (a
// right-to-left mark or a zero-width space set apart by a space, as names
// written in Arabic or Hebrew script can hold, or a control character) has
// its first visible word as its first name. The invisible word was taken
// for the first name, which then counted as no name: "Hi, thanks" for a
// person whose name Graph gave.
func TestFirstNameSkipsInvisibleWords(t *testing.T) {
	p := renderPage(t, `default_text: "Hi {{.FirstName}}, thanks"`)
	for _, tt := range []struct{ name, want string }{
		{"\u200f محمد علي", "Hi محمد, thanks"},
		{"\u200b Ann Lee", "Hi Ann, thanks"},
		{"\u200e\u200f Ann", "Hi Ann, thanks"},
		{"\x01 Ann Lee", "Hi Ann, thanks"},
		{"\u200fمحمد علي", "Hi \u200fمحمد, thanks"},
		{"Ann Lee", "Hi Ann, thanks"},
		{"\u200b", "Hi, thanks"},
	} {
		if got, _, err := p.Render(TemplateData{Name: tt.name, Message: "hi"}); err != nil || got != tt.want {
			t.Errorf("name %q: Render = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
