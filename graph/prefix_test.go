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

// TestPagingKeepsBasePathPrefix: with a base URL that has a path prefix (Graph
// behind a proxy), the pages after the first are fetched under the prefix
// too; Graph's paging.next links start at the version.
func TestPagingKeepsBasePathPrefix(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Seed: 61})
	page := sb.Pages()[0]
	post := sb.Posts(page.ID)[0].ID
	for i := range 150 {
		sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("6100%04d", i), Name: "Prefixed Friend"}, "hi", time.Now().Add(-time.Duration(i+1)*time.Second))
	}
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
