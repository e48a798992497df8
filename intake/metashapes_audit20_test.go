package intake_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/webhooktest"
	"github.com/pagereply/pagereply/tasks"
)

// TestWebhookMetaShapesEndToEnd_audit20: one signed delivery holding what
// Meta puts in a Page subscription's deliveries (feed changes of every kind,
// Messenger's messaging events of every kind, a standby entry), posted over
// loopback to the webhook, its items read from the Graph sandbox by a real
// worker and run through intake: exactly the people's new comments, reply
// and visitor's post get a private reply, once. The Page's own comment and
// reply, delivered without from (so that only the worker's Graph read and
// intake.Check can tell), get none although Graph would let them
// (can_reply_privately true); nor do reactions to a person's comment, edits,
// echoes, postbacks, reads, deliveries, Messenger reactions, attachments,
// standby events. A second delivery of the same body sends nothing more.
func TestWebhookMetaShapesEndToEnd_audit20(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 20})
	pg := sb.Pages()[0]
	now := time.Now().Add(-time.Minute)
	ana := sandbox.User{ID: "5550001", Name: "Ana Lopez"}
	bo := sandbox.User{ID: "5550002", Name: "Bo Chen"}
	post := sb.AddPost(pg.ID, sandbox.User{}, "Our new menu", now)
	annaComment := sb.AddComment(post, ana, "Do you deliver?", now)
	ownComment := sb.AddComment(post, sandbox.User{}, "Welcome, everyone!", now)
	ownReply := sb.AddReply(annaComment, sandbox.User{}, "We do!", now)
	boReply := sb.AddReply(annaComment, bo, "+1, me too", now)
	visitorPost := sb.AddPost(pg.ID, bo, "Are you open on Sunday?", now)
	for _, id := range []string{annaComment, ownComment, ownReply, boReply, visitorPost} {
		if id == "" {
			t.Fatal("sandbox refused an item")
		}
	}
	// Only the author tells the Page's own items apart now.
	sb.SetCanReplyPrivately(ownComment, true)
	sb.SetCanReplyPrivately(ownReply, true)

	pages := []config.Page{{ID: pg.ID, AccessToken: pg.Token, Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1,
		ReplyTo: []string{config.ReplyComments, config.ReplyPosts}, MaxAge: 168 * time.Hour, DefaultText: "Thanks, {{.FirstName}}!"}}
	e := webhooktest.Start(t, sb, pages, "test-app-secret-audit20")

	ts := now.Unix()
	who := func(u sandbox.User) string { return fmt.Sprintf(`"from":{"id":%q,"name":%q}`, u.ID, u.Name) }
	feed := func(v string) string { return `{"field":"feed","value":` + v + `}` }
	changes := []string{
		// A person's comment, and a person's reply to it: replied to.
		feed(fmt.Sprintf(`{"item":"comment","verb":"add","comment_id":%q,"post_id":%q,"parent_id":%q,%s,"created_time":%d,"message":"Do you deliver?",`+
			`"post":{"status_type":"mobile_status_update","is_published":true,"id":%q}}`, annaComment, post, post, who(ana), ts, post)),
		feed(fmt.Sprintf(`{"item":"comment","verb":"add","comment_id":%q,"post_id":%q,"parent_id":%q,%s,"created_time":%d,"message":"+1, me too"}`,
			boReply, post, annaComment, who(bo), ts)),
		// The Page's own comment and reply, without from: Meta leaves it out at times.
		feed(fmt.Sprintf(`{"item":"comment","verb":"add","comment_id":%q,"post_id":%q,"parent_id":%q,"created_time":%d,"message":"Welcome, everyone!"}`,
			ownComment, post, post, ts)),
		feed(fmt.Sprintf(`{"item":"comment","verb":"add","comment_id":%q,"post_id":%q,"parent_id":%q,"created_time":%d,"message":"We do!"}`,
			ownReply, post, annaComment, ts)),
		// A visitor's post, as status and again as its photo: one reply.
		feed(fmt.Sprintf(`{"item":"status","verb":"add","post_id":%q,%s,"published":1,"is_hidden":false,"created_time":%d,"message":"Are you open on Sunday?"}`,
			visitorPost, who(bo), ts)),
		feed(fmt.Sprintf(`{"item":"photo","verb":"add","photo_id":"99","post_id":%q,%s,"published":1,"created_time":%d,"link":"https://example.org/p.jpg"}`,
			visitorPost, who(bo), ts)),
		// The Page's own post: ignored.
		feed(fmt.Sprintf(`{"item":"status","verb":"add","post_id":%q,"from":{"id":%q,"name":"The Page"},"published":1,"created_time":%d}`, post, pg.ID, ts)),
		// Reactions naming a person's comment, an edit, a like: ignored.
		feed(fmt.Sprintf(`{"item":"reaction","verb":"add","reaction_type":"like","comment_id":%q,"post_id":%q,"parent_id":%q,%s,"created_time":%d}`,
			annaComment, post, annaComment, who(bo), ts)),
		feed(fmt.Sprintf(`{"item":"reaction","verb":"edit","reaction_type":"love","post_id":%q,"parent_id":%q,%s,"created_time":%d}`, post, post, who(ana), ts)),
		feed(fmt.Sprintf(`{"item":"comment","verb":"edited","comment_id":%q,"post_id":%q,"parent_id":%q,%s,"created_time":%d,"message":"edited"}`,
			annaComment, post, post, who(ana), ts)),
		feed(fmt.Sprintf(`{"item":"like","verb":"add","post_id":%q,"user_id":5550003}`, post)),
	}
	ms := now.UnixMilli()
	ev := func(body string) string {
		return fmt.Sprintf(`{"sender":{"id":"7001"},"recipient":{"id":%q},"timestamp":%d,%s}`, pg.ID, ms, body)
	}
	messaging := []string{
		ev(`"message":{"mid":"m_1","text":"hi"}`),
		ev(`"message":{"mid":"m_2","attachments":[{"type":"image","payload":{"url":"https://example.org/i.png"}}]}`),
		fmt.Sprintf(`{"sender":{"id":%q},"recipient":{"id":"7001"},"timestamp":%d,"message":{"mid":"m_3","is_echo":true,"app_id":1,"text":"Thanks!"}}`, pg.ID, ms),
		ev(`"postback":{"mid":"m_4","title":"Start","payload":"GET_STARTED"}`),
		ev(`"read":{"watermark":1700000000000}`),
		ev(`"delivery":{"mids":["m_3"],"watermark":1700000000000}`),
		ev(`"reaction":{"mid":"m_3","action":"react","reaction":"love","emoji":"\u2764"}`),
	}
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"changes":[%s]},{"id":%q,"time":%d,"messaging":[%s]},`+
		`{"id":%q,"time":%d,"standby":[%s]}]}`, pg.ID, ms, strings.Join(changes, ","), pg.ID, ms, strings.Join(messaging, ","),
		pg.ID, ms, ev(`"message":{"mid":"m_5","text":"to another app"}`))
	deliver := func() { t.Helper(); e.Deliver(t, body) }
	want := []string{annaComment, boReply, visitorPost}
	slices.Sort(want)
	settled := func() []string { t.Helper(); return e.Settled(t, len(want)) }
	deliver()
	if got := settled(); !slices.Equal(got, want) {
		t.Fatalf("private replies sent to %v, want exactly %v (own comment %s, own reply %s)", got, want, ownComment, ownReply)
	}
	// Graph would refuse a send to the Page's own item (as the sandbox
	// does): no reply task may exist for one at all.
	for _, id := range []string{ownComment, ownReply} {
		tid := tasks.Target{Kind: tasks.KindComment, ID: id}.String()
		if ti, err := e.Insp.GetTaskInfo(tasks.QueueReplies, tid); err == nil {
			t.Fatalf("the Page's own comment %s has a reply task (%s)", id, ti.State)
		}
	}
	deliver() // Meta's redelivery
	if got := settled(); !slices.Equal(got, want) || sb.Duplicates() != 0 {
		t.Fatalf("after a redelivery: sent to %v (%d duplicates), want exactly %v", got, sb.Duplicates(), want)
	}
}
