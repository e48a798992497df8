package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// hiddenFixture is one Page with a post of visitor comments, one of which
// the Page hid (sandbox SetHidden: still listed, is_hidden true), and a
// recording front of the sandbox that keeps the fields asked of each
// comment read.
type hiddenFixture struct {
	h       *harness
	page    config.Page
	replies []tasks.Reply // every comment's, the hidden one first
	hidden  tasks.Reply
	url     string

	mu     sync.Mutex
	fields []string // of the comment reads (listings and single reads)
}

func newHiddenFixture(t *testing.T, seed int64, skip bool) *hiddenFixture {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	page.SkipHidden = skip
	f := &hiddenFixture{h: h, page: page}
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-time.Hour))
	for i := range 3 {
		id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(6300000 + i), Name: "Ada Visitor"}, "hello", time.Now().Add(-time.Minute))
		f.replies = append(f.replies, tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourcePoll})
	}
	f.hidden = f.replies[0]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A comment read: the comments listing, or one comment by id (its
		// fields, unlike a post's, have parent).
		if fl := r.URL.Query().Get("fields"); strings.HasSuffix(r.URL.Path, "/comments") || strings.Contains(fl, "parent") {
			f.mu.Lock()
			f.fields = append(f.fields, r.URL.Query().Get("fields"))
			f.mu.Unlock()
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *hiddenFixture) poller(m *metrics.Metrics) *worker.Poller {
	p := f.h.pollParams([]config.Page{f.page})
	p.Graph = graph.New(graph.Config{BaseURL: f.url, Timeout: 5 * time.Second})
	p.Metrics = m
	return worker.NewPoller(p)
}

func (f *hiddenFixture) askedFields() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.fields...)
}

// The comment fields SPEC.md lists, as the requests carry them without
// skip_hidden.
const specCommentFields = "id,created_time,can_reply_privately,from,message,parent"

// TestHiddenCommentSkippedWithSkipHidden: a comment the Page hid gets no
// reply on a Page with skip_hidden (the dry run leaves it out and counts it
// as hidden, the poll queues the others only and counts it in
// pagereply_skipped_total{reason="hidden"}), and the comments read asks
// Graph for is_hidden; without the key it is answered like the others, and
// the request's fields are SPEC's, exactly as before the key existed.
func TestHiddenCommentSkippedWithSkipHidden(t *testing.T) {
	for _, skip := range []bool{false, true} {
		t.Run("skip_hidden="+strconv.FormatBool(skip), func(t *testing.T) {
			f := newHiddenFixture(t, 8811, skip)
			h, ctx := f.h, context.Background()
			if !h.sb.SetHidden(f.hidden.Target.ID, true) {
				t.Fatal("SetHidden: unknown comment")
			}
			m := metrics.New()
			pl := f.poller(m)
			dry, err := f.poller(nil).Poll(ctx, f.page.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, r := range dry.Replies {
				listed[r.Target.ID] = true
			}
			if listed[f.hidden.Target.ID] == skip {
				t.Errorf("dry run lists the hidden comment: %t with skip_hidden %t", listed[f.hidden.Target.ID], skip)
			}
			wantSkipped := 0
			if skip {
				wantSkipped = 1
			}
			if n := dry.Skipped["hidden"]; n != wantSkipped {
				t.Errorf("dry run: %d skipped as hidden, want %d", n, wantSkipped)
			}
			rep, err := pl.Poll(ctx, f.page.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			want := f.replies
			if skip {
				want = f.replies[1:]
			}
			if rep.Enqueued() != len(want) || rep.Skipped["hidden"] != wantSkipped {
				t.Errorf("poll: %d queued, %d skipped as hidden; want %d, %d", rep.Enqueued(), rep.Skipped["hidden"], len(want), wantSkipped)
			}
			if got := counterValues(t, m.PollSkipped, f.page.ID)["hidden"]; got != float64(wantSkipped) {
				t.Errorf("pagereply_skipped_total{reason=hidden} %v, want %d", got, wantSkipped)
			}
			for _, fl := range f.askedFields() {
				wantFields := specCommentFields
				if skip {
					wantFields += ",is_hidden"
				}
				if fl != wantFields {
					t.Errorf("comments read asked fields=%q, want %q", fl, wantFields)
				}
			}
			if len(f.askedFields()) == 0 {
				t.Fatal("no comments read recorded")
			}
			h.startWorker(t, 4)
			h.waitSent(t, want, 20*time.Second)
			h.checkExactlyOnce(t, want)
			if skip {
				if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
					t.Errorf("hidden comment got %d sends with skip_hidden", n)
				}
			}
		})
	}
}

// TestHiddenWebhookItemSkipped: a comment the webhook delivers that the
// Page hid at once (its moderation's filter) is read with is_hidden by the
// webhook item on a Page with skip_hidden, and gets no reply.
func TestHiddenWebhookItemSkipped(t *testing.T) {
	f := newHiddenFixture(t, 8812, true)
	h, ctx := f.h, context.Background()
	h.sb.SetHidden(f.hidden.Target.ID, true)
	m := metrics.New()
	pl := f.poller(m)
	for _, r := range f.replies[:2] {
		b, _ := json.Marshal(tasks.WebhookItem{PageID: f.page.ID, Kind: tasks.KindComment, ID: r.Target.ID})
		if err := pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, b)); err != nil {
			t.Fatal(err)
		}
	}
	if got := counterValues(t, m.PollSkipped, f.page.ID)["hidden"]; got != 1 {
		t.Errorf("pagereply_skipped_total{reason=hidden} %v, want 1", got)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, f.hidden.Target.String()); err == nil {
		t.Error("hidden comment's reply queued by its webhook item")
	}
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, f.replies[1].Target.String()); err != nil {
		t.Errorf("visible comment's reply not queued: %v", err)
	}
	if got := f.askedFields(); len(got) != 2 || got[0] != specCommentFields+",is_hidden" || got[1] != got[0] {
		t.Errorf("comment reads asked fields %q, want 2 with is_hidden", got)
	}
}

// TestCommentHiddenAfterQueuedNotSent: a comment queued by the poll and
// hidden by the Page before its reply goes out is not sent on a Page with
// skip_hidden: Meta's feed change with verb hide, through the API's
// webhook, marks it in the ledger, and the worker's reservation finds the
// mark: the task completes (not archived: nothing failed), counted as
// skipped hidden. The other replies go out; an unhide drops the mark.
func TestCommentHiddenAfterQueuedNotSent(t *testing.T) {
	f := newHiddenFixture(t, 8813, true)
	h, ctx := f.h, context.Background()
	rep, err := f.poller(nil).Poll(ctx, f.page.ID, false)
	if err != nil || rep.Enqueued() != len(f.replies) {
		t.Fatalf("poll: %d queued, %v; want %d", rep.Enqueued(), err, len(f.replies))
	}
	deliver := hideWebhook(t, f.h, f.page)
	// Hidden and shown again: no mark left.
	deliver("hide", f.replies[2].Target.ID)
	deliver("unhide", f.replies[2].Target.ID)
	if e, err := h.ledger.Get(ctx, f.page.ID, f.replies[2].Target); err != nil || e.Status != tasks.StatusNone {
		t.Fatalf("after hide and unhide: %+v, %v; want no entry", e, err)
	}
	h.sb.SetHidden(f.hidden.Target.ID, true)
	deliver("hide", f.hidden.Target.ID)

	m := metrics.New()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Metrics, p.Pages = m, []config.Page{f.page} })
	h.waitSent(t, f.replies[1:], 20*time.Second)
	h.waitTask(t, f.hidden, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
		t.Errorf("comment hidden after it was queued got %d sends", n)
	}
	h.checkExactlyOnce(t, f.replies[1:])
	if got := counterValues(t, m.PollSkipped, f.page.ID)["hidden"]; got != 1 {
		t.Errorf("pagereply_skipped_total{reason=hidden} %v, want 1", got)
	}
	// A hide of a comment whose reply was sent changes nothing.
	deliver("hide", f.replies[1].Target.ID)
	if e, err := h.ledger.Get(ctx, f.page.ID, f.replies[1].Target); err != nil || e.Status != tasks.StatusSent {
		t.Errorf("sent reply's entry after a hide: %+v, %v; want sent", e, err)
	}
}
