package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
)

// retryAfter is the answer's Retry-After as RFC 9110's delay-seconds (a
// non-negative integer), failing the test when it is absent or another form.
func retryAfter(t *testing.T, resp *http.Response) int {
	t.Helper()
	v := resp.Header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || strconv.Itoa(n) != v {
		t.Fatalf("%d answer's Retry-After %q, want delay-seconds", resp.StatusCode, v)
	}
	return n
}

// TestConversationReadLaterRetryAfter_audit11: a conversation reply whose
// Page's next read slot is further than the request waits is answered 503
// with the time to that slot, held for the conversation; the answer had no
// Retry-After, so an HTTP client's retry logic could not time its retry.
// It must carry one (and the body retry_after, the same), and a retry made
// exactly then must get the held slot.
func TestConversationReadLaterRetryAfter_audit11(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	e := newEnv(t, func(p *api.Params) {
		p.Pages[0].Rate = config.Rate{N: 4, Per: time.Minute} // a read every 15.15 s
	})
	bodies := conversationBodies(e, 2, 6400000)
	// The first takes the read slot now, the second's is an interval away.
	if resp, b := e.request(t, "POST", "/v1/replies", testToken, bodies[0]); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first conversation reply: %d %s", resp.StatusCode, b)
	}
	resp, b := e.request(t, "POST", "/v1/replies", testToken, bodies[1])
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second conversation reply: %d %s, want 503 (its slot is 15 s away)", resp.StatusCode, b)
	}
	ra := retryAfter(t, resp)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["retry_after"] != float64(ra) || ra < 1 {
		t.Errorf("503 body %s: retry_after %v, want the header's %d (at least 1)", b, m["retry_after"], ra)
	}
	if !strings.Contains(errMessage(m), fmt.Sprintf("try again in %d s", ra)) {
		t.Errorf("503 message %q does not say to try again in %d s", errMessage(m), ra)
	}
	t.Logf("503 %s, Retry-After %d", errMessage(m), ra)
	time.Sleep(time.Duration(ra) * time.Second)
	if resp, b := e.request(t, "POST", "/v1/replies", testToken, bodies[1]); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("conversation reply asked again at Retry-After (%d s): %d %s, want 202 (its held slot)", ra, resp.StatusCode, b)
	}
}

// TestBatchReadLaterRetryAfter_audit11: a batch's conversation items
// answered 503 for their read slots carry retry_after (seconds), the held
// slot's and the later ones', and the 207 has no Retry-After of its own.
func TestBatchReadLaterRetryAfter_audit11(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Pages[0].Rate = config.Rate{N: 4, Per: time.Minute}
	})
	page := e.page.ID
	items := conversationBodies(e, 3, 6500000)
	items = append(items, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, page, e.sb.AllComments(page)[0].ID))
	resp, b := e.request(t, "POST", "/v1/replies", testToken, `{"replies":[`+strings.Join(items, ",")+`]}`)
	// Decoded as a client would, not into api.ReplyResult.
	var br struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &br); err != nil || resp.StatusCode != http.StatusMultiStatus || len(br.Results) != len(items) {
		t.Fatalf("batch answer: %d %s %v", resp.StatusCode, b, err)
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		t.Errorf("207 with Retry-After %q", v)
	}
	if r := br.Results[0]; r["status"] != float64(http.StatusAccepted) || r["retry_after"] != nil {
		t.Errorf("first item: %v, want 202 without retry_after", r)
	}
	prev := 0.0
	for i, r := range br.Results[1:3] {
		ra, _ := r["retry_after"].(float64)
		if r["status"] != float64(http.StatusServiceUnavailable) || ra <= prev || ra != float64(int(ra)) {
			t.Errorf("item %d: %v, want 503 with a whole retry_after past %v", i+1, r, prev)
		}
		prev = ra
	}
	if r := br.Results[3]; r["status"] != float64(http.StatusAccepted) || r["retry_after"] != nil {
		t.Errorf("comment item: %v, want 202 without retry_after", r)
	}
}

// TestRedisAwayRetryAfter_audit11: with Redis away, a reply's 503 and GET
// /v1/replies/{id}'s carry a Retry-After, as the body's "try again" says.
func TestRedisAwayRetryAfter_audit11(t *testing.T) {
	e, cut := newCutEnv(t, func(p *api.Params) {
		// Nothing listens there: asynq's reads fail as with Redis away.
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
	})
	cut.Down()
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, e.sb.AllComments(e.page.ID)[0].ID)
	resp, b := e.request(t, "POST", "/v1/replies", testToken, body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("reply with Redis away: %d %s, want 503", resp.StatusCode, b)
	}
	if ra := retryAfter(t, resp); ra < 1 {
		t.Errorf("reply's Retry-After %d, want at least 1", ra)
	}
	resp, b = e.request(t, "GET", "/v1/replies/comment:1_2", testToken, "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET with Redis away: %d %s, want 503", resp.StatusCode, b)
	}
	if ra := retryAfter(t, resp); ra < 1 {
		t.Errorf("GET's Retry-After %d, want at least 1", ra)
	}
}
