package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestWebhookLegacySenderIDAudit5: a value of the older shape names its
// author as sender_id (a number) and sender_name, without from (Graph before
// v2.11, and photo and video items since). The Page's own photo or video in
// that shape is the Page's own, ignored like one with from.id: no item, no
// Graph read. A visitor's in that shape is still queued.
func TestWebhookLegacySenderIDAudit5(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments, config.ReplyPosts}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := `{"object":"page","entry":[{"id":"100","time":1700000001,"changes":[` +
		`{"field":"feed","value":{"item":"photo","verb":"add","photo_id":901,"post_id":"100_901","sender_id":100,"sender_name":"The Page","published":1,"created_time":1700000000,"link":"https://example.org/a.jpg"}},` +
		`{"field":"feed","value":{"item":"video","verb":"add","video_id":902,"post_id":"100_902","sender_id":"100","sender_name":"The Page","created_time":1700000000}},` +
		`{"field":"feed","value":{"item":"photo","verb":"add","photo_id":903,"post_id":"100_903","sender_id":5550001,"sender_name":"Ana","published":1,"created_time":1700000000}}` +
		`]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d, want 200", st)
	}
	got := in.queuedItems()
	if len(got) != 1 || got[0].Kind != tasks.KindPost || got[0].ID != "100_903" {
		t.Fatalf("queued %+v, want only the visitor's photo 100_903 (the Page's own, by sender_id, ignored)", got)
	}
}

// TestWebhookRealShapesAudit5: one delivery of the shapes Meta sends on a
// Page's feed (Unicode escaped, several entries, a Messenger entry beside,
// created_time as Meta's seconds and as odd ms or string, extra fields such
// as post{...}, photos[...], is_hidden) queues exactly the new comments,
// replies to comments (the post as PostID, not the parent comment) and
// visitors' posts, and nothing for the Page's own items, reactions, likes,
// events, edits of posts, removals, hides; a person's edit of a comment is
// queued under a TaskID of its own.
func TestWebhookRealShapesAudit5(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments, config.ReplyPosts}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	const who = `"from":{"id":"5550001","name":"\u00c9lodie \ud83d\ude00"}`
	changes := []string{
		// A person's comment: queued.
		`{"item":"comment","verb":"add","comment_id":"7_11","post_id":"100_7","parent_id":"100_7",` + who + `,"created_time":1700000000,"message":"h\u00e9llo"}`,
		// A reply to a comment: parent_id is the comment, post_id the post.
		`{"item":"comment","verb":"add","comment_id":"7_12","post_id":"100_7","parent_id":"7_11",` + who + `,"created_time":1700000000,"message":"+1"}`,
		// created_time in ms, and as a string: not read, still queued.
		`{"item":"comment","verb":"add","comment_id":"7_13","post_id":"100_7","parent_id":"100_7",` + who + `,"created_time":1700000000000}`,
		`{"item":"comment","verb":"add","comment_id":"7_14","post_id":"100_7","parent_id":"100_7",` + who + `,"created_time":"1700000000"}`,
		// A comment without from (Meta leaves it out at times): queued, Graph says who.
		`{"item":"comment","verb":"add","comment_id":"7_15","post_id":"100_7","parent_id":"100_7","created_time":1700000000}`,
		// The Page's own comment and reply: ignored.
		`{"item":"comment","verb":"add","comment_id":"7_16","post_id":"100_7","parent_id":"7_11","from":{"id":"100","name":"The Page"},"created_time":1700000000}`,
		// A person's edit of a comment: queued, under a TaskID of its own
		// (of its created_time and message), judged again on its new text.
		// Removals, hides of comments: ignored.
		`{"item":"comment","verb":"edited","comment_id":"7_11","post_id":"100_7","parent_id":"100_7",` + who + `,"created_time":1700000000,"message":"edited"}`,
		`{"item":"comment","verb":"remove","comment_id":"7_17","post_id":"100_7","parent_id":"100_7",` + who + `}`,
		`{"item":"comment","verb":"hide","comment_id":"7_18","post_id":"100_7","parent_id":"100_7","sender_id":5550001,"sender_name":"Ana","created_time":1700000000}`,
		`{"item":"comment","verb":"unhide","comment_id":"7_19","post_id":"100_7","parent_id":"100_7","sender_id":5550001,"created_time":1700000000}`,
		// Reactions and likes (on a post, a comment, the Page): ignored.
		`{"item":"reaction","verb":"add","post_id":"100_7","parent_id":"100_7","comment_id":"7_11","reaction_type":"love",` + who + `,"created_time":1700000000}`,
		`{"item":"reaction","verb":"edit","post_id":"100_7","parent_id":"100_7","reaction_type":"wow",` + who + `,"created_time":1700000000}`,
		`{"item":"like","verb":"add","post_id":"100_7","parent_id":"100_7","sender_id":5550001,"created_time":1700000000}`,
		`{"item":"like","verb":"add","user_id":10201978818232600}`,
		// A visitor's post, as status with extra fields: queued.
		`{"item":"status","verb":"add","post_id":"100_8","is_hidden":false,` + who + `,"published":1,"created_time":1700000000,"message":"Do you ship?","photos":["https://example.org/1.png"]}`,
		// The same post again under another item (photo of it): one item.
		`{"item":"photo","verb":"add","photo_id":81,"post_id":"100_8",` + who + `,"published":1,"created_time":1700000000,"link":"https://example.org/1.png"}`,
		// The Page's own post, with post{...}: ignored. An unpublished one too.
		`{"item":"status","verb":"add","post_id":"100_9","from":{"id":"100","name":"The Page"},"published":1,"created_time":1700000000,` +
			`"post":{"status_type":"mobile_status_update","is_published":true,"updated_time":"2023-11-14T22:13:20+0000","permalink_url":"https://example.org/p","promotion_status":"inactive","id":"100_9"}}`,
		`{"item":"photo","verb":"add","photo_id":91,"post_id":"100_91","from":{"id":"100","name":"The Page"},"published":0,"created_time":1700000000}`,
		// A visitor's post edited, hidden, removed: ignored.
		`{"item":"post","verb":"edit","post_id":"100_8","from":{"id":5550001,"name":"Ana"},"created_time":1700000000}`,
		`{"item":"post","verb":"edited","post_id":"100_8",` + who + `}`,
		`{"item":"status","verb":"hide","post_id":"100_8",` + who + `}`,
		`{"item":"post","verb":"remove","post_id":"100_8","recipient_id":100,` + who + `}`,
		// The Page's event, a video blocked: ignored.
		`{"item":"event","verb":"add","event_id":"55","post_id":"100_55","story":"The Page added an event.","created_time":1700000000}`,
		`{"item":"video","verb":"block","video_id":"56","video_flag_reason":1}`,
	}
	var b strings.Builder
	b.WriteString(`{"object":"page","entry":[{"id":"100","time":1700000001,"changes":[`)
	for i, c := range changes {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"field":"feed","value":` + c + `}`)
	}
	b.WriteString(`]},{"id":"100","time":1700000001000,"messaging":[{"sender":{"id":"7001"},"recipient":{"id":"100"},"timestamp":1700000001000,"message":{"mid":"m_1","text":"hi"}}]},`)
	b.WriteString(`{"id":"100","time":1700000002,"changes":[{"field":"mention","value":{"item":"post","verb":"add","post_id":"5550001_3",` + who + `}}]}]}`)
	body := b.String()
	for range 2 { // Meta's redelivery: the recorder counts both; the real queue dedups by TaskID
		if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
			t.Fatalf("delivery: %d, want 200", st)
		}
	}
	want := []string{"webhook:comment:7_11", "webhook:comment:7_12", "webhook:comment:7_13", "webhook:comment:7_14",
		"webhook:comment:7_15", "webhook:edited:8231710201808614015:comment:7_11", "webhook:post:100_8", "webhook:post:100_8"}
	got := in.queuedItems()
	if len(got) != 2*len(want) {
		t.Fatalf("queued %d items, want %d: %+v", len(got), 2*len(want), got)
	}
	for i, it := range got {
		if w := want[i%len(want)]; it.TaskID() != w {
			t.Fatalf("item %d is %s, want %s", i, it.TaskID(), w)
		}
		if it.Kind == tasks.KindComment && it.PostID != "100_7" {
			t.Fatalf("%s: PostID %q, want the post 100_7 (not parent_id)", it.TaskID(), it.PostID)
		}
		if it.PageID != "100" {
			t.Fatalf("%s: PageID %q", it.TaskID(), it.PageID)
		}
	}
}
