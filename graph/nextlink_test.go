package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPagingKeepsTokenOutOfURLs: Graph's next links carry the request's
// access_token and appsecret_proof. The client follows them with the token
// in its header only, and a proof of its own, so no call of a listing long
// enough to page puts the token in a URL, and the app secret's check passes
// on every page.
func TestPagingKeepsTokenOutOfURLs(t *testing.T) {
	sb, page, post := commentedPostOn(sandbox.Options{Pages: 1, Posts: 1, Seed: 63, AppSecret: "s3cret"}, 250)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second, AppSecret: "s3cret"})
	n := 0
	for _, err := range c.Comments(context.Background(), page.Token, post) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 250 || calls.Load() < 3 {
		t.Fatalf("%d comments in %d calls, want 250 over pages", n, calls.Load())
	}
	if got := sb.TokensInURL(); got != 0 {
		t.Errorf("%d of %d calls had the token in the URL", got, calls.Load())
	}
}
