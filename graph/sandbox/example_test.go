package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// A test serves the sandbox over loopback HTTP, points the code under test at
// srv.URL, and then checks what Graph received.
func Example() {
	sb := sandbox.New(sandbox.Options{Posts: 2, Comments: 5, Seed: 1})
	srv := httptest.NewServer(sb)
	defer srv.Close()

	page := sb.Pages()[0]
	now := time.Now()
	postID := sb.AddPost(page.ID, sandbox.User{}, "New arrivals", now.Add(-time.Hour))
	commentID := sb.AddComment(postID, sandbox.User{ID: "4242", Name: "Ana Chen"}, "price?", now.Add(-time.Minute))

	// What the graph client does: a private reply, token in the header.
	form := url.Values{
		"recipient": {`{"comment_id":"` + commentID + `"}`},
		"message":   {`{"text":"Hi Ana, prices are on our site."}`},
	}
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v25.0/"+page.ID+"/messages", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+page.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var answer struct {
			MessageID string `json:"message_id"`
			Error     struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, answer.Error.Code, strings.HasPrefix(answer.MessageID, "m_"))
	}
	fmt.Println("sends:", sb.SendCount(commentID), "refused as already replied:", sb.AlreadyRepliedCount(), "tokens in URLs:", sb.TokensInURL())
	// Output:
	// 200 0 true
	// 400 10900 false
	// sends: 1 refused as already replied: 1 tokens in URLs: 0
}
