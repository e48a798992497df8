package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// putBack is a task left in asynq's retry state with lastErr as its last
// error, due after delay; or, archived, in its archive.
type putBack struct {
	queue, typ, id, page string
	lastErr              string
	delay                time.Duration
	archived             bool
}

// leavePutBacks enqueues each task of pbs and has an asynq server of its own
// fail it once with its lastErr, using no retry, so that it waits in the
// retry state as the worker's put-backs do; or, for an archived one, as a
// failure with no retry left, so that it is archived.
func leavePutBacks(t *testing.T, h *harness, pbs []putBack) {
	t.Helper()
	byID := map[string]putBack{}
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	for _, pb := range pbs {
		byID[pb.id] = pb
		var payload []byte
		var err error
		if pb.typ == tasks.TypeReply {
			payload, err = json.Marshal(tasks.Reply{PageID: pb.page, Target: tasks.Target{Kind: tasks.KindComment, ID: pb.id}, Text: "hi", Source: tasks.SourceAPI})
		} else {
			payload, err = json.Marshal(tasks.WebhookItem{PageID: pb.page, Kind: tasks.KindComment, ID: pb.id, PostID: pb.page + "_1"})
		}
		if err != nil {
			t.Fatal(err)
		}
		retries := 5
		if pb.archived {
			retries = 0
		}
		if _, err := client.Enqueue(asynq.NewTask(pb.typ, payload), asynq.Queue(pb.queue), asynq.TaskID(pb.id), asynq.MaxRetry(retries)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{tasks.QueueReplies, tasks.QueuePolls} {
		srv := asynq.NewServer(h.opt, asynq.Config{
			Concurrency: 4, Queues: map[string]int{q: 1}, TaskCheckInterval: 20 * time.Millisecond,
			IsFailure: func(err error) bool {
				for _, pb := range pbs {
					if pb.lastErr == err.Error() {
						return pb.archived
					}
				}
				return false
			},
			RetryDelayFunc: func(_ int, err error, _ *asynq.Task) time.Duration {
				for _, pb := range pbs {
					if pb.lastErr == err.Error() {
						return pb.delay
					}
				}
				return time.Hour
			},
			Logger: worker.NewAsynqLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		})
		if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, tk *asynq.Task) error {
			id, _ := asynq.GetTaskID(ctx)
			return errors.New(byID[id].lastErr)
		})); err != nil {
			t.Fatal(err)
		}
		insp := asynq.NewInspector(h.opt)
		deadline := time.Now().Add(10 * time.Second)
		for _, pb := range pbs {
			if pb.queue != q {
				continue
			}
			for {
				want := asynq.TaskStateRetry
				if pb.archived {
					want = asynq.TaskStateArchived
				}
				ti, err := insp.GetTaskInfo(q, pb.id)
				if err == nil && ti.State == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("task %s not put back: %+v %v", pb.id, ti, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		_ = insp.Close()
		srv.Shutdown()
	}
}

// TestWakePutBacksPicksByReason: WakePutBacks runs now exactly the
// put-backs its Wake makes stale and counts them: for a rate change, those
// put back for the rate or the Page's share of slots; for a lifted
// page_broken pause, the replies and webhook items put back for that pause
// only; for an operator's lift, everything put back for a pause of any
// kind. A failure's retry and the other Pages' put-backs keep their time, and
// so does a task of the polls queue that is no webhook item (a poll), even
// with an item's payload.
func TestWakePutBacksPicksByReason(t *testing.T) {
	const (
		rate     = "put back for 30s: page rate used up"
		share    = "put back for 30s: page holds its share of the worker's slots"
		broken   = "put back for 5m0s: page paused: page_broken: (#190) the session has been invalidated"
		throttle = "put back for 5m0s: page paused: throttled: usage headers near the limit (97%)"
		failed   = "graph: code 1200: Temporary send message failure"
	)
	for _, tc := range []struct {
		name    string
		wake    worker.Wake
		woken   []string
		replies int
		items   int
	}{
		{"rate", worker.Wake{Rate: true}, []string{"rate", "share"}, 2, 0},
		{"broken", worker.Wake{Broken: true}, []string{"broken", "item-broken"}, 1, 1},
		{"lifted", worker.Wake{Lifted: true}, []string{"broken", "throttle", "item-broken", "item-throttle"}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 2, Seed: 93})
			page, other := h.pages[0].ID, h.pages[1].ID
			r := func(id, lastErr string) putBack {
				return putBack{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: id, page: page, lastErr: lastErr, delay: time.Hour}
			}
			it := func(id, lastErr string) putBack {
				return putBack{queue: tasks.QueuePolls, typ: tasks.TypeWebhookItem, id: id, page: page, lastErr: lastErr, delay: time.Hour}
			}
			pbs := []putBack{r("rate", rate), r("share", share), r("broken", broken), r("throttle", throttle), r("failed", failed),
				it("item-broken", broken), it("item-throttle", throttle),
				{queue: tasks.QueuePolls, typ: tasks.TypePoll, id: "poll-broken", page: page, lastErr: broken, delay: time.Hour},
				{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "other-broken", page: other, lastErr: broken, delay: time.Hour},
				{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "other-rate", page: other, lastErr: rate, delay: time.Hour}}
			leavePutBacks(t, h, pbs)
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			woken, err := worker.WakePutBacks(context.Background(), insp, h.ledger, map[string]worker.Wake{page: tc.wake})
			if err != nil {
				t.Fatal(err)
			}
			if n := woken[page]; n.Replies != tc.replies || n.Items != tc.items || len(woken) != 1 {
				t.Errorf("woken %+v, want %d replies and %d webhook items of page %s only", woken, tc.replies, tc.items, page)
			}
			want := map[string]bool{}
			for _, id := range tc.woken {
				want[id] = true
			}
			for _, pb := range pbs {
				ti, err := insp.GetTaskInfo(pb.queue, pb.id)
				if err != nil {
					t.Fatalf("%s: %v", pb.id, err)
				}
				if ran := ti.State == asynq.TaskStatePending; ran != want[pb.id] {
					t.Errorf("%s (%q): %s, want run now: %v", pb.id, pb.lastErr, ti.State, want[pb.id])
				}
			}
		})
	}
}

// TestWakePutBacksRestartsSlowSchedule: with no rate change, a Page's rate
// put-backs are run again when they are spaced far slower than its interval
// now (put back by a worker on an older, lower rate), and its put-back
// schedule is restarted; put-backs spaced at about the interval are left
// alone, and so is the schedule, and so is a reply put back for a pause.
func TestWakePutBacksRestartsSlowSchedule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration // of the last of 3 put-backs
		slow  bool
	}{
		// 3 × 1s × 5/4 + 2s = 5.75s: 10s is far slower, 4s not.
		{"slow", 10 * time.Second, true},
		{"at the rate", 4 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 94})
			page := h.pages[0].ID
			var pbs []putBack
			for i, d := range []time.Duration{time.Second, 2 * time.Second, tc.delay} {
				// Each its own error text, for its own delay; the suffix names
				// the rate.
				pbs = append(pbs, putBack{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "slot" + strconv.Itoa(i), page: page,
					lastErr: "put back for " + d.String() + ": page rate used up", delay: d})
			}
			// A reply held by a pause is no rate put-back, however far off.
			held := putBack{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "held", page: page,
				lastErr: "put back for 5m0s: page paused: throttled: usage headers near the limit (97%)", delay: time.Hour}
			leavePutBacks(t, h, append(pbs, held))
			back := h.ledger.PageKey(page, "back")
			ctx := context.Background()
			if err := h.db.Client.Set(ctx, back, "1", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			woken, err := worker.WakePutBacks(ctx, insp, h.ledger, map[string]worker.Wake{page: {Interval: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if tc.slow {
				want = len(pbs)
			}
			if woken[page].Replies != want {
				t.Errorf("woken %+v, want %d replies", woken, want)
			}
			if ti, err := insp.GetTaskInfo(tasks.QueueReplies, held.id); err != nil || ti.State != asynq.TaskStateRetry {
				t.Errorf("the reply held by a pause: %v %v, want it left in the retry state", ti, err)
			}
			if n, err := h.db.Client.Exists(ctx, back).Result(); err != nil || (n == 0) != tc.slow {
				t.Errorf("put-back schedule %s exists: %d (%v), want dropped: %v", back, n, err, tc.slow)
			}
		})
	}
}

// TestWakePutBacksReportsItemsFailure: when the webhook items put back for a
// lifted pause cannot be read, WakePutBacks says so (with the replies it ran
// counted), rather than report the wake-up done; a wake-up that lifts no
// pause (a rate change) does not read them, and so does not fail on them.
func TestWakePutBacksReportsItemsFailure(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 95})
	page := h.pages[0].ID
	const paused = "put back for 5m0s: page paused: policy_block: (#368) blocked"
	leavePutBacks(t, h, []putBack{{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "held", page: page, lastErr: paused, delay: time.Hour}})
	ctx := context.Background()
	// The polls queue is listed, but its retry set is no sorted set.
	if err := h.db.Client.SAdd(ctx, "asynq:queues", tasks.QueuePolls).Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Client.Set(ctx, "asynq:{"+tasks.QueuePolls+"}:retry", "not a zset", 0).Err(); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	woken, err := worker.WakePutBacks(ctx, insp, h.ledger, map[string]worker.Wake{page: {Lifted: true}})
	if err == nil || !strings.Contains(err.Error(), "webhook items") {
		t.Fatalf("WakePutBacks = %v, want the webhook items' failure", err)
	}
	if woken[page].Replies != 1 {
		t.Fatalf("woken %+v, want the reply it ran counted", woken)
	}
	if _, err := worker.WakePutBacks(ctx, insp, h.ledger, map[string]worker.Wake{page: {Rate: true}}); err != nil {
		t.Fatalf("WakePutBacks for a rate change = %v, want the webhook items left unread", err)
	}
}

// TestRunArchivedOfPagesPicksItsPages: RunArchivedOfPages runs again only
// the replies archived as not configured whose Page is among pages now; a
// Page still missing from the config keeps its archived replies (run, they
// would only fail and be archived again), and so does a reply archived for
// another reason.
func TestRunArchivedOfPagesPicksItsPages(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 96})
	page, other := h.pages[0].ID, h.pages[1].ID
	a := func(id, page, lastErr string) putBack {
		return putBack{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: id, page: page, lastErr: lastErr, archived: true}
	}
	pbs := []putBack{a("back", page, "page "+page+" is not configured on this worker"),
		a("still-missing", other, "page "+other+" is not configured on this worker"),
		a("refused", page, "graph: code 10900: Activity already replied to")}
	leavePutBacks(t, h, pbs)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	ran, err := worker.RunArchivedOfPages(context.Background(), enqOn(h.enq, insp), map[string]bool{page: true})
	if err != nil || len(ran) != 1 || ran[page] != 1 {
		t.Fatalf("ran %v, %v; want the one reply of page %s archived as not configured", ran, err, page)
	}
	for _, pb := range pbs {
		ti, err := insp.GetTaskInfo(pb.queue, pb.id)
		if err != nil {
			t.Fatalf("%s: %v", pb.id, err)
		}
		if ran := ti.State == asynq.TaskStatePending; ran != (pb.id == "back") {
			t.Errorf("%s (page %s, %q): %s, want run now: %v", pb.id, pb.page, pb.lastErr, ti.State, pb.id == "back")
		}
	}
}
