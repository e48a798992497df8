package worker_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// gapPages is pollPages with the first Page at 10 sends a second, burst 1,
// replying to every comment with one text, its replies to a person spaced
// by gap.
func gapPages(h *harness, gap time.Duration) []config.Page {
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	pages[0].DefaultText = "Thanks for entering!"
	pages[0].PersonGap = gap
	return pages
}

// fanComments adds n comments written at by one person (fan, of id fanID)
// to a post of pages[0], polls the Page and checks the poll queued them all;
// it returns their replies and comment ids, in order.
func fanComments(t *testing.T, h *harness, pages []config.Page, fanID string, n int, at time.Time) ([]tasks.Reply, []string) {
	t.Helper()
	page := pages[0].ID
	fan := sandbox.User{ID: fanID, Name: "Eager Fan"}
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "giveaway", time.Now().Add(-time.Hour))
	var rs []tasks.Reply
	var ids []string
	for range n {
		id := h.sb.AddComment(post, fan, "me! @friend", at)
		ids = append(ids, id)
		rs = append(rs, tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}})
	}
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil || rep.Enqueued() != n {
		t.Fatalf("poll: queued %d, %v; want the %d comments", rep.Enqueued(), err, n)
	}
	return rs, ids
}

// sendTimes returns the times of the sandbox's sends to targets, in order.
func sendTimes(h *harness, targets []string) []time.Time {
	var out []time.Time
	for _, s := range h.sb.Sends() {
		if slices.Contains(targets, s.Target) {
			out = append(out, s.Time)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// TestPersonGap: a person who comments 8 times on a giveaway post ("me!
// @friend"), on a Page with one_reply_per_person off, gets each comment's
// reply, once, spaced person_gap apart in their Messenger thread, not 8 in
// 0.7 s at the Page's rate (from an audit: Meta may rate limit a thread that
// gets too many messages, and the same text back to back is what its
// anti-spam looks for). The poll queues the replies, naming their writer.
// With person_gap 0 nothing is spaced and no record is kept. Seen failing
// without the fix: the 8 replies went out 100 ms apart.
func TestPersonGap(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	const gap = 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		gap  time.Duration
	}{{"gap", gap}, {"off", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 33})
			pages := gapPages(h, tc.gap)
			page := pages[0].ID
			rs, ids := fanComments(t, h, pages, "99000001", 8, time.Now().Add(-time.Minute))
			m := metrics.New()
			h.startWorkerOn(t, h.opt, 20, func(p *worker.Params) {
				p.Pages = pages
				p.Metrics = m
			})
			h.waitSent(t, rs, 40*time.Second)
			h.checkExactlyOnce(t, rs)

			times := sendTimes(h, ids)
			waits := readMetric(t, m.PersonGapWaits.WithLabelValues(page)).GetCounter().GetValue()
			keys, err := h.db.Client.Keys(context.Background(), "*:pg:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if tc.gap == 0 {
				if waits != 0 || len(keys) != 0 {
					t.Errorf("person_gap 0: %v put-backs for the gap, records %q; want none", waits, keys)
				}
				return
			}
			// Graph's clock is the sandbox's; Redis's booked them. Slack
			// on the lower side only, for the two clocks and the
			// sandbox's recording a moment after the send arrived, and
			// for the stalls of this process its stall watch saw around
			// the pair (a send handled late by a stalled process is
			// recorded nearer the next: make test beside other work saw
			// 236 ms between sends booked 300 ms apart), none without one.
			// Without the gap they went out at the Page's rate, 100 ms
			// apart.
			for i := 1; i < len(times); i++ {
				stalled := h.sb.StalledIn(times[i-1].Add(-tc.gap), times[i])
				if d := times[i].Sub(times[i-1]); d < tc.gap*8/10-stalled {
					t.Errorf("sends %d and %d to the person %s apart, want at least person_gap %s less the %s this process stalled around them (all %d in %s)",
						i-1, i, d, tc.gap, stalled, len(times), times[len(times)-1].Sub(times[0]))
				}
			}
			if waits == 0 {
				t.Error("no put-back counted in pagereply_person_gap_waits_total")
			}
		})
	}
}

// TestPersonGapOtherPeople: the gap is one person's: another person's reply
// is not held by it, while the first person's second reply is. The replies
// come from webhook deliveries (the items the webhook queues), which name
// the writer as the poll does. Seen failing without the fix: the first
// person's second reply went out at once.
func TestPersonGapOtherPeople(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 34})
	// Far longer than the test waits: a reply held by another person's
	// gap would not be sent in time.
	pages := gapPages(h, time.Minute)
	page := pages[0].ID
	ann := sandbox.User{ID: "99000011", Name: "Ann First"}
	ben := sandbox.User{ID: "99000012", Name: "Ben Second"}
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "giveaway", time.Now().Add(-time.Hour))
	anns := []string{
		h.sb.AddComment(post, ann, "me!", time.Now().Add(-time.Minute)),
		h.sb.AddComment(post, ann, "me! @friend", time.Now().Add(-time.Minute)),
	}
	bens := h.sb.AddComment(post, ben, "me too", time.Now().Add(-time.Minute))
	ctx := context.Background()
	for _, id := range append(anns, bens) {
		if out, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: id, PostID: post}); err != nil || out != tasks.Enqueued {
			t.Fatalf("enqueue webhook item: %v %v", out, err)
		}
	}
	h.startWorkerOn(t, h.opt, 20, func(p *worker.Params) {
		p.Pages = pages
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
	})

	h.waitSent(t, []tasks.Reply{{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: bens}}}, 20*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for h.sb.SendCount(anns[0])+h.sb.SendCount(anns[1]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("neither of the first person's comments got a reply: held by the other person's gap")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Time for the second to go out, were it not held.
	time.Sleep(2 * time.Second)
	if n := h.sb.SendCount(anns[0]) + h.sb.SendCount(anns[1]); n != 1 {
		t.Errorf("the first person got %d replies within seconds, want 1 (the second held by person_gap)", n)
	}
	for _, who := range []string{ann.ID, ben.ID} {
		if n, err := h.db.Client.Exists(ctx, h.ledger.PageKey(page, "pg:"+who)).Result(); err != nil || n != 1 {
			t.Errorf("no person_gap record for %s: %d %v", who, n, err)
		}
	}
}

// TestPersonGapConversation: a conversation reply is spaced from the last
// reply to the person too: the person writes again right after a reply
// reached them, and the reply to that message waits out the gap. Seen
// failing without the fix: it went out about a second after the first.
func TestPersonGapConversation(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	const gap = 3 * time.Second
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	pages[0].PersonGap = gap
	page := pages[0].ID
	ann := sandbox.User{ID: "7105001", Name: "Ann Person"}
	conv, m1 := h.sb.AddMessage(page, ann, "hi", time.Now().Add(-time.Minute))
	r1 := messageReply(page, ann.ID, conv, m1, "Thanks!", tasks.SourcePoll, time.Now().Add(-time.Minute))
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	h.enqueueAll(t, []tasks.Reply{r1})
	h.waitSent(t, []tasks.Reply{r1}, 10*time.Second)

	// Graph's created_time has whole seconds: write a second after the reply.
	time.Sleep(1100 * time.Millisecond)
	_, m2 := h.sb.AddMessage(page, ann, "and another thing", time.Now())
	r2 := messageReply(page, ann.ID, conv, m2, "Thanks again!", tasks.SourcePoll, time.Now())
	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitSent(t, []tasks.Reply{r2}, 15*time.Second)
	times := sendTimes(h, []string{ann.ID})
	if len(times) != 2 {
		t.Fatalf("the person got %d replies, want 2", len(times))
	}
	if d := times[1].Sub(times[0]); d < gap*8/10 {
		t.Errorf("the person's two replies went out %s apart, want at least person_gap %s", d, gap)
	}
}

// TestPersonGapNotPastWindow: a reply that waiting out person_gap would take
// past the Page's reply window goes out within the gap instead (max_age 4s,
// gap 3s: the scale of max_age 2h and a gap of an hour). Before, the third of
// a person's three comments was put back twice for the gap, came back past
// the window, and was archived unsent: a reply missed.
func TestPersonGapNotPastWindow(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 34})
	pages := gapPages(h, 3*time.Second)
	pages[0].MaxAge = 4 * time.Second
	rs, _ := fanComments(t, h, pages, "99000002", 3, time.Now())
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sent, archived := 0, 0
		for _, r := range rs {
			if h.sb.SendCount(r.Target.ID) > 0 {
				sent++
			} else if ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String()); err == nil && ti.State == asynq.TaskStateArchived {
				archived++
				t.Logf("%s archived: %s", r.Target, ti.LastErr)
			}
		}
		if archived > 0 {
			t.Fatalf("%d of the person's %d comments never answered: person_gap held their replies past max_age", archived, len(rs))
		}
		if sent == len(rs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replies sent in 15s", sent, len(rs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.checkExactlyOnce(t, rs)
}

// TestPersonGapWaitsWhatTheWindowAllows: a reply whose gap outlasts what is
// left of its window waits as long as the window allows before it goes out
// within the gap (gap 8s, max_age 16s, two comments written 8s ago: about
// 2 s of waiting), not at once behind the person's first reply. Before, the
// two went out a few milliseconds apart (from the review of the session's
// diff).
func TestPersonGapWaitsWhatTheWindowAllows(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 35})
	pages := gapPages(h, 8*time.Second)
	pages[0].MaxAge = 16 * time.Second
	rs, ids := fanComments(t, h, pages, "99000003", 2, time.Now().Add(-8*time.Second))
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	h.waitSent(t, rs, 15*time.Second)
	h.checkExactlyOnce(t, rs)
	times := sendTimes(h, ids)
	if d := times[1].Sub(times[0]); d < 900*time.Millisecond {
		t.Errorf("the person's two replies went out %s apart, want the second to wait what its window allowed (about 2 s)", d)
	}
}

// TestPersonGapNotOnLastRun: a reply on its last run (its retry count at
// asynq's limit: a task queued by an older pagereply, whose limit was
// max_retry + 1, or whose workers were killed that many times) is not put
// back for person_gap: asynq archives a task at its limit on any error, a
// put-back included, and the comment would never be answered. It goes out
// within the gap instead.
func TestPersonGapNotOnLastRun(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 36})
	pages := gapPages(h, time.Hour)
	page := pages[0].ID
	ctx := context.Background()
	const fan = "99000004"
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "giveaway", time.Now().Add(-time.Hour))
	id := h.sb.AddComment(post, sandbox.User{ID: fan, Name: "Eager Fan"}, "me! @friend", time.Now().Add(-time.Minute))
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks for entering!",
		Source: tasks.SourcePoll, Created: time.Now().Add(-time.Minute).UnixMilli(), Person: fan}
	// The person's reply to another comment was just booked: the gap holds
	// them for an hour.
	if wait, err := h.ledger.PersonGap(ctx, page, fan, tasks.Target{Kind: tasks.KindComment, ID: post + "_1"}, 0, time.Hour); err != nil || wait != 0 {
		t.Fatalf("book the person's other reply: wait %s, %v", wait, err)
	}
	payload, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// At asynq's limit from its first run.
	opts := append(tasks.ReplyTaskOptions(&r, 0, time.Hour), asynq.MaxRetry(0))
	if _, err := h.enq.Client.EnqueueContext(ctx, asynq.NewTask(tasks.TypeReply, payload), opts...); err != nil {
		t.Fatal(err)
	}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	ti := h.waitTask(t, r, 15*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if ti.State == asynq.TaskStateArchived {
		t.Fatalf("a reply on its last run was archived unsent: %q", ti.LastErr)
	}
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// TestPersonGapPutBackKeepsWindowMargin: a reply put back for person_gap
// comes back with at least a few seconds of its reply window left, as asynq
// brings a put-back back up to a few seconds late under load: gap 22s,
// max_age 30s, a comment written 5s ago. Put back for the whole gap, it
// would come back with under 3s left, and a late return would find it past
// the window and archive it unsent: a reply missed. It waits what the
// window allows less the margin instead.
func TestPersonGapPutBackKeepsWindowMargin(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 37})
	pages := gapPages(h, 22*time.Second)
	pages[0].MaxAge = 30 * time.Second
	page := pages[0].ID
	const fan = "99000005"
	rs, ids := fanComments(t, h, pages, fan, 1, time.Now().Add(-5*time.Second))
	c, ok := h.sb.Comment(ids[0])
	if !ok {
		t.Fatal("comment not in the sandbox")
	}
	// The person's reply to another comment was just booked: the gap holds
	// them for 22s.
	if wait, err := h.ledger.PersonGap(context.Background(), page, fan, tasks.Target{Kind: tasks.KindComment, ID: ids[0] + "0"}, 0, 22*time.Second); err != nil || wait != 0 {
		t.Fatalf("book the person's other reply: wait %s, %v", wait, err)
	}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = pages })
	ti := h.waitTask(t, rs[0], 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
	if left := c.CreatedTime.Add(pages[0].MaxAge).Sub(ti.NextProcessAt); left < 4*time.Second {
		t.Errorf("put back until %s, with %s of its reply window left, want a margin of about 5s", ti.NextProcessAt.Format(time.TimeOnly), left)
	}
	if n := h.sb.SendCount(ids[0]); n != 0 {
		t.Errorf("sent %d times within the person's gap, want none yet", n)
	}
}

// TestPersonGapUnknownPeople: a reply whose person is unknown (the API
// queues a comment's reply without its writer) is not spaced: nothing says
// two such replies go to one person. Both go out at once, and no record is
// kept. Spaced under one record for every unknown person, the Page's API
// replies went out one person_gap apart (here an hour: the second was put
// back for it, and one with less window left would be missed).
func TestPersonGapUnknownPeople(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 38})
	pages := gapPages(h, time.Hour)
	page := pages[0].ID
	at := time.Now().Add(-time.Minute)
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "giveaway", time.Now().Add(-time.Hour))
	var rs []tasks.Reply
	for _, u := range []sandbox.User{{ID: "99000006", Name: "One Fan"}, {ID: "99000007", Name: "Another Fan"}} {
		id := h.sb.AddComment(post, u, "me!", at)
		rs = append(rs, tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks for entering!",
			Source: tasks.SourceAPI, Created: at.UnixMilli()})
	}
	m := metrics.New()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Pages = pages
		p.Metrics = m
	})
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 20*time.Second)
	h.checkExactlyOnce(t, rs)
	waits := readMetric(t, m.PersonGapWaits.WithLabelValues(page)).GetCounter().GetValue()
	keys, err := h.db.Client.Keys(context.Background(), "*:pg:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if waits != 0 || len(keys) != 0 {
		t.Errorf("replies to unknown people: %v put-backs for the gap, records %q; want none", waits, keys)
	}
}
