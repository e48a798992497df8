package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// hookServer answers the first fail deliveries 503 (or every one with
// fail < 0), the next 200, and records each delivery's body and answer.
type hookServer struct {
	mu     sync.Mutex
	fail   int
	bodies []string
	ok     []bool
}

func (s *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	good := s.fail >= 0 && len(s.bodies) >= s.fail
	s.bodies, s.ok = append(s.bodies, string(b)), append(s.ok, good)
	if !good {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func soakTestItems(n int) []sandbox.Growth {
	var items []sandbox.Growth
	for i := range n {
		page := fmt.Sprint(100 + i%3)
		items = append(items, sandbox.Growth{Kind: sandbox.KindComment, PageID: page, PostID: page + "_1",
			CommentID: fmt.Sprintf("%s_1_%d", page, i), From: sandbox.User{ID: "9", Name: "A"}, Message: "hi",
			CreatedTime: time.Unix(1700000000, 0)})
	}
	// A person's message has no feed delivery: left out.
	items = append(items, sandbox.Growth{Kind: sandbox.KindConversation, PageID: "100", MessageID: "m_1"})
	return items
}

// TestSoakWebhookBatches_audit20: the soak's webhook gathers changes into
// batches of several Pages, and delivers a batch answered 503 again, whole,
// until it is answered 200; none is lost.
func TestSoakWebhookBatches_audit20(t *testing.T) {
	srv := &hookServer{fail: 3}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	newHook := func() *sandbox.Webhook {
		return &sandbox.Webhook{URL: hs.URL, AppSecret: "s", BatchWindow: 50 * time.Millisecond,
			Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RetryFor: time.Hour}
	}
	w := startSoakWebhook(newHook, 2)
	items := soakTestItems(30)
	for _, g := range items {
		w.add(g)
	}
	st := w.close(time.Minute)
	if st.Queued != 30 || st.Delivered != 30 || st.Undelivered() != 0 || st.CutShort != 0 || st.Failed != 0 {
		t.Fatalf("stats %s", st)
	}
	if st.Batches >= 30 || st.MaxChanges < 2 || st.MultiPage == 0 || st.MaxPages != 3 {
		t.Errorf("changes not batched: %s", st)
	}
	if st.Retried == 0 || st.Retries < 3 {
		t.Errorf("no batch retried: %s", st)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	got := map[string]int{}
	okBodies := map[string]bool{}
	for i, b := range srv.bodies {
		if srv.ok[i] {
			okBodies[b] = true
		}
		var d struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						CommentID string `json:"comment_id"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal([]byte(b), &d); err != nil {
			t.Fatal(err)
		}
		for _, e := range d.Entry {
			for _, c := range e.Changes {
				if srv.ok[i] {
					got[c.Value.CommentID]++
				}
			}
		}
	}
	for i, b := range srv.bodies {
		if !srv.ok[i] && !okBodies[b] {
			t.Errorf("delivery %d answered 503 was not delivered again whole: %s", i, b)
		}
	}
	for _, g := range items[:30] {
		if got[g.CommentID] != 1 {
			t.Errorf("%s delivered %d times answered 200", g.CommentID, got[g.CommentID])
		}
	}
}

// TestSoakWebhookCutShort_audit20: a webhook never answering 2xx leaves its
// changes undelivered when the soak's webhook is closed, counted cut short,
// and close returns.
func TestSoakWebhookCutShort_audit20(t *testing.T) {
	hs := httptest.NewServer(&hookServer{fail: -1})
	defer hs.Close()
	w := startSoakWebhook(func() *sandbox.Webhook {
		return &sandbox.Webhook{URL: hs.URL, AppSecret: "s", BatchWindow: 10 * time.Millisecond,
			Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, RetryFor: time.Hour}
	}, 2)
	for _, g := range soakTestItems(5) {
		w.add(g)
	}
	time.Sleep(100 * time.Millisecond) // batches are being tried
	st := w.close(100 * time.Millisecond)
	if st.Queued != 5 || st.Delivered != 0 || st.Undelivered() != 5 || st.Failed != 0 || st.CutShortChanges == 0 || len(st.Errs) == 0 {
		t.Errorf("stats %s (errs %v)", st, st.Errs)
	}
}
