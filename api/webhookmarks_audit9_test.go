package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// slowMarks is a HiddenMarks whose every call takes one "round trip" (a
// short sleep, standing in for Redis a few milliseconds away); it records
// how many calls were in flight at once and, per comment, the verbs in the
// order they were applied.
type slowMarks struct {
	mu       sync.Mutex
	inflight int
	most     int
	verbs    map[string][]string
}

func (m *slowMarks) call(id, verb string) (bool, error) {
	m.mu.Lock()
	m.inflight++
	m.most = max(m.most, m.inflight)
	m.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	m.mu.Lock()
	m.inflight--
	m.verbs[id] = append(m.verbs[id], verb)
	m.mu.Unlock()
	return true, nil
}

func (m *slowMarks) MarkHidden(_ context.Context, _, id string, _ time.Time) (bool, error) {
	return m.call(id, "hide")
}

func (m *slowMarks) UnmarkHidden(_ context.Context, _, id string, _ time.Time) (bool, error) {
	return m.call(id, "unhide")
}

func (m *slowMarks) MarkRemoved(_ context.Context, _ string, t tasks.Target) (bool, error) {
	return m.call(t.ID, "remove")
}

// TestWebhookMarksNotOneAtATime_audit9: a delivery's removes, hides and
// unhides are written several at a time, as its new items are queued
// (EnqueueWebhookItems, 8 at a time), each comment's in the order Meta gave
// them. They were written one after the other, a Redis round trip each
// (with a replica's WAIT on Sentinel or a Cluster), before any item was
// queued, and none of them is skipped at a redelivery: a delivery of 1,000
// removes took 2.5 s on a Redis 2 ms away, 5.6 s at 5 ms, past the 8 s
// deadline from about 7 ms, answered 503 at every redelivery, the new
// comments of the same delivery never queued.
func TestWebhookMarksNotOneAtATime_audit9(t *testing.T) {
	const page = "100000000000001"
	marks := &slowMarks{verbs: map[string][]string{}}
	in := &recordingIntake{}
	pages := []config.Page{{ID: page, AccessToken: "t", ReplyTo: []string{config.ReplyComments}, SkipHidden: true,
		MaxAge: 168 * time.Hour, DefaultText: "Thanks!"}}
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: in, Hidden: marks,
		Pages: pages, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	post := page + "_7"
	var changes []string
	for i := range 40 {
		changes = append(changes, commentChange(page, post, fmt.Sprintf("7_%d", 900+i), "5", "remove"))
	}
	// One comment hidden, shown again and hidden again, between the removes.
	seq := []string{"hide", "unhide", "hide"}
	for i, verb := range seq {
		at := 10 * (i + 1)
		changes = slices.Insert(changes, at, commentChange(page, post, "7_1", "5", verb))
	}
	changes = append(changes, commentChange(page, post, "7_2", "5", "add"))
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` + strings.Join(changes, ",") + `]}]}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery answered %d, want 200", resp.StatusCode)
	}
	marks.mu.Lock()
	defer marks.mu.Unlock()
	if marks.most < 2 {
		t.Errorf("at most %d of the delivery's 43 marks were written at once: one round trip after the other", marks.most)
	}
	if got := marks.verbs["7_1"]; !slices.Equal(got, seq) {
		t.Errorf("the hides and unhide of one comment applied as %v, want %v (Meta's order)", got, seq)
	}
	for i := range 40 {
		if got := marks.verbs[fmt.Sprintf("7_%d", 900+i)]; !slices.Equal(got, []string{"remove"}) {
			t.Errorf("comment 7_%d: %v, want one remove", 900+i, got)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.items) != 1 || in.items[0].ID != "7_2" {
		t.Errorf("items queued %+v, want the new comment 7_2", in.items)
	}
}
