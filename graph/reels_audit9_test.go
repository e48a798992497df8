package graph_test

import (
	"context"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestReelsListing: Reels asks GET /{page-id}/video_reels for the Reels'
// id, created_time and updated_time, follows paging.next to the end, and
// lists them newest first, Reels only (not the feed's posts): 105 Reels in
// two pages.
func TestReelsListing(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 91})
	page := sb.Pages()[0]
	now := time.Now()
	sb.AddPost(page.ID, sandbox.User{}, "a post", now.Add(-time.Minute))
	var want []string
	for i := range 105 {
		want = append([]string{sb.AddReel(page.ID, "reel", now.Add(-time.Duration(200-i)*time.Minute))}, want...)
	}
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+" fields="+r.URL.Query().Get("fields"))
		mu.Unlock()
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := graph.New(graph.Config{BaseURL: srv.URL})
	var got []string
	for p, err := range c.Reels(context.Background(), page.Token, page.ID) {
		if err != nil {
			t.Fatal(err)
		}
		if p.CreatedTime.IsZero() || p.UpdatedTime.IsZero() {
			t.Errorf("reel %s without its times: %+v", p.ID, p)
		}
		got = append(got, p.ID)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reels %v, want %v", got, want)
	}
	if len(asked) != 2 {
		t.Errorf("%d requests, want 2 pages of up to 100: %v", len(asked), asked)
	}
	for _, a := range asked {
		if !strings.HasSuffix(a, "/"+page.ID+"/video_reels fields=id,created_time,updated_time") {
			t.Errorf("request %q, want video_reels with id,created_time,updated_time", a)
		}
	}
}

// TestReelsRefused: ReelsRefused tells Graph refusing video_reels (code 100
// as "Unsupported get request", 10 or 200–299) from a throttle there and
// from the same codes on another edge, where they stay the Page's.
func TestReelsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		feed    bool // asked of the feed, not video_reels
		refused bool
	}{
		{name: "100 unsupported get", refused: true,
			body: `{"error":{"message":"Unsupported get request. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api","type":"GraphMethodException","code":100,"fbtrace_id":"AbC"}}`},
		{name: "10 permission", refused: true,
			body: `{"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`},
		{name: "200 permission", refused: true,
			body: `{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"fbtrace_id":"AbC"}}`},
		{name: "throttled",
			body: `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"AbC"}}`},
		{name: "190 token",
			body: `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`},
		{name: "200 on the feed", feed: true,
			body: `{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"fbtrace_id":"AbC"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := listingRefusal(t, tc.body, func(c *graph.Client) func(context.Context, string, string) iter.Seq2[graph.Post, error] {
				if tc.feed {
					return c.Feed
				}
				return c.Reels
			})
			if got := graph.ReelsRefused(err); got != tc.refused {
				t.Errorf("ReelsRefused = %v, want %v (%v)", got, tc.refused, err)
			}
		})
	}
}

// listingRefusal lists with the listing pick chooses of a Client whose
// Graph answers every call 400 with body, and returns the listing's error
// (the test fails if it succeeds).
func listingRefusal(t *testing.T, body string, pick func(*graph.Client) func(context.Context, string, string) iter.Seq2[graph.Post, error]) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	var err error
	for _, e := range pick(graph.New(graph.Config{BaseURL: srv.URL}))(context.Background(), "page-token", "100") {
		err = e
	}
	if err == nil {
		t.Fatal("listing succeeded")
	}
	return err
}
