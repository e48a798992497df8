package config

import "testing"

// TestRenderNamelessPersonOtherScripts: where a person Graph gives no name
// is greeted in a text written in Arabic script or in Chinese or Japanese,
// the punctuation of those scripts after the name (the Arabic comma and
// question mark, the full-width comma and exclamation mark) is tidied as
// ASCII's is: no space left before it, no comma left before a name that
// ended the sentence. It was kept as between two words: "مرحبا ، شكرا",
// the "Hi , thanks" tidying exists to spare. An opening mark (Spanish "¿")
// after the name stays where it was.
func TestRenderNamelessPersonOtherScripts(t *testing.T) {
	for _, tt := range []struct{ text, nameless, named string }{
		{"مرحبا {{.FirstName}}، شكرا لتعليقك", "مرحبا، شكرا لتعليقك", "مرحبا Ann، شكرا لتعليقك"},
		{"شكرا لتعليقك، {{.FirstName}}!", "شكرا لتعليقك!", "شكرا لتعليقك، Ann!"},
		{"كيف حالك {{.FirstName}}؟", "كيف حالك؟", "كيف حالك Ann؟"},
		{"{{.FirstName}}، شكرا لتعليقك", "شكرا لتعليقك", "Ann، شكرا لتعليقك"},
		{"谢谢你的评论，{{.FirstName}}！", "谢谢你的评论！", "谢谢你的评论，Ann！"},
		{"你好 {{.FirstName}}，谢谢", "你好，谢谢", "你好 Ann，谢谢"},
		{"Hola {{.FirstName}} ¿qué tal?", "Hola ¿qué tal?", "Hola Ann ¿qué tal?"},
		{"Thanks, {{.FirstName}}!", "Thanks!", "Thanks, Ann!"},
	} {
		for _, p := range []*Page{renderPage(t, "default_text: "+yamlQuote(tt.text)), {ID: "123", DefaultText: tt.text}} {
			if got, _, err := p.Render(TemplateData{Message: "hi"}); err != nil || got != tt.nameless {
				t.Errorf("%q without a name: Render = %q, %v; want %q", tt.text, got, err, tt.nameless)
			}
			if got, _, err := p.Render(TemplateData{Name: "Ann Lee", Message: "hi"}); err != nil || got != tt.named {
				t.Errorf("%q with a name: Render = %q, %v; want %q", tt.text, got, err, tt.named)
			}
		}
	}
}
