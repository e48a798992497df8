package worker_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDeletedCommentArchived: a comment deleted after its reply was queued
// is answered by Graph as an unknown id (100/33): the reply is archived
// with the reason, after one send, without retries.
func TestDeletedCommentArchived(t *testing.T) {
	h := newHarness(t, sandbox.Options{Seed: 71})
	page := h.sb.Pages()[0].ID
	rs := h.addComments(page, 2, "hi")
	if !h.sb.DeleteComment(rs[0].Target.ID) {
		t.Fatal("DeleteComment")
	}
	h.enqueueAll(t, rs)
	h.startWorker(t, 2)
	h.waitSent(t, rs[1:], 10*time.Second)
	ti := h.waitArchived(t, rs[0], 10*time.Second)
	if ti.Retried != 0 || !strings.Contains(ti.LastErr, "100") {
		t.Fatalf("archived after %d retries, last error %q", ti.Retried, ti.LastErr)
	}
	if n := h.sb.SendCount(rs[0].Target.ID); n != 0 {
		t.Fatalf("deleted comment got %d sends", n)
	}
}

// TestPollReadThrottled: Graph throttling a poll's reads (Options.ReadRate)
// pauses the Page, and the next poll does not call Graph while the block
// holds: Meta lengthens a block that is ignored.
func TestPollReadThrottled(t *testing.T) {
	h := newHarness(t, sandbox.Options{Posts: 6, Comments: 5, Seed: 72, ReadRate: 2, ThrottleBlock: time.Minute})
	pages := commentPages(h)
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	rep, err := pl.Poll(ctx, pages[0].ID, false)
	if err == nil || rep.Paused == "" {
		t.Fatalf("poll past ReadRate: err %v, paused %q", err, rep.Paused)
	}
	if n := h.sb.ThrottledCount(pages[0].ID); n != 1 {
		t.Fatalf("ThrottledCount after the first poll = %d, want 1", n)
	}
	calls := h.sb.Calls()
	rep, err = pl.Poll(ctx, pages[0].ID, false)
	if err != nil || !rep.PausedBefore {
		t.Fatalf("second poll: err %v, %+v", err, rep)
	}
	if n := h.sb.ThrottledCount(pages[0].ID); n != 1 {
		t.Fatalf("ThrottledCount after the second poll = %d: it called Graph in the block (%v -> %v)", n, calls, h.sb.Calls())
	}
}

// TestPollCursorInvalidatedMidWalk: a comment deleted while a poll pages
// through its post's comments invalidates the cursor that named it (Meta's
// paging reference: a cursor "will be invalidated if the item is deleted"):
// Graph refuses the next page with code 100. The poll skips the post
// without marking it read, and the next poll queues every comment it did
// not reach.
func TestPollCursorInvalidatedMidWalk(t *testing.T) {
	h := newHarness(t, sandbox.Options{Seed: 73})
	pages := commentPages(h)
	page := pages[0].ID
	post := h.sb.AddPost(page, sandbox.User{}, "Big post", time.Now().Add(-2*time.Hour))
	var ids []string
	for i := range 250 {
		ids = append(ids, h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(6100000 + i), Name: "Fan " + strconv.Itoa(i)},
			"nice", time.Now().Add(-time.Hour+time.Duration(i)*time.Second)))
	}
	var once sync.Once
	deleted := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.sb.ServeHTTP(rec, r)
		if strings.HasSuffix(r.URL.Path, post+"/comments") && !r.URL.Query().Has("after") {
			once.Do(func() {
				var page struct{ Data []struct{ ID string } }
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err == nil && len(page.Data) > 0 {
					deleted = page.Data[len(page.Data)-1].ID
					h.sb.DeleteComment(deleted)
				}
			})
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	pp := h.pollParams(pages)
	pp.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	pl := worker.NewPoller(pp)
	ctx := context.Background()
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatalf("first poll: %v", err)
	}
	if deleted == "" || rep.Unreadable != 1 {
		t.Fatalf("first poll: deleted %q, %d unreadable posts, want 1", deleted, rep.Unreadable)
	}
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatalf("second poll: %v", err)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for _, id := range ids {
		_, err := insp.GetTaskInfo(tasks.QueueReplies, tasks.Target{Kind: tasks.KindComment, ID: id}.String())
		if id == deleted {
			continue // read before it was deleted: its send finds it gone
		}
		if err != nil {
			t.Fatalf("comment %s not queued after two polls: %v", id, err)
		}
	}
}
