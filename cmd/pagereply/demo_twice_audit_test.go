package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestDemoSendsReportsSecondReplies: the demo's report of this run's sends
// says that no comment got a second private reply, and when a second one was
// tried (Graph refuses it, code 10900) it counts it and says so: demo --once
// exits 1 on that count.
func TestDemoSendsReportsSecondReplies(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 2, Seed: 9})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	pg := sb.Pages()[0]
	c := sb.Comments(sb.Posts(pg.ID)[0].ID)[0]
	gc := graph.New(graph.Config{BaseURL: gs.URL, Timeout: 5 * time.Second})
	ctx := context.Background()
	send := func() error {
		_, err := gc.SendPrivateReply(ctx, pg.Token, pg.ID, graph.Recipient{CommentID: c.ID}, "hi")
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	var once strings.Builder
	if twice := printDemoSends(&once, sb, nil, 1, 5); twice != 0 || !strings.Contains(once.String(), "No comment or post was sent a second private reply.") {
		t.Errorf("one send: %d sent twice, report:\n%s", twice, once.String())
	}
	if err := send(); err == nil {
		t.Fatal("the sandbox took a second private reply to one comment")
	}
	var again strings.Builder
	if twice := printDemoSends(&again, sb, nil, 1, 5); twice != 1 || !strings.Contains(again.String(), "1 sends went to a comment or post that had its private reply already.") {
		t.Errorf("a second send tried: %d counted, report:\n%s", twice, again.String())
	}
}
