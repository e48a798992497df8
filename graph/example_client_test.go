package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/pagereply/pagereply/graph"
)

// Example walks a Page's feed and sends a private reply, against a stand-in
// for Graph.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v25.0/1983306698425200/feed":
			fmt.Fprint(w, `{"data":[{"id":"1983306698425200_101","created_time":"2025-11-20T10:00:00+0000","can_reply_privately":true,"from":{"id":"7001","name":"Ana Souza"},"message":"Do you ship to Porto?"}]}`)
		case "/v25.0/1983306698425200/messages":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"(#10900) Activity already replied to","type":"OAuthException","code":10900,"fbtrace_id":"AqD9"}}`)
		}
	}))
	defer srv.Close()

	c := graph.New(graph.Config{BaseURL: srv.URL, AppSecret: "app-secret"})
	ctx := context.Background()
	for post, err := range c.Feed(ctx, "page-token", "1983306698425200") {
		if err != nil {
			fmt.Println("feed:", err)
			return
		}
		fmt.Println(post.ID, post.From.Name, post.CreatedTime.Format("2006-01-02"))
		_, err = c.SendPrivateReply(ctx, "page-token", "1983306698425200", graph.Recipient{PostID: post.ID}, "Yes, we do!")
		switch {
		case errors.Is(err, graph.ErrAlreadyReplied):
			fmt.Println("already replied:", graph.ClassOf(err))
		case err != nil:
			fmt.Println("send:", err)
		}
	}
	// Output:
	// 1983306698425200_101 Ana Souza 2025-11-20
	// already replied: already_replied
}
