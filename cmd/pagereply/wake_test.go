package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// wakeRig is a Page with n fresh comments whose replies are enqueued, and a
// way to run and stop worker processes on its config.
type wakeRig struct {
	e       *e2e
	page    sandbox.Page
	replies []tasks.Reply
}

func newWakeRig(t *testing.T, rate string, n int) *wakeRig {
	t.Helper()
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 0, Comments: 0, Conversations: 0, Seed: 21}, rate)
	w := &wakeRig{e: e, page: e.sb.Pages()[0]}
	post := e.sb.AddPost(w.page.ID, sandbox.User{ID: w.page.ID}, "News", time.Now().Add(-time.Hour))
	for i := range n {
		id := e.sb.AddComment(post, sandbox.User{ID: fmt.Sprint(7000 + i), Name: "Visitor"}, "hi", time.Now().Add(-time.Minute))
		w.replies = append(w.replies, tasks.Reply{PageID: w.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourceAPI})
	}
	return w
}

func (w *wakeRig) enqueue(t *testing.T) {
	t.Helper()
	enq := &tasks.Enqueuer{Client: asynq.NewClientFromRedisClient(w.e.db.Client), Ledger: tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{}), MaxRetry: 3}
	for _, r := range w.replies {
		if o, _, err := enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue %s: %v %v", r.Target, o, err)
		}
	}
}

// enqueueItem queues a webhook item of a new comment by a visitor (user id
// from) on a new post of the Page.
func (w *wakeRig) enqueueItem(t *testing.T, from string) tasks.WebhookItem {
	t.Helper()
	post := w.e.sb.AddPost(w.page.ID, sandbox.User{ID: w.page.ID}, "More news", time.Now().Add(-time.Hour))
	comment := w.e.sb.AddComment(post, sandbox.User{ID: from, Name: "Webhook Visitor"}, "hello", time.Now().Add(-time.Minute))
	item := tasks.WebhookItem{PageID: w.page.ID, Kind: tasks.KindComment, ID: comment, PostID: post}
	enq := &tasks.Enqueuer{Client: asynq.NewClientFromRedisClient(w.e.db.Client), Ledger: tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{}), MaxRetry: 3}
	if o, err := enq.EnqueueWebhookItem(context.Background(), item); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue webhook item: %v %v", o, err)
	}
	return item
}

// pauseHour pauses the Page for an hour with reason why.
func (w *wakeRig) pauseHour(t *testing.T, why string) {
	t.Helper()
	l := tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{})
	if _, err := l.Pause(context.Background(), w.page.ID, time.Hour, why); err != nil {
		t.Fatal(err)
	}
}

func (w *wakeRig) sent() int {
	n := 0
	for _, r := range w.replies {
		n += w.e.sb.SendCount(r.Target.ID)
	}
	return n
}

// worker starts a worker process and waits until it runs.
func (w *wakeRig) worker(t *testing.T) *proc {
	t.Helper()
	p := start(t, "worker", "-c", w.e.cfgPath)
	eventually(t, 20*time.Second, "the worker running", func() bool { return strings.Contains(p.stderr.String(), "pagereply running") })
	return p
}

// setRate changes the Page's rate in the config file from old to rate.
func (w *wakeRig) setRate(t *testing.T, old, rate string) {
	t.Helper()
	cfg, err := os.ReadFile(w.e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.e.cfgPath, []byte(strings.Replace(string(cfg), "rate: "+old, "rate: "+rate, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func stop(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("worker exit %d:\n%s", code, p.stderr)
	}
}

// TestRateRaiseWakesPutBacks: replies put back for a Page's rate wait on
// that rate's schedule; when the config raises the rate, the next start runs
// them at once and they go out at the new rate, not the old. In a rolling
// restart ("rolling"), the first worker on the new rate has woken the
// replies put back until then and recorded the rate, and these were put back
// after it by a worker still on the old one: the next start finds the rate
// unchanged, and runs them because they are spaced slower than the rate.
func TestRateRaiseWakesPutBacks(t *testing.T) {
	t.Parallel() // mostly waits on the 1/s sends
	for _, rolling := range []bool{false, true} {
		t.Run(map[bool]string{false: "restart", true: "rolling"}[rolling], func(t *testing.T) {
			const n = 40
			w := newWakeRig(t, "1/s", n)
			w.enqueue(t)
			p := w.worker(t)
			eventually(t, 20*time.Second, "a few sends at 1/s", func() bool { return w.sent() >= 3 })
			stop(t, p)
			if s := w.sent(); s > n/2 {
				t.Fatalf("%d of %d sent at 1/s already", s, n)
			}
			if rolling {
				rate, err := config.ParseRate("50/s")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{}).RecordRate(context.Background(), w.page.ID,
					rateRecord(&config.Page{Rate: rate, Burst: 2})); err != nil {
					t.Fatal(err)
				}
			}
			w.setRate(t, "1/s", "50/s")
			p = w.worker(t)
			// At the old pace the rest would take another 20 s or more; at
			// 50/s they take about one. The deadline sits between the two.
			eventually(t, 12*time.Second, "every reply at the new rate", func() bool { return w.sent() == n })
			stop(t, p)
			s := p.stderr.String()
			if !strings.Contains(s, "replies put back before the config changed run now") ||
				strings.Contains(s, `"rate_changed":true`) != !rolling {
				t.Fatalf("stderr:\n%s", s)
			}
			if d := w.e.sb.Duplicates(); d != 0 {
				t.Fatalf("%d duplicates", d)
			}
		})
	}
}

// TestNewTokenWakesPausedReplies: replies put back while their Page was
// paused for a broken token go out as soon as a pagereply with a new token
// starts, not when the pause would have ended.
func TestNewTokenWakesPausedReplies(t *testing.T) {
	w := newWakeRig(t, "20/s", 5)
	p := w.worker(t)
	// The Page broke with a token the config no longer has.
	l := tasks.NewLedger(w.e.db.Client, tasks.LedgerOptions{PageTokens: map[string]string{w.page.ID: "EAABthetokenthatbroke"}, AppSecret: e2eAppSecret})
	if _, err := l.Pause(context.Background(), w.page.ID, 5*time.Minute, "page_broken: (#190) Error validating access token"); err != nil {
		t.Fatal(err)
	}
	w.enqueue(t)
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	eventually(t, 20*time.Second, "the replies put back for the pause", func() bool {
		q, err := insp.GetQueueInfo(tasks.QueueReplies)
		return err == nil && q.Retry == len(w.replies)
	})
	stop(t, p)
	if s := w.sent(); s != 0 {
		t.Fatalf("%d sent while paused", s)
	}
	p = w.worker(t)
	eventually(t, 15*time.Second, "every reply once the pause is lifted", func() bool { return w.sent() == len(w.replies) })
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "page_broken pause lifted") || !strings.Contains(p.stderr.String(), `"pause_lifted":true`) {
		t.Fatalf("stderr:\n%s", p.stderr)
	}
}

// TestPageAddedBackSendsItsArchived: replies archived by workers whose config
// lacked their Page are sent by the next worker whose config has it, at its
// start: the poll would not find them again (it reads only changed posts).
func TestPageAddedBackSendsItsArchived(t *testing.T) {
	w := newWakeRig(t, "20/s", 5)
	w.enqueue(t)
	cfg, err := os.ReadFile(w.e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	without := strings.NewReplacer(`id: "`+w.page.ID+`"`, `id: "999"`, "max_retry: 3", "max_retry: 0").Replace(string(cfg))
	path := w.e.cfgPath + ".without"
	if err := os.WriteFile(path, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "worker", "-c", path)
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	eventually(t, 20*time.Second, "the replies archived by a worker without their Page", func() bool {
		q, err := insp.GetQueueInfo(tasks.QueueReplies)
		return err == nil && q.Archived == len(w.replies)
	})
	stop(t, p)
	if s := w.sent(); s != 0 {
		t.Fatalf("%d sent by a worker without the Page", s)
	}
	p = w.worker(t)
	eventually(t, 15*time.Second, "every reply once the Page is configured again", func() bool { return w.sent() == len(w.replies) })
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "replies archived while the Page was not configured run again") {
		t.Fatalf("stderr:\n%s", p.stderr)
	}
	if d, r := w.e.sb.Duplicates(), w.e.sb.AlreadyRepliedCount(); d != 0 || r != 0 {
		t.Fatalf("%d duplicates, %d sends refused as already replied (10900)", d, r)
	}
}
