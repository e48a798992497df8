package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// postRemoveChange is a feed change removing a post, in the shape of a real
// delivery: restfb's fixture (github.com/restfb/restfb,
// src/test/resources/json/webhooks/feed-post-remove-25.json) is
//
//	{"object":"page","entry":[{"id":"1234567890321","time":1452098986,"changes":[{"field":"feed","value":{
//	 "recipient_id":1234567890321,"item":"post","verb":"remove",
//	 "post_id":"1234567890321_901097836652708","sender_id":1234567890321,"created_time":1452098986}}]}]}
//
// (the older value shape: sender_id and recipient_id as numbers, no from,
// no message), and feed-photo-remove-25.json the same with item "photo" and
// a sender_name. Meta's reference (developers.facebook.com/docs/graph-api/
// webhooks/reference/page/#feed) lists item values post, status, photo,
// video, share, ..., and verb remove; a visitor's text post is item post or
// status by what it holds.
func postRemoveChange(pageID, item, postID string) string {
	return `{"field":"feed","value":{"recipient_id":` + pageID + `,"item":"` + item + `","verb":"remove",` +
		`"post_id":"` + postID + `","sender_id":` + pageID + `,"sender_name":"The Page","created_time":1767000000}}`
}

// TestPostRemovedAfterQueuedNotSent_audit9: a visitor's post whose reply is
// queued and that is removed before the reply goes out gets no send call:
// Meta's feed change of item post or status with verb remove, through the
// API's webhook on a Page with posts in reply_to, marks post:<post_id> in
// the ledger, and the worker's reservation finds the mark: the task
// completes (not archived: nothing failed), counted as skipped gone. Before,
// the remove was ignored ("verb remove"), the worker sent, Graph refused the
// deleted post (code 100, subcode 33: a send call of the Page's budget
// spent), and the reply was archived as failed for good. A remove of item
// photo marks nothing (it may name the post that held the photo), and a
// remove of a post whose reply was sent leaves the sent record alone.
func TestPostRemovedAfterQueuedNotSent_audit9(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 8831})
	ctx := context.Background()
	page := h.pages[0]
	page.ReplyTo = []string{config.ReplyPosts}
	var rs []tasks.Reply
	for i := range 4 {
		vis := sandbox.User{ID: strconv.Itoa(6400000 + i), Name: "Pat Poster"}
		post := h.sb.AddPost(page.ID, vis, "Do you ship to Spain?", time.Now().Add(-time.Hour))
		r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindPost, ID: post}, Text: "We do!", Source: tasks.SourceWebhook, Person: vis.ID}
		if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue %s: %v %v", r.Target, o, err)
		}
		rs = append(rs, r)
	}
	// rs[0] removed as item status, rs[1] as item post; rs[2] named by a
	// photo's remove (not removed: sent as usual); rs[3] removed once sent.
	removed, photo, sentThenRemoved := rs[:2], rs[2], rs[3]
	for _, r := range removed {
		if !h.sb.DeletePost(r.Target.ID) {
			t.Fatalf("DeletePost %s: unknown post", r.Target.ID)
		}
	}

	deliver := signedWebhook(t, h, page)
	deliver(postRemoveChange(page.ID, "status", removed[0].Target.ID),
		postRemoveChange(page.ID, "post", removed[1].Target.ID),
		postRemoveChange(page.ID, "photo", photo.Target.ID))
	if e, err := h.ledger.Get(ctx, page.ID, photo.Target); err != nil || e.Status != tasks.StatusNone {
		t.Errorf("post named by a photo's remove: entry %+v, %v; want none", e, err)
	}

	m := metrics.New()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Metrics = m })
	sent := []tasks.Reply{photo, sentThenRemoved}
	h.waitSent(t, sent, 20*time.Second)
	for _, r := range removed {
		ti := h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
		if ti.State != asynq.TaskStateCompleted {
			t.Errorf("removed post's reply %s %s (%s), want completed: nothing failed", r.Target, ti.State, ti.LastErr)
		}
		if e, err := h.ledger.Get(ctx, page.ID, r.Target); err != nil || e.Status != tasks.StatusFailed || e.Reason != tasks.PostRemovedReason {
			t.Errorf("removed post %s: entry %+v, %v; want failed, %q", r.Target, e, err, tasks.PostRemovedReason)
		}
	}
	if n := len(h.sb.CallLog(page.ID)); n != len(sent) {
		t.Errorf("%d send calls, want %d: none for the removed posts", n, len(sent))
	}
	h.checkExactlyOnce(t, sent)
	if got := counterValues(t, m.PollSkipped, page.ID)["gone"]; got != float64(len(removed)) {
		t.Errorf("pagereply_skipped_total{reason=gone} %v, want %d", got, len(removed))
	}

	// A remove of a post whose reply was sent changes nothing.
	deliver(postRemoveChange(page.ID, "post", sentThenRemoved.Target.ID))
	if e, err := h.ledger.Get(ctx, page.ID, sentThenRemoved.Target); err != nil || e.Status != tasks.StatusSent {
		t.Errorf("remove of a sent reply's post: entry %+v, %v; want sent, left as it was", e, err)
	}
}
