package config

import (
	"strings"
	"testing"
	"text/template"
)

// TestTemplateCheckedOnEveryReplyShape: validation renders each reply text
// on every shape of input the Page's replies can have: comments, visitors'
// posts (no .CommentID) and conversation messages (no .PostID, no
// .CommentID), by a named person, one with no name, one without from (no
// .UserID), with words, no text or one character. A template that fails on
// one of them is refused at load, naming the shape: before, only a
// comment was tried, and such a template passed check and failed on every
// reply of that shape at run time (a render_error: a missed reply).
func TestTemplateCheckedOnEveryReplyShape(t *testing.T) {
	conv := "(a message has no .PostID and no .CommentID)"
	refused := []struct {
		name, page, path, msg string
	}{
		{
			name: "post id sliced on a conversation message",
			page: "reply_to: [comments, conversations]\ndefault_text: \"About your post {{slice .PostID 0 5}}\"",
			path: "pages[0].default_text",
			msg:  "on a conversation message " + conv + ": the action at column 19 calls a function that fails",
		},
		{
			name: "comment id indexed on a conversation message, in a rule",
			page: "reply_to: [conversations]\nrules:\n  - {match: a, text: ok}\n  - {match: \"(?i)price\", text: \"Ref {{index .CommentID 0}}\"}",
			path: "pages[0].rules[1].text",
			msg:  "on sample data: the action at column 7 calls a function that fails",
		},
		{
			name: "comment id sliced on a visitor's post",
			page: "reply_to: [comments, posts]\ndefault_text: \"Ref {{slice .CommentID 0 3}}\"",
			path: "pages[0].default_text",
			msg:  "on a visitor's post (a post has no .CommentID): the action at column 7 calls a function that fails",
		},
		{
			name: "user id sliced on a comment without from",
			page: "default_text: \"Ref {{slice .UserID 0 5}}\"",
			path: "pages[0].default_text",
			msg:  "on a comment without from (no .UserID, no .Name): the action at column 7",
		},
		{
			name: "user id sliced on a visitor's post without from",
			page: "reply_to: [posts]\ndefault_text: \"Thanks{{if .Message}} {{slice .UserID 0 5}}{{end}}\"",
			path: "pages[0].default_text",
			msg:  "on a visitor's post without from (no .UserID, no .Name) (a post has no .CommentID): the action at column",
		},
		{
			name: "name indexed on a conversation message by a person with no name",
			page: "reply_to: [comments, conversations]\ndefault_text: \"Hi{{if not .CommentID}} {{index .Name 0}}{{end}}\"",
			path: "pages[0].default_text",
			msg:  "on a conversation message with no text by a person with no name " + conv + ": the action at column 27",
		},
		{
			name: "empty on every conversation message",
			page: "reply_to: [comments, conversations]\ndefault_text: \"{{if .CommentID}}Thanks for your comment{{end}}\"",
			path: "pages[0].default_text",
			msg:  "on a conversation message " + conv + ": config: reply text is empty",
		},
		{
			name: "empty on every visitor's post, in a rule",
			page: "reply_to: [posts, comments]\nrules:\n  - {match: \"(?i)price\", text: \"{{with .CommentID}}Prices are on our site.{{end}}\"}",
			path: "pages[0].rules[0].text",
			msg:  "on a visitor's post (a post has no .CommentID): config: reply text is empty",
		},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(withPage(tt.page, "")), env(nil))
			if err == nil {
				t.Fatalf("Parse accepted it, want %s: %s", tt.path, tt.msg)
			}
			if !hasFieldError(t, err, tt.path, tt.msg) {
				t.Errorf("error %v, want %s: ...%s...", err, tt.path, tt.msg)
			}
		})
	}

	// What is the same on every reply the Page gets stays valid.
	accepted := []string{
		"default_text: \"About your post {{slice .PostID 0 5}}\"", // comments only: a comment has a post
		"reply_to: [posts]\ndefault_text: \"About your post {{slice .PostID 0 5}}\"",
		"reply_to: [conversations]\ndefault_text: \"Hi {{slice .UserID 0 3}}\"", // a conversation's person has an id
		"reply_to: [comments, conversations]\ndefault_text: \"{{if .CommentID}}Thanks for your comment{{else}}Thanks for your message{{end}}\"",
		"reply_to: [comments, posts, conversations]\ndefault_text: \"Thanks{{with .PostID}} ({{slice . 0 3}}){{end}}{{with .UserID}} {{slice . 0 3}}{{end}}\"",
		"reply_to: [comments, posts]\nrules:\n  - {match: \"^price of (.+)$\", text: \"About {{slice .Message 9}}: see our site.\"}",
	}
	for _, page := range accepted {
		if _, err := Parse([]byte(withPage(page, "")), env(nil)); err != nil {
			t.Errorf("%s: %v", page, err)
		}
	}
}

// TestTemplateCheckPerPage: a template that depends on the Page (.PageID,
// .PostID) is checked on each Page's own shapes, while Pages share the
// check of one that does not.
func TestTemplateCheckPerPage(t *testing.T) {
	yaml := "pages:\n" +
		"  - {id: \"1\", access_token: t1, reply_to: [conversations], default_text: \"Hi{{if eq .PageID \\\"2\\\"}} {{slice .PostID 0 3}}{{end}}\"}\n" +
		"  - {id: \"2\", access_token: t2, reply_to: [conversations], default_text: \"Hi{{if eq .PageID \\\"2\\\"}} {{slice .PostID 0 3}}{{end}}\"}\n" +
		"  - {id: \"3\", access_token: t3, reply_to: [comments], default_text: \"Hi{{if eq .PageID \\\"3\\\"}} {{slice .PostID 0 3}}{{end}}\"}\n"
	_, err := Parse([]byte(yaml), env(nil))
	fes := fieldErrors(t, err)
	if len(fes) != 1 || fes[0].Path != "pages[1].default_text" || !strings.Contains(fes[0].Msg, "on sample data: the action at column") {
		t.Errorf("errors %v, want pages[1].default_text only", err)
	}
	if usesPage(mustTemplate(t, "Hi {{.FirstName}}{{with .Message}} {{.}}{{end}}")) {
		t.Error("usesPage: a template reading the name and message depends on the Page")
	}
	for _, text := range []string{"{{.PageID}}", "{{$.PostID}}", "{{printf \"%v\" .}}", "{{$}}", "{{with $x := .}}{{$x.PageID}}{{end}}", "{{if .Name}}{{(.).PageID}}{{end}}", "{{with .Message}}{{$.PageID}}{{end}}", "{{with .Message}}x{{else}}{{.}}{{end}}"} {
		if !usesPage(mustTemplate(t, text)) {
			t.Errorf("usesPage(%q) = false", text)
		}
	}
}

func mustTemplate(t *testing.T, text string) *template.Template {
	t.Helper()
	tm, err := parseTemplate("t", text)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return tm
}
