package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDoubtCheckNotStarvedByPoll_audit9: at a slow rate (20/m) the Page's
// conversation read schedule is the rate, a slot every 3 s, and a poll
// walking a long listing of conversations books its next slot the moment
// it has read the last one. A doubtful conversation reply, whose check must
// read the conversation, finds the next slot more than 2 s away and goes
// back to the queue, for as long as the slot it was told to come back at;
// it must not come back only to find the poll has booked the next one
// again, and again, for as long as the poll reads: it is sent within a few
// put-backs while the poll still walks, and the Page reads no faster than
// its schedule.
func TestDoubtCheckNotStarvedByPoll_audit9(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
	page := h.pages[0].ID
	now := time.Now()
	psid := "6100001"
	conv, msg := h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Waiting Person"}, "hello?", now.Add(-time.Minute))
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: msg}, PSID: psid,
		ConversationID: conv, Text: "Thanks for your message!", Source: tasks.SourceAPI}
	// 300 conversations the Page answered (the poll queues nothing for
	// them, so no other reply takes a send slot): 12 pages of the listing,
	// read one slot each.
	const answered = 300
	for i := range answered {
		id := strconv.Itoa(6200000 + i)
		at := now.Add(-time.Hour + time.Duration(i)*time.Second)
		h.sb.AddMessage(page, sandbox.User{ID: id, Name: "Person " + id}, "hi", at)
		h.sb.AddPageMessage(page, id, "answered by hand", at.Add(time.Minute))
	}
	h.pages[0].Rate = config.Rate{N: 20, Per: time.Minute}
	h.pages[0].Burst = 1
	h.pages[0].ReplyTo = []string{config.ReplyConversations}
	h.pages[0].DefaultText = defaultText
	lim := worker.ConversationReadLimit(&h.pages[0])
	if lim.Interval < 3*time.Second {
		t.Fatalf("conversation read interval %s at 20/m, want the Page's rate", lim.Interval)
	}
	h.lostAnswer(t, r)
	h.startWorker(t, 2)
	pl := worker.NewPoller(h.pollParams(h.pages))
	ctx := context.Background()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		rep, err := pl.Poll(ctx, page, false)
		if err == nil && rep.Conversations < answered {
			t.Errorf("poll looked at %d conversations, want at least %d", rep.Conversations, answered)
		}
		done <- err
	}()
	// The walk is under way, the schedule booked slot after slot.
	for h.sb.Calls()[sandbox.EndpointConversations] < 2 {
		select {
		case err := <-done:
			t.Fatalf("poll ended before its second page of conversations: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	// Each put-back is told apart by its error, which names its delay.
	const maxPutBacks = 3
	putBacks, lastErr := 0, ""
	for {
		e, err := h.ledger.Get(ctx, page, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == tasks.StatusSent {
			break
		}
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err == nil && (ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateScheduled) && ti.LastErr != lastErr {
			putBacks, lastErr = putBacks+1, ti.LastErr
			t.Logf("put back %d at %s: %s", putBacks, time.Since(start).Round(time.Millisecond), ti.LastErr)
		}
		if putBacks > maxPutBacks {
			t.Fatalf("doubtful conversation reply put back %d times while the poll kept the Page's conversation read schedule booked; want it sent within %d",
				putBacks, maxPutBacks)
		}
		select {
		case err := <-done:
			t.Fatalf("the poll ended (%v) before the doubtful conversation reply was sent (put back %d times): its check was starved for the whole walk", err, putBacks)
		default:
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if n := h.sb.SendCount(psid); n != 1 {
		t.Fatalf("%s got %d messages, want 1", psid, n)
	}
	// Never faster than the schedule: every conversation read, the poll's
	// listing and the check's, in a slot of its own.
	calls := h.sb.Calls()
	reads := calls[sandbox.EndpointConversations] + calls[sandbox.EndpointObject]
	if most := int(elapsed/lim.Interval) + 1; reads > most {
		t.Errorf("%d conversation reads in %s, more than the %d the Page's schedule (%s apart) allows", reads, elapsed.Round(time.Millisecond), most, lim.Interval)
	}
	t.Logf("sent after %d put-backs; %d conversation reads in %s", putBacks, reads, elapsed.Round(time.Millisecond))
}
