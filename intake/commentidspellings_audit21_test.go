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
)

// TestWebhookCommentIDSpellings_audit21: Meta's feed changes name a comment
// as <post>_<comment>, and Graph reads two more spellings of it: the older
// <page-id>_<post>_<comment> and the bare <comment>, which an id given as a
// JSON number can only be. A change without post_id naming its comment so,
// posted over loopback to the webhook and read from the Graph sandbox by a
// real worker, gets its one private reply, to the comment as Graph spells
// it, whose {{.PostID}} is the post the comment is on: before, the 3-part id
// gave "<page>_<page>", and a comment_id sent as a JSON number was dropped
// (logged at debug only). A redelivery, and a delivery of the same comments
// by their own ids with post_id, send nothing more.
func TestWebhookCommentIDSpellings_audit21(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 2101})
	pg := sb.Pages()[0]
	now := time.Now().Add(-time.Minute)
	ana := sandbox.User{ID: "5552101", Name: "Ana Lopez"}
	bo := sandbox.User{ID: "5552102", Name: "Bo Chen"}
	cy := sandbox.User{ID: "5552103", Name: "Cy Diaz"}
	post := sb.AddPost(pg.ID, sandbox.User{}, "Our new menu", now)
	anaC := sb.AddComment(post, ana, "Do you deliver?", now)
	boC := sb.AddComment(post, bo, "Open late?", now)
	cyR := sb.AddReply(anaC, cy, "me too", now)
	if anaC == "" || boC == "" || cyR == "" {
		t.Fatal("sandbox refused an item")
	}
	_, postNum, _ := strings.Cut(post, "_")
	_, boNum, _ := strings.Cut(boC, "_")
	_, cyNum, _ := strings.Cut(cyR, "_")
	pages := []config.Page{{ID: pg.ID, AccessToken: pg.Token, Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1,
		ReplyTo: []string{config.ReplyComments}, MaxAge: 168 * time.Hour, DefaultText: "post {{.PostID}} comment {{.CommentID}}"}}
	e := webhooktest.Start(t, sb, pages, "test-app-secret-audit21")

	ts := now.Unix()
	feed := func(id, parent string, u sandbox.User, postID string) string {
		if postID != "" {
			postID = fmt.Sprintf(`"post_id":%q,`, postID)
		}
		return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":"add","comment_id":%s,%s"parent_id":%q,"from":{"id":%q,"name":%q},"created_time":%d,"message":"hi"}}`,
			id, postID, parent, u.ID, u.Name, ts)
	}
	body := func(changes ...string) string {
		return fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"changes":[%s]}]}`, pg.ID, ts, strings.Join(changes, ","))
	}
	spelt := body(
		feed(fmt.Sprintf("%q", pg.ID+"_"+anaC), post, ana, ""), // <page-id>_<post>_<comment>
		feed(boNum, post, bo, ""),                              // a JSON number: the bare comment id
		feed(fmt.Sprintf("%q", cyNum), anaC, cy, ""),           // a bare id as a string, a reply
	)
	want := []string{anaC, boC, cyR}
	slices.Sort(want)
	check := func(when string) {
		t.Helper()
		got := e.Settled(t, len(want))
		if !slices.Equal(got, want) || sb.Duplicates() != 0 {
			t.Fatalf("%s: private replies sent to %v (%d duplicates), want exactly %v", when, got, sb.Duplicates(), want)
		}
		for _, s := range sb.Sends() {
			if w := "post " + pg.ID + "_" + postNum + " comment " + s.Target; s.Text != w {
				t.Fatalf("%s: reply to %s reads %q, want %q", when, s.Target, s.Text, w)
			}
		}
	}
	e.Deliver(t, spelt)
	check("first delivery")
	e.Deliver(t, spelt) // Meta's redelivery
	check("redelivery")
	e.Deliver(t, body(feed(fmt.Sprintf("%q", anaC), post, ana, post), feed(fmt.Sprintf("%q", boC), post, bo, post),
		feed(fmt.Sprintf("%q", cyR), anaC, cy, post)))
	check("the same comments by their own ids")
}
