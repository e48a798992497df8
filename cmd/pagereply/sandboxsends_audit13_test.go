package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxSendsNoEmptyText_audit13: GET /_sandbox/sends lists a send
// with its Page, target and message id and no Text key: it wrote
// "Text":"" for every send, which read as an empty message sent.
func TestSandboxSendsNoEmptyText_audit13(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 3})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	pg := sb.Pages()[0]
	post := sb.AddPost(pg.ID, sandbox.User{}, "Our news", time.Now().Add(-time.Hour))
	c := sb.AddComment(post, sandbox.User{ID: "100001", Name: "Alice Martin"}, "How much?", time.Now().Add(-time.Minute))
	gc := graph.New(graph.Config{BaseURL: gs.URL, Timeout: 5 * time.Second})
	if _, err := gc.SendPrivateReply(context.Background(), pg.Token, pg.ID, graph.Recipient{CommentID: c}, "Thanks!"); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sandboxSends(sb).ServeHTTP(rec, httptest.NewRequest("GET", "/_sandbox/sends", nil))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	var got map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil {
		t.Fatalf("sends: %q", rec.Body.String())
	}
	if _, ok := got["Text"]; ok || got["page_id"] != pg.ID || got["target"] != c || got["message_id"] == "" || got["kind"] != sandbox.KindComment {
		t.Errorf("send line %s: want Page %s, target %s, a message id and no Text", lines[0], pg.ID, c)
	}
}
