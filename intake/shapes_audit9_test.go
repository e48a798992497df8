package intake

import (
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
)

// TestValidTemplatesRenderOnEveryItem: a reply text the config accepts
// renders on every item the poll and the webhook make for the kinds the
// Page replies to (comments, Reels' comments, visitors' posts, conversation
// messages; by a named person, one with no name, one without from; with
// words, none, one character): none of them is a render_error, a reply
// missed. Before, validation tried a comment only, and a text slicing
// .PostID passed on a Page replying to conversations, then failed on each
// of its messages.
func TestValidTemplatesRenderOnEveryItem(t *testing.T) {
	const pageID = "100"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created := graph.Time{Time: now.Add(-time.Hour)}
	named, nameless := &graph.User{ID: "100000000000007", Name: "Ann Lee"}, &graph.User{ID: "100000000000008"}
	conv := func(person graph.User, from *graph.User, text string) Item {
		it, why := ConversationItem(pageID, graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: pageID, Name: "Page"}, person},
			Messages: []graph.Message{{ID: "m_1", Message: text, From: from, CreatedTime: created}}})
		if why != "" {
			t.Fatalf("ConversationItem: %q", why)
		}
		return it
	}
	items := map[string][]Item{
		config.ReplyComments: {
			CommentItem(pageID+"_1", graph.Comment{ID: "1_2", From: named, Message: "how much?", CreatedTime: created, CanReplyPrivately: true}),
			CommentItem(pageID+"_1", graph.Comment{ID: "1_3", From: nameless, Message: "x", CreatedTime: created, CanReplyPrivately: true}),
			CommentItem(pageID+"_1", graph.Comment{ID: "1_4", CreatedTime: created, CanReplyPrivately: true}),
			CommentItem(pageID+"_1", graph.Comment{ID: "1_5", From: named, CreatedTime: created, CanReplyPrivately: true}),
			CommentItem("987654321", graph.Comment{ID: "987654321_6", From: named, Message: "nice reel", CreatedTime: created, CanReplyPrivately: true}),
		},
		config.ReplyPosts: {
			PostItem(graph.Post{ID: pageID + "_5", From: named, Message: "hello there", CreatedTime: created, CanReplyPrivately: true}),
			PostItem(graph.Post{ID: pageID + "_6", From: nameless, CreatedTime: created, CanReplyPrivately: true}),
			PostItem(graph.Post{ID: pageID + "_7", Message: "?", CreatedTime: created, CanReplyPrivately: true}),
		},
		config.ReplyConversations: {
			conv(*named, named, "hello, is this open?"),
			conv(graph.User{ID: "6000000000000009"}, nil, ""),
			conv(graph.User{ID: "6000000000000010"}, nil, "y"),
		},
	}
	texts := []string{
		"Thanks {{.FirstName}}!",
		"About your post {{slice .PostID 0 5}}",
		"Ref {{slice .CommentID 0 3}}",
		"Ref {{index .CommentID 0}}",
		"Hi {{slice .UserID 0 5}}",
		"Hi {{index .Name 0}}",
		"Hi {{slice .FirstName 0 1}}.",
		"You said {{slice .Message 0 1}}",
		"Thanks{{if .Message}} {{slice .UserID 0 5}}{{end}}",
		"Hi{{if not .CommentID}} {{index .Name 0}}{{end}}",
		"{{if .CommentID}}Thanks for your comment{{end}}",
		"{{if .CommentID}}Thanks for your comment{{else}}Thanks for your message{{end}}",
		"Thanks{{with .PostID}} ({{slice . 0 3}}){{end}}{{with .UserID}} {{slice . 0 3}}{{end}}",
		"Hi {{printf \"%.3s\" .UserID}} {{html .Name}} {{len .PostID}}",
	}
	replyTos := [][]string{
		{config.ReplyComments},
		{config.ReplyPosts},
		{config.ReplyConversations},
		{config.ReplyComments, config.ReplyPosts},
		{config.ReplyComments, config.ReplyConversations},
		{config.ReplyComments, config.ReplyPosts, config.ReplyConversations},
	}
	accepted, refused := 0, 0
	for _, replyTo := range replyTos {
		for _, text := range texts {
			yaml := "pages:\n  - id: \"" + pageID + "\"\n    access_token: tok\n    reply_to: [" + strings.Join(replyTo, ", ") + "]\n    default_text: '" + text + "'\n"
			c, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				refused++
				continue
			}
			accepted++
			page, _ := c.Page(pageID)
			for _, kind := range replyTo {
				for _, it := range items[kind] {
					if got, reason, err := Check(page, it, now); reason != "" || err != nil {
						t.Errorf("reply_to %v, %q accepted, but on %s %s (from %+v, message %q): %q, %v", replyTo, text, kind, it.Target.ID, it.From, it.Message, reason, err)
					} else if got == "" {
						t.Errorf("reply_to %v, %q: empty text", replyTo, text)
					}
				}
			}
		}
	}
	if accepted < len(replyTos) || refused == 0 {
		t.Errorf("%d accepted, %d refused: the texts no longer tell validation apart", accepted, refused)
	}
}
