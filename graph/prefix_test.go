package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// commentedPost returns a sandbox of one Page with one post, which n fresh
// comments a second apart follow.
func commentedPost(seed int64, n int) (*sandbox.Sandbox, sandbox.Page, string) {
	return commentedPostOn(sandbox.Options{Pages: 1, Posts: 1, Seed: seed}, n)
}

// commentedPostOn is commentedPost on a sandbox made with opts.
func commentedPostOn(opts sandbox.Options, n int) (*sandbox.Sandbox, sandbox.Page, string) {
	seed := opts.Seed
	sb := sandbox.New(opts)
	page := sb.Pages()[0]
	post := sb.Posts(page.ID)[0].ID
	for i := range n {
		sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("%d%04d", seed, i), Name: "Paging Friend"}, "hi", time.Now().Add(-time.Duration(i+1)*time.Second))
	}
	return sb, page, post
}

// TestPagingKeepsBasePathPrefix: with a base URL that has a path prefix (Graph
// behind a proxy), the pages after the first are fetched under the prefix
// too; Graph's paging.next links start at the version.
func TestPagingKeepsBasePathPrefix(t *testing.T) {
	sb, page, post := commentedPost(61, 150)
	var outside atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/graph/", http.StripPrefix("/graph", sb))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		outside.Add(1)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := graph.New(graph.Config{BaseURL: srv.URL + "/graph/", Timeout: 5 * time.Second})
	n := 0
	for _, err := range c.Comments(context.Background(), page.Token, post) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 150 {
		t.Errorf("%d comments, want 150", n)
	}
	if outside.Load() != 0 {
		t.Errorf("%d requests outside the base URL's path", outside.Load())
	}
}
