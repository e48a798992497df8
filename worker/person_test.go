package worker_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// pollConversation polls page once and returns the conversation reply it
// queued for the person psid (one not in not).
func pollConversation(t *testing.T, h *harness, pl *worker.Poller, page, psid string, not ...tasks.Reply) tasks.Reply {
	t.Helper()
	rep, err := pl.Poll(context.Background(), page, false)
	if err != nil || rep.Enqueued() != 1 {
		t.Fatalf("poll: queued %d, %v", rep.Enqueued(), err)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	// A worker may have taken it already, even sent it.
	for _, state := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		insp.ListPendingTasks, insp.ListScheduledTasks, insp.ListActiveTasks, insp.ListRetryTasks, insp.ListCompletedTasks} {
		tis, err := state(tasks.QueueReplies)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range tis {
			r, err := tasks.DecodeReply(ti.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if r.PSID == psid && r.Target.Kind == tasks.KindMessage && !slices.ContainsFunc(not, func(o tasks.Reply) bool { return o.Target == r.Target }) {
				return r
			}
		}
	}
	t.Fatalf("no conversation reply queued for %s", psid)
	return tasks.Reply{}
}

// messageReply returns the conversation reply to the message id of the
// person psid in conversation conv of page, written at at.
func messageReply(page, psid, conv, id, text string, source tasks.Source, at time.Time) tasks.Reply {
	return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: id}, PSID: psid, ConversationID: conv,
		Text: text, Source: source, Created: at.UnixMilli()}
}

// sendsTo returns the texts the sandbox delivered to the person psid.
func sendsTo(h *harness, psid string) []string {
	var out []string
	for _, s := range h.sb.Sends() {
		if s.Target == psid {
			out = append(out, s.Text)
		}
	}
	return out
}

// TestPersonWritesAgainBeforeReply: a person writes, the poll queues the
// reply, and the person writes again before it goes out (here the worker is
// not started yet: a backlog, a pause, a retry's backoff). The next poll
// queues a reply to the new message, the Page having sent nothing. When the
// queue flows, the person gets one reply, not one per message; the other
// target is recorded as sent, with the message id of the reply that answered
// the person, and counted as a duplicate skipped. Before the person's record
// (tasks.PersonClaim), both went out within milliseconds.
func TestPersonWritesAgainBeforeReply(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	page := pages[0].ID
	ann := sandbox.User{ID: "7001001", Name: "Ann Person"}
	now := time.Now()
	h.sb.AddMessage(page, ann, "hello, is this open?", now.Add(-2*time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	first := pollConversation(t, h, pl, page, ann.ID)
	h.sb.AddMessage(page, ann, "hello??", now.Add(-time.Minute))
	second := pollConversation(t, h, pl, page, ann.ID, first)
	if first.Created == 0 || second.Created <= first.Created {
		t.Fatalf("replies carry the messages' times %d, %d", first.Created, second.Created)
	}

	m := metrics.New()
	p := testParams(h.opt, h.ledger, graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), pages, 20, testLogger())
	p.Metrics = m
	w := worker.New(p)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	h.waitSent(t, []tasks.Reply{first, second}, 20*time.Second)
	waitRepliesSettled(t, h) // the duplicate's count follows its ledger record, which waitSent read
	if got := sendsTo(h, ann.ID); len(got) != 1 {
		t.Fatalf("the person got %d replies, want 1: %q", len(got), got)
	}
	es, err := h.ledger.GetMany(context.Background(), page, []tasks.Target{first.Target, second.Target})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].MessageID == "" || es[0].MessageID != es[1].MessageID {
		t.Errorf("both targets should name the one reply: %q, %q", es[0].MessageID, es[1].MessageID)
	}
	if n := readMetric(t, m.DuplicatesSkipped.WithLabelValues(page, "person")).GetCounter().GetValue(); n != 1 {
		t.Errorf("duplicates skipped (person) = %v, want 1", n)
	}
}

// TestPersonWritesAgainAfterReply: a message the person writes after a reply
// reached them gets its own reply (docs/BEHAVIOUR.md: a person who writes
// again after a reply gets another): the person's record holds back only replies to
// messages written before it.
func TestPersonWritesAgainAfterReply(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	page := pages[0].ID
	ann := sandbox.User{ID: "7001002", Name: "Ann Person"}
	h.sb.AddMessage(page, ann, "hello, is this open?", time.Now().Add(-2*time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	h.startPollingWorker(t, pages, nil)
	first := pollConversation(t, h, pl, page, ann.ID)
	h.waitSent(t, []tasks.Reply{first}, 20*time.Second)

	// Graph's created_time has whole seconds: write a second after the reply.
	time.Sleep(1100 * time.Millisecond)
	h.sb.AddMessage(page, ann, "and on Sundays?", time.Now())
	// The Page's reply is within 10 s of nothing the person wrote after it,
	// so the poll does not take it for an answer to the new message.
	second := pollConversation(t, h, pl, page, ann.ID, first)
	h.waitSent(t, []tasks.Reply{second}, 20*time.Second)
	if got := sendsTo(h, ann.ID); len(got) != 2 {
		t.Fatalf("the person got %d replies, want 2 (one per message, the second written after the first reply): %q", len(got), got)
	}
}

// TestPersonBusyWhileAnotherReplyIsInDoubt: while a reply to the person is
// in doubt (its send's answer was lost), a reply to another of their
// messages waits: it is put back, not sent, however long the doubt lasts
// (before the review, 10 minutes only, which a pause outlasts), until the
// doubtful one is settled. Then, the doubtful one found sent, the waiting
// one is answered.
func TestPersonBusyWhileAnotherReplyIsInDoubt(t *testing.T) {
	h, pages, ann, r1, r2 := annTwoMessages(t, "7001003")
	page := pages[0].ID
	ctx := context.Background()

	// r1's attempt claimed the person, and its send's answer was lost: its
	// entry is in doubt, until its next attempt reads the conversation, which
	// a pause can put off for an hour or more.
	if pc, err := h.ledger.PersonClaim(ctx, page, tasks.Person{ID: ann.ID}, r1.Target, "tok1", time.UnixMilli(r1.Created), 24*time.Hour); err != nil || pc.Outcome != tasks.PersonClaimed {
		t.Fatalf("claim: %+v %v", pc, err)
	}
	if err := h.ledger.MarkUnknown(ctx, page, r1.Target, 0); err != nil {
		t.Fatal(err)
	}
	h.enqueueAll(t, []tasks.Reply{r2})
	h.startPollingWorker(t, pages, nil)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for range 3 {
		// However often it comes back (run at once here, not in 30 s).
		ti := h.waitTask(t, r2, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
		if ti.Retried != 0 {
			t.Errorf("a put-back used %d retries", ti.Retried)
		}
		if got := sendsTo(h, ann.ID); len(got) != 0 {
			t.Fatalf("sent %q while another reply to the person was in doubt", got)
		}
		if err := insp.RunTask(tasks.QueueReplies, r2.Target.String()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The doubtful reply is found to have landed, and recorded: r2 is
	// answered by it.
	if err := h.ledger.PersonSent(ctx, page, tasks.Person{ID: ann.ID}, r1.Target, "m_landed", time.Time{}, tasks.PersonTTL); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.MarkSent(ctx, page, r1.Target, "m_landed"); err != nil {
		t.Fatal(err)
	}
	_ = insp.RunTask(tasks.QueueReplies, r2.Target.String())
	h.waitSent(t, []tasks.Reply{r2}, 20*time.Second)
	e, err := h.ledger.Get(ctx, page, r2.Target)
	if err != nil || e.MessageID != "m_landed" {
		t.Errorf("r2 recorded with %q (%v), want the reply that reached the person", e.MessageID, err)
	}
	if got := sendsTo(h, ann.ID); len(got) != 0 {
		t.Errorf("sent %q although a reply reached the person after their message", got)
	}
}

// TestPersonHeldWhileOwnSendInDoubt: a conversation reply whose send got no
// answer keeps its claim on the person (handleReply does not release it):
// another reply to the person, to a message they wrote before that send
// could have landed, waits until the first reply's next attempt has asked
// Graph, and is then answered by the reply that landed. Released with the
// attempt that sent, the claim held nothing, and the person, whose first
// reply had reached them, got a second at once.
func TestPersonHeldWhileOwnSendInDoubt(t *testing.T) {
	t.Parallel() // mostly waits out a settle time
	h, pages, ann, r1, r2 := annTwoMessages(t, "7001010")

	// r1 reaches the person, and its answer is lost: its next attempt asks
	// Graph only after the settle time, which r2 must wait for too.
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages, p.SendSettle = pages, 5*time.Second })
	h.answerLost(t, r1)

	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitPutBack(t, r2, 10*time.Second, func() {
		if got := sendsTo(h, ann.ID); len(got) != 1 {
			t.Fatalf("the person got %d replies while the first one's outcome was unknown, want 1: %q", len(got), got)
		}
	})
	h.waitSent(t, []tasks.Reply{r1}, 20*time.Second)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	// Put back for 30 s or more (the other reply in doubt): run it now.
	if err := insp.RunTask(tasks.QueueReplies, r2.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r2}, 20*time.Second)
	oneReplyAnsweringBoth(t, h, ann, r1, r2)
}

// TestPersonWritesAfterDoubtfulReplyLanded: a conversation reply reaches
// the person and its answer is lost; the person writes again after it
// landed, before its next attempt finds it in the conversation. That attempt
// records the reply for the person with Graph's time of it, and the new
// message gets its own reply. Without that record (settleMessageDoubt not
// calling PersonSent), the first attempt's claim stayed on the person and
// its target, marked sent after the person wrote, answered the new message:
// it was never answered.
func TestPersonWritesAfterDoubtfulReplyLanded(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	page := pages[0].ID
	ann := sandbox.User{ID: "7001012", Name: "Ann Person"}
	conv, m1 := h.sb.AddMessage(page, ann, "first", time.Now().Add(-2*time.Minute))
	r1 := messageReply(page, ann.ID, conv, m1, "Thanks!", tasks.SourceAPI, time.Now().Add(-2*time.Minute))

	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages, p.SendSettle = pages, 3*time.Second })
	h.answerLost(t, r1)
	// Graph's created_time has whole seconds: write a second after the
	// reply landed, while its outcome is still unknown here.
	time.Sleep(1100 * time.Millisecond)
	at := time.Now()
	_, m2 := h.sb.AddMessage(page, ann, "and on Sundays?", at)
	r2 := messageReply(page, ann.ID, conv, m2, "Thanks again!", tasks.SourceAPI, at)
	h.waitSent(t, []tasks.Reply{r1}, 30*time.Second)

	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitSent(t, []tasks.Reply{r2}, 20*time.Second)
	if got := sendsTo(h, ann.ID); len(got) != 2 {
		t.Errorf("the person got %d replies, want 2 (the second message was written after the first reply landed): %q", len(got), got)
	}
}

// TestReplyPastWindowNotSent: a reply that waited in the queue (here a
// throttle pause) past its Page's max_age is not sent: it is archived with
// the reason. Before, the window was checked only when the reply was queued,
// and a Page's max_age under Graph's own 7 days was not honoured for a reply
// that waited. The target is not recorded as failed (the window is the
// Page's setting): polls under the same max_age skip it, and once max_age is
// widened the next poll queues it again and it is sent, once, as is the
// comment the poll had skipped as too old. Before, the ledger recorded it
// failed, and no config change could reach it.
func TestReplyPastWindowNotSent(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 9})
	pages := pollPages(h)
	pages[0].MaxAge = 4 * time.Second
	pages[0].DefaultText = defaultText
	page := pages[0].ID
	ctx := context.Background()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-time.Hour))
	late := h.sb.AddComment(post, sandbox.User{ID: "7002002", Name: "Bob Visitor"}, "hello", time.Now().Add(-time.Second))
	skipped := h.sb.AddComment(post, sandbox.User{ID: "7002003", Name: "Cid Skipped"}, "hello", time.Now().Add(-time.Minute))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, false)
	if err != nil || rep.Enqueued() != 1 {
		t.Fatalf("poll: queued %d, %v", rep.Enqueued(), err)
	}
	if _, err := h.ledger.Pause(ctx, page, 6*time.Second, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	narrow := worker.New(testParams(h.opt, h.ledger, graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), pages, 20, testLogger()))
	if err := narrow.Start(); err != nil {
		t.Fatal(err)
	}
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: late}}
	ti := h.waitArchived(t, r, 20*time.Second)
	narrow.Shutdown(ctx)
	if !strings.Contains(ti.LastErr, "reply window") {
		t.Errorf("archived with %q, want the reply window named", ti.LastErr)
	}
	if ti.Retried != 0 {
		t.Errorf("archived after %d retries, want at its first run (the window does not widen by retrying)", ti.Retried)
	}
	if n := h.sb.SendCount(late); n != 0 {
		t.Errorf("the comment got %d replies after the Page's max_age", n)
	}
	if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusNone {
		t.Errorf("ledger: %+v %v, want no entry (the window is the Page's setting)", e, err)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	h.enq.Inspector = insp
	// Under the same max_age, the poll skips it.
	if rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, false); err != nil || rep.Enqueued() != 0 {
		t.Fatalf("poll under the same max_age: queued %d, %v", rep.Enqueued(), err)
	}
	// The operator widens max_age: the next poll (a full read, the settings
	// changed) queues both, and a worker with the new config sends each once.
	wide := pollPages(h)
	wide[0].MaxAge = 168 * time.Hour
	wide[0].DefaultText = defaultText
	if rep, err := worker.NewPoller(h.pollParams(wide)).Poll(ctx, page, false); err != nil || rep.Enqueued() != 2 {
		t.Fatalf("poll under the wider max_age: queued %d (%+v), %v; want the held reply and the skipped comment", rep.Enqueued(), rep.Report, err)
	}
	h.startPollingWorker(t, wide, nil)
	sk := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: skipped}}
	h.waitSent(t, []tasks.Reply{r, sk}, 20*time.Second)
	if n := h.sb.SendCount(late); n != 1 {
		t.Errorf("the held comment got %d replies, want 1", n)
	}
}

// TestConversationRepliedOnceAfterRedisLoss: a person writes, the poll
// queues the reply and the worker sends it within seconds. Redis then comes
// back without its data (no persistence, or its file lost), and the next
// poll reads the conversation again: the Page's reply follows the person's
// message within intake.InstantReplyWithin, where a Page message is taken for
// Messenger's instant reply, not an answer. Its text is the reply's own, so
// the poll knows pagereply answered and queues nothing: before, it queued
// the reply again and the person got it twice (Messenger, unlike Graph for
// a comment, refuses no second message).
func TestConversationRepliedOnceAfterRedisLoss(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
	pages := conversationPages(h)
	page := pages[0].ID
	ctx := context.Background()
	const psid = "8601"
	h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Quick Person"}, "hello, is this open today?", time.Now())
	pl := worker.NewPoller(h.pollParams(pages))
	first := pollConversation(t, h, pl, page, psid)
	h.startWorker(t, 4)
	h.waitSent(t, []tasks.Reply{first}, 10*time.Second)

	if err := h.db.Client.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 0 || rep.Skipped[intake.SkipOwn] != 1 {
		t.Errorf("poll after the loss: queued %d, skipped %v; want the conversation skipped as answered by the Page", rep.Enqueued(), rep.Skipped)
	}
	time.Sleep(2 * time.Second)
	if got := sendsTo(h, psid); len(got) != 1 {
		t.Errorf("the person got %d messages from the Page, want 1: %q", len(got), got)
	}
}

// TestOneReplyPerPerson: on a Page with one_reply_per_person, a person who
// commented three times (twice on one post, once on another) gets one
// private reply, the other two comments recorded as answered by it; another
// person's comment gets its own. Without the setting, each comment gets its
// reply, as SPEC's "every eligible comment" has it. The person's record is
// kept for the Page's reply window (before the test read it, its TTL could
// be cut to a conversation's 25 hours unseen).
func TestOneReplyPerPerson(t *testing.T) {
	for _, once := range []bool{true, false} {
		h := newHarness(t, sandbox.Options{Pages: 1, Seed: 31})
		pages := pollPages(h)
		pages[0].DefaultText = defaultText
		pages[0].OneReplyPerPerson = once
		page := pages[0].ID
		ben := sandbox.User{ID: "7003001", Name: "Ben Many"}
		cara := sandbox.User{ID: "7003002", Name: "Cara Once"}
		now := time.Now()
		p1 := h.sb.AddPost(page, sandbox.User{ID: page}, "Giveaway!", now.Add(-time.Hour))
		p2 := h.sb.AddPost(page, sandbox.User{ID: page}, "New hours", now.Add(-time.Hour))
		bens := []string{
			h.sb.AddComment(p1, ben, "me!", now.Add(-3*time.Minute)),
			h.sb.AddComment(p1, ben, "@friend look", now.Add(-2*time.Minute)),
			h.sb.AddComment(p2, ben, "open sunday?", now.Add(-time.Minute)),
		}
		caras := h.sb.AddComment(p1, cara, "me too", now.Add(-time.Minute))
		rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
		if err != nil || rep.Enqueued() < 4 {
			t.Fatalf("poll: queued %d, %v", rep.Enqueued(), err)
		}
		h.startPollingWorker(t, pages, nil)
		var rs []tasks.Reply
		for _, id := range append(bens, caras) {
			rs = append(rs, tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}})
		}
		h.waitSent(t, rs, 20*time.Second)
		got := 0
		for _, id := range bens {
			got += h.sb.SendCount(id)
		}
		want := 3
		if once {
			want = 1
		}
		if got != want {
			t.Errorf("one_reply_per_person %v: the person who commented 3 times got %d replies, want %d", once, got, want)
		}
		if n := h.sb.SendCount(caras); n != 1 {
			t.Errorf("one_reply_per_person %v: the other person got %d replies, want 1", once, n)
		}
		if once {
			// The person's record lasts the Page's reply window (7 days
			// here), not Messenger's 25 hours: a comment they write two
			// days later is answered by the reply they have.
			key := h.ledger.PageKey(page, "pc:"+ben.ID) + ":s"
			win := intake.Window(&pages[0], tasks.KindComment)
			if ttl, err := h.db.Client.PTTL(context.Background(), key).Result(); err != nil || ttl < win-time.Minute {
				t.Errorf("the person's record %s kept for %s (%v), want the reply window %s", key, ttl, err, win)
			}
		}
	}
}

// failText is a Graph whose SendMessage of one text is refused for good
// (Graph's answer: nothing was sent), the rest passing to the sandbox.
type failText struct {
	worker.Graph
	text string
	mu   sync.Mutex
	n    int
}

func (f *failText) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	if text == f.text {
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 100, Message: "(#100) test: this text is refused", Class: graph.ClassPermanent}
	}
	return f.Graph.SendMessage(ctx, token, pageID, psid, text)
}

// TestPersonRecordKeepsLastReply: a reply that claims the person and then
// sends nothing (Graph refuses it for good) leaves the record of the last
// reply that reached them as it was: a reply to a message written before
// that one is answered by it. Before, the claim overwrote the record and its
// release deleted it, and that reply went out, a second one (found by the
// second review of the person record).
func TestPersonRecordKeepsLastReply(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	page := pages[0].ID
	ann := sandbox.User{ID: "7101001", Name: "Ann Person"}
	now := time.Now()
	conv, m1 := h.sb.AddMessage(page, ann, "first", now.Add(-3*time.Minute))
	_, m2 := h.sb.AddMessage(page, ann, "second", now.Add(-2*time.Minute))
	mk := func(id, text string, at time.Time) tasks.Reply {
		return messageReply(page, ann.ID, conv, id, text, tasks.SourcePoll, at)
	}
	r1 := mk(m1, "Thanks!", now.Add(-3*time.Minute))
	r2 := mk(m2, "Thanks!", now.Add(-2*time.Minute))

	fg := &failText{text: "refused text"}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		fg.Graph = p.Graph
		p.Graph = fg
		p.Pages = pages
	})
	// r1 goes out: the person's record says a reply reached them now.
	h.enqueueAll(t, []tasks.Reply{r1})
	h.waitSent(t, []tasks.Reply{r1}, 10*time.Second)

	// The person writes again after it; that message's reply claims the
	// person and is refused for good by Graph (sends nothing).
	time.Sleep(1100 * time.Millisecond)
	_, m3 := h.sb.AddMessage(page, ann, "third", time.Now())
	r3 := mk(m3, "refused text", time.Now())
	h.enqueueAll(t, []tasks.Reply{r3})
	h.waitArchived(t, r3, 10*time.Second)

	// The reply to m2, written before r1's reply reached the person (held
	// by a pause, a backlog or a put-back until now), comes up.
	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitSent(t, []tasks.Reply{r2}, 10*time.Second)
	if got := sendsTo(h, ann.ID); len(got) != 1 {
		t.Errorf("the person got %d replies, want 1 (m2 was written before r1's reply reached them): %q", len(got), got)
	}
}

// TestOneReplyPerPersonAfterEarlierReply: on a Page with
// one_reply_per_person, a comment c1 the person already has a private reply
// to is recorded for the person when its task finds that reply, and their
// next comment c2 is answered by it:
//   - already replied: Graph's 10900 on c1's first attempt (a moderator in
//     the inbox answered while the reply waited); before, c2 got a second
//     private reply;
//   - settled doubt: c1's earlier attempt reached the person and its answer
//     was lost; the next attempt finds it (private_reply_conversation). The
//     doubt has outlived that attempt's claim on the person (a claim lasts
//     the window from that attempt; the doubt is settled whenever the next
//     attempt comes), so the record is all that holds the person: without it
//     (settleDoubt not calling PersonSent), c2 got a second private reply.
func TestOneReplyPerPersonAfterEarlierReply(t *testing.T) {
	for _, tc := range []struct {
		name, user, text string
		lostAnswer       bool
	}{
		{name: "already replied", user: "7103001", text: "Hi, a human here"},
		{name: "settled doubt", user: "7103002", text: "Thanks for your comment, Ben!", lostAnswer: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 31})
			pages := pollPages(h)
			pages[0].DefaultText = defaultText
			pages[0].OneReplyPerPerson = true
			h.pages = pages
			page := pages[0].ID
			ben := sandbox.User{ID: tc.user, Name: "Ben Many"}
			now := time.Now()
			p1 := h.sb.AddPost(page, sandbox.User{ID: page}, "Giveaway!", now.Add(-time.Hour))
			c1 := h.sb.AddComment(p1, ben, "me!", now.Add(-3*time.Minute))
			c2 := h.sb.AddComment(p1, ben, "me again", now.Add(-2*time.Minute))
			mk := func(id string, at time.Time) tasks.Reply {
				return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: defaultText,
					Source: tasks.SourcePoll, Created: at.UnixMilli(), Person: ben.ID}
			}
			r1, r2 := mk(c1, now.Add(-3*time.Minute)), mk(c2, now.Add(-2*time.Minute))
			// c1 has its private reply already.
			g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
			if _, err := g.SendPrivateReply(context.Background(), pages[0].AccessToken, page, graph.Recipient{CommentID: c1}, tc.text); err != nil {
				t.Fatal(err)
			}
			if tc.lostAnswer {
				h.lostAnswer(t, r1)
			}
			h.startWorker(t, 1)
			h.enqueueAll(t, []tasks.Reply{r1})
			h.waitSent(t, []tasks.Reply{r1}, 10*time.Second)
			h.enqueueAll(t, []tasks.Reply{r2})
			h.waitSent(t, []tasks.Reply{r2}, 10*time.Second)
			if got := h.sb.SendCount(c1) + h.sb.SendCount(c2); got != 1 {
				t.Errorf("the person got %d private replies, want 1 with one_reply_per_person (c1's, found by its task)", got)
			}
			if n := h.sb.AlreadyRepliedCount(); tc.lostAnswer && n != 0 {
				t.Errorf("%d sends refused as already replied: c1's reply was sent again", n)
			}
		})
	}
}

// TestDoubtHoldsOnlyEarlierMessages: a reply in doubt whose task is gone
// (archived after its retries, or deleted from the archive) does not hold a
// message the person writes after its send could have landed: that one gets
// its reply. Before, it was put back every 30-40 s for the whole 24 h window
// and then archived too old.
func TestDoubtHoldsOnlyEarlierMessages(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages := conversationPages(h)
	page := pages[0].ID
	ctx := context.Background()
	ann := sandbox.User{ID: "7104001", Name: "Ann Person"}
	conv, m1 := h.sb.AddMessage(page, ann, "first", time.Now().Add(-10*time.Minute))
	r1 := messageReply(page, ann.ID, conv, m1, "Thanks!", tasks.SourcePoll, time.Now().Add(-10*time.Minute))
	// r1's last attempt claimed the person and its send's outcome was lost;
	// its task then ran out of retries (archived) or was deleted.
	if pc, err := h.ledger.PersonClaim(ctx, page, tasks.Person{ID: ann.ID}, r1.Target, "tok1", time.UnixMilli(r1.Created), 24*time.Hour); err != nil || pc.Outcome != tasks.PersonClaimed {
		t.Fatalf("claim: %+v %v", pc, err)
	}
	if err := h.ledger.MarkUnknown(ctx, page, r1.Target, time.Second); err != nil {
		t.Fatal(err)
	}
	// Minutes later the person writes again: whatever r1 did, it did before.
	time.Sleep(2 * time.Second)
	_, m2 := h.sb.AddMessage(page, ann, "hello? anyone?", time.Now())
	r2 := r1
	r2.Target.ID, r2.Created, r2.Text = m2, time.Now().UnixMilli(), "Thanks again!"
	h.enqueueAll(t, []tasks.Reply{r2})
	h.startPollingWorker(t, pages, nil)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for range 3 {
		ti := h.waitTask(t, r2, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled, asynq.TaskStateCompleted)
		if ti.State == asynq.TaskStateCompleted {
			return
		}
		_ = insp.RunTask(tasks.QueueReplies, r2.Target.String())
		time.Sleep(300 * time.Millisecond)
	}
	t.Errorf("a message written after the doubtful reply's send (its task gone) is held: %d replies", len(sendsTo(h, ann.ID)))
}

// personSentCall matches the script call of a person's record of a reply
// that reached them (tasks.Ledger.PersonSent): two keys, the person's claim
// and their record (":s"), then the target, the message id, the TTL and the
// time; PersonClaim's has the same keys and more arguments. A failOnce of it
// fails the write as Redis does while it loads its data after a restart.
func personSentCall(a []any) bool { return personScriptCall(a, 9) }

// personClaimCall matches the script call of a conversation reply's claim on
// its person (tasks.Ledger.PersonClaim): the same two keys, then the target,
// the time the person wrote, the claim's TTL, the entries' prefix, the
// window and the attempt's token.
func personClaimCall(a []any) bool { return personScriptCall(a, 11) }

// personScriptCall matches a script call of n arguments on a conversation
// person's claim and record.
func personScriptCall(a []any, n int) bool {
	if len(a) != n || (a[0] != "evalsha" && a[0] != "eval") {
		return false
	}
	k, ok := a[4].(string)
	return ok && strings.Contains(k, ":p:") && strings.HasSuffix(k, ":s")
}

// TestPersonHeldWhileSentReplyUnrecorded: a conversation reply reaches the
// person, but the record of it (PersonSent) fails: the attempt keeps its
// claim on the person, held by its target's claim, until the reply's rerun
// finds it in the conversation and records it. A reply to the person's other
// message, written before, waits meanwhile and is then answered by the reply
// that landed. Released after the failed record (handleReply's releasePerson
// left true), the claim held nothing and the person got a second reply.
func TestPersonHeldWhileSentReplyUnrecorded(t *testing.T) {
	t.Parallel() // mostly waits out a claim
	h, pages, ann, r1, r2 := annTwoMessages(t, "7001011")

	hook := &failOnce{match: personSentCall}
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages, p.Ledger = pages, ledger })
	h.enqueueAll(t, []tasks.Reply{r1})
	for deadline := time.Now().Add(10 * time.Second); hook.failed.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("r1's record was never written (sends %d)", len(sendsTo(h, ann.ID)))
		}
	}
	if got := sendsTo(h, ann.ID); len(got) != 1 {
		t.Fatalf("the person got %d replies, want r1's: %q", len(got), got)
	}

	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitPutBack(t, r2, 10*time.Second, func() {
		if got := sendsTo(h, ann.ID); len(got) != 1 {
			t.Fatalf("the person got %d replies while the first one's record was missing, want 1: %q", len(got), got)
		}
	})
	// r1's rerun waits out its earlier attempt's claim, then finds its
	// reply in the conversation; r2, put back for a few seconds at a time,
	// is then answered by it.
	h.waitSent(t, []tasks.Reply{r1, r2}, 40*time.Second)
	oneReplyAnsweringBoth(t, h, ann, r1, r2)
}

// answerLost queues r with every answer of Graph's dropped (the send lands,
// its answer does not) and waits until its entry is in doubt; answers come
// back after. A worker must be running.
func (h *harness) answerLost(t *testing.T, r tasks.Reply) {
	t.Helper()
	h.sb.SetFaults(sandbox.Faults{DropRate: 1})
	defer h.sb.SetFaults(sandbox.Faults{})
	h.enqueueAll(t, []tasks.Reply{r})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == tasks.StatusUnknown {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not in doubt after 10s: %+v (sends %d)", r.Target, e, h.sb.SendCount(r.PSID))
		}
	}
}

// annTwoMessages is a harness whose Page answers conversations, where Ann
// (user id) wrote twice, 2 minutes and 1 minute ago: r1 and r2 are the API's
// replies to her two messages.
func annTwoMessages(t *testing.T, id string) (h *harness, pages []config.Page, ann sandbox.User, r1, r2 tasks.Reply) {
	h = newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	pages = conversationPages(h)
	page := pages[0].ID
	ann = sandbox.User{ID: id, Name: "Ann Person"}
	conv, m1 := h.sb.AddMessage(page, ann, "first", time.Now().Add(-2*time.Minute))
	_, m2 := h.sb.AddMessage(page, ann, "second", time.Now().Add(-time.Minute))
	r1 = messageReply(page, ann.ID, conv, m1, "Thanks!", tasks.SourceAPI, time.Now().Add(-2*time.Minute))
	r2 = messageReply(page, ann.ID, conv, m2, "Thanks!", tasks.SourceAPI, time.Now().Add(-time.Minute))
	return h, pages, ann, r1, r2
}

// oneReplyAnsweringBoth checks that the person got one reply, r1's, and that
// r2 is recorded as answered by it.
func oneReplyAnsweringBoth(t *testing.T, h *harness, ann sandbox.User, r1, r2 tasks.Reply) {
	t.Helper()
	if got := sendsTo(h, ann.ID); len(got) != 1 {
		t.Errorf("the person got %d replies, want 1: %q", len(got), got)
	}
	es, err := h.ledger.GetMany(context.Background(), r1.PageID, []tasks.Target{r1.Target, r2.Target})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].MessageID == "" || es[1].MessageID != es[0].MessageID {
		t.Errorf("r2 recorded with %q, want the reply that landed (%q)", es[1].MessageID, es[0].MessageID)
	}
}
