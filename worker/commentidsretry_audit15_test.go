package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/worker"
)

// TestCommentsWithoutIDsCountedOnceAcrossReads_audit15: a post's comments
// that Graph lists without their id (a token that cannot moderate the Page)
// are each one item seen and skipped as malformed, also when the listing's
// second page fails once with a transient error and the walk reads the
// listing again from its start, as a malformed comment with an id is
// (TestPollReadsPastUnreadableComment). The comments with ids are kept from
// a second count by their ids; those without were counted once per read:
// the first page's 100 twice, pagereply_skipped_total and the poll's report
// saying 250 comments for 150.
func TestCommentsWithoutIDsCountedOnceAcrossReads_audit15(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1515})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	now := time.Now()
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "a post", now.Add(-time.Hour))
	const n = 150 // two pages of the listing (100 a page)
	for i := range n {
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("1515%04d", i), Name: "Fan"}, "price?",
			now.Add(-time.Duration(n-i)*time.Second))
	}
	h.sb.WithholdCommentIDs(page.ID, true)
	var failed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") != "" && failed.CompareAndSwap(false, true) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2}}`)
			return
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var logs proctest.Buffer
	p := h.pollParams([]config.Page{page})
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rep, err := worker.NewPoller(p).Poll(context.Background(), page.ID, false)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if !failed.Load() {
		t.Fatal("the listing's second page never failed: the test tests nothing")
	}
	if rep.Enqueued() != 0 || rep.Skipped[intake.SkipMalformed] != n || rep.Seen != n {
		t.Errorf("poll: enqueued %d, seen %d, skipped %v; want 0 enqueued, %d seen, %d malformed", rep.Enqueued(), rep.Seen, rep.Skipped, n, n)
	}
	if !strings.Contains(logs.String(), `"comments":`+fmt.Sprint(n)+`,`) {
		t.Errorf("the WARN does not count %d comments:\n%s", n, logs.String())
	}
}
