package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestDemoSendsNamedAsAPI_audit13: the demo lists its sends by the ids the
// API takes (GET /v1/replies/{id}): comment:<id>, post:<id>, and a
// conversation reply by message:<id> of the person's message it answered.
// Before the fix it printed "comment  <id>" (kind and id apart) and a
// conversation reply by its person's PSID, neither of which an API call
// takes.
func TestDemoSendsNamedAsAPI_audit13(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 13})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	pg := sb.Pages()[0]
	now := time.Now()
	alice := sandbox.User{ID: "100001", Name: "Alice Martin"}
	post := sb.AddPost(pg.ID, sandbox.User{ID: "100002", Name: "Bob Stone"}, "Open on Sunday?", now.Add(-time.Hour))
	comment := sb.AddComment(post, alice, "How much?", now.Add(-time.Minute))
	_, msg := sb.AddMessage(pg.ID, sandbox.User{ID: "100003", Name: "Chloé Petit"}, "Hello?", now.Add(-time.Minute))
	cfg := &config.Config{Pages: []config.Page{{ID: pg.ID, AccessToken: pg.Token, DefaultText: "Thanks!", MaxAge: 168 * time.Hour,
		ReplyTo: []string{config.ReplyComments, config.ReplyPosts, config.ReplyConversations}}}}
	expect := demoExpect(cfg, sb, now)
	gc := graph.New(graph.Config{BaseURL: gs.URL, Timeout: 5 * time.Second})
	ctx := context.Background()
	for _, to := range []graph.Recipient{{CommentID: comment}, {PostID: post}} {
		if _, err := gc.SendPrivateReply(ctx, pg.Token, pg.ID, to, "Thanks!"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gc.SendMessage(ctx, pg.Token, pg.ID, "100003", "Thanks!"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printDemoSends(&out, sb, expect, 3, 5)
	for _, id := range []string{"comment:" + comment, "post:" + post, "message:" + msg} {
		if !strings.Contains(out.String(), "\n  "+id+" ") {
			t.Errorf("sends do not list %s:\n%s", id, out.String())
		}
	}
	if strings.Contains(out.String(), "100003") {
		t.Errorf("sends name a conversation reply by its person's PSID:\n%s", out.String())
	}
}
