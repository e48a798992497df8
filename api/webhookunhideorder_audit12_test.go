package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestUnhideThenStaleHideInOneDeliveryReadsComment_audit12: Meta batches a
// change it failed to deliver (a hide) with later ones (the unhide that
// followed it), after them. In one delivery, an unhide followed by a hide
// older than it (by created_time) leaves the comment shown (the stale hide
// changes nothing, shownScript), so the unhide's read of the comment must
// still be queued: dropping it for the later-listed hide left the comment's
// reply to the next full read (up to 6 hours), past its window near its end.
func TestUnhideThenStaleHideInOneDeliveryReadsComment_audit12(t *testing.T) {
	e := skipHiddenWorkerEnv(t)
	page := e.pages[0].ID
	post := e.sb.AddPost(page, sandbox.User{}, "A post", time.Now().Add(-time.Hour))
	const from = "100000000000055"
	c := e.sb.AddComment(post, sandbox.User{ID: from, Name: "Dana Wu"}, "hello", time.Now())
	change := func(verb string, at int64) string {
		return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":%q,"comment_id":%q,"post_id":%q,"parent_id":%q,"from":{"id":%q},"created_time":%d}}`,
			verb, c, post, post, from, at)
	}
	deliver := func(changes ...string) {
		t.Helper()
		body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[`, page)
		for i, ch := range changes {
			if i > 0 {
				body += ","
			}
			body += ch
		}
		body += `]}]}`
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("delivery: status %d (%s), want 200", code, b)
		}
	}
	now := time.Now().Unix()
	// Hidden by the Page at once (no hide delivered yet): its add's item
	// reads it hidden and queues nothing.
	e.sb.SetHidden(c, true)
	deliver(change("add", now))
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, "webhook:comment:"+c)
		if err == nil && ti.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the add's item: %+v %v; want completed", ti, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.sb.SendCount(c); n != 0 {
		t.Fatalf("%d replies sent to a hidden comment", n)
	}
	// Shown again; Meta's delivery holds the unhide, then the hide of a
	// second earlier it failed to deliver before.
	e.sb.SetHidden(c, false)
	deliver(change("unhide", now+2), change("hide", now+1))
	deadline = time.Now().Add(10 * time.Second)
	for e.sb.SendCount(c) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.sb.SendCount(c); n != 1 {
		t.Fatalf("replies to the comment shown again (its unhide newer than the hide listed after it): %d, want 1", n)
	}
}
