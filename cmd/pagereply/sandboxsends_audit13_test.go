package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// oneSandboxSend sends one private reply through a sandbox over loopback
// and returns the sandbox, the Page, the comment and GET /_sandbox/sends's
// body.
func oneSandboxSend(t *testing.T) (*sandbox.Sandbox, sandbox.Page, string, string) {
	t.Helper()
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
	return sb, pg, c, rec.Body.String()
}

// TestSandboxSendsNoEmptyText_audit13: GET /_sandbox/sends lists a send
// with its Page, target and message id and no Text key: it wrote
// "Text":"" for every send, which read as an empty message sent.
func TestSandboxSendsNoEmptyText_audit13(t *testing.T) {
	_, pg, c, body := oneSandboxSend(t)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var got map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &got) != nil {
		t.Fatalf("sends: %q", body)
	}
	if _, ok := got["Text"]; ok || got["page_id"] != pg.ID || got["target"] != c || got["message_id"] == "" || got["kind"] != sandbox.KindComment {
		t.Errorf("send line %s: want Page %s, target %s, a message id and no Text", lines[0], pg.ID, c)
	}
}

// TestSandboxSendsSnakeCase_audit13: GET /_sandbox/sends names its keys
// as Graph and the sandbox's --grow-log file do (page_id, kind, target,
// message_id, at, dropped; recipient_id and conversation_id when the
// send has them), with the values of the send. Before the fix it
// wrote Go's field names (PageID, MessageID, Time), unlike the grow log a
// script joins it with.
func TestSandboxSendsSnakeCase_audit13(t *testing.T) {
	sb, pg, c, body := oneSandboxSend(t)
	var got map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &got); err != nil {
		t.Fatalf("sends %q: %v", body, err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != strings.ToLower(k) {
			t.Errorf("send line key %s is not snake_case (keys %v)", k, keys)
		}
	}
	for _, k := range []string{"at", "dropped", "kind", "message_id", "page_id", "target"} {
		if _, ok := got[k]; !ok {
			t.Errorf("send line has no %s (keys %v)", k, keys)
		}
	}
	atText, _ := got["at"].(string)
	at, _ := time.Parse(time.RFC3339Nano, atText)
	if got["page_id"] != pg.ID || got["target"] != c || got["kind"] != sandbox.KindComment || got["message_id"] != sb.Sends()[0].MessageID ||
		got["dropped"] != false || !at.Equal(sb.Sends()[0].Time) {
		t.Errorf("send line %v; want the sandbox's send %+v", got, sb.Sends()[0])
	}
}
