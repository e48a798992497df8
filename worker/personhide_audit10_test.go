package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestOneReplyPerPersonHideDuringSend_audit10: on a Page with
// one_reply_per_person and skip_hidden, the Page hides a person's comment
// while its reply's send is on its way to Graph (past the send's last
// gate): the webhook's hide mark takes the place of the attempt's claim,
// keeping its lease, and the send lands (Graph answers a private reply to a
// hidden comment). The person's other comment, run meanwhile, must wait
// until that send is recorded, and then be answered by it: it was claimed
// at once (a mark holds no one) and sent, a second reply to the person.
func TestOneReplyPerPersonHideDuringSend_audit10(t *testing.T) {
	h, pages, ra, rb := twoCommentsHidable(t, 4710, "7009101")
	page, a, b := pages[0].ID, ra.Target.ID, rb.Target.ID
	ctx := context.Background()

	// A's send is held at Graph's door until the hide is written.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if q, err := url.ParseQuery(string(body)); err == nil && strings.Contains(q.Get("recipient"), a) {
				once.Do(func() { close(arrived) })
				<-release
			}
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	g := graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages; p.Graph = g; p.GraphTimeout = 5 * time.Second })

	h.enqueueAll(t, []tasks.Reply{ra})
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("a's send never reached Graph")
	}
	if ok, err := h.ledger.MarkHidden(ctx, page, a, time.Time{}); err != nil || !ok {
		t.Fatalf("hide a while its send is on its way: %v %v", ok, err)
	}
	h.enqueueAll(t, []tasks.Reply{rb})
	h.waitPutBack(t, rb, 3*time.Second, func() {
		if n := h.sb.SendCount(b); n != 0 {
			t.Fatalf("b's reply went out while a's send was on its way: the person got %d replies", 1+n)
		}
	})
	releaseOnce.Do(func() { close(release) })
	h.waitSent(t, []tasks.Reply{ra}, 15*time.Second)
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	if err := insp.RunTask(tasks.QueueReplies, rb.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{rb}, 15*time.Second)
	if na, nb := h.sb.SendCount(a), h.sb.SendCount(b); na != 1 || nb != 0 {
		t.Errorf("the person got %d replies to a and %d to b, want a's one", na, nb)
	}
}

// twoCommentsHidable is a Page answering comments with one_reply_per_person
// and skip_hidden, and two comments of one person (uid) on its post, an
// hour old, the second a minute after the first: their replies ra and rb.
func twoCommentsHidable(t *testing.T, seed int64, uid string) (h *harness, pages []config.Page, ra, rb tasks.Reply) {
	t.Helper()
	h = newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages = pollPages(h)
	pages[0].DefaultText = defaultText
	pages[0].OneReplyPerPerson = true
	pages[0].SkipHidden = true
	pages[0].ReplyTo = []string{config.ReplyComments}
	page := pages[0].ID
	cleo := sandbox.User{ID: uid, Name: "Cleo Twice"}
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "Giveaway!", time.Now().Add(-time.Hour))
	a := h.sb.AddComment(post, cleo, "me!", time.Now().Add(-time.Hour))
	b := h.sb.AddComment(post, cleo, "@friend look", time.Now().Add(-time.Hour+time.Minute))
	reply := func(id string) tasks.Reply {
		return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Person: cleo.ID,
			Text: "Thanks for your comment, Cleo!", Source: tasks.SourcePoll, Created: time.Now().Add(-time.Hour).UnixMilli()}
	}
	return h, pages, reply(a), reply(b)
}
