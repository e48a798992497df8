package worker

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestOutageGuardLongRun: an outage that goes on for hours keeps pausing
// for maxOutagePause (no doubling past the shift's range into a negative or
// zero pause), and a run ended by Graph's answer starts afresh: one reply
// failing again after it is no outage, whatever replies failed before.
func TestOutageGuardLongRun(t *testing.T) {
	var g outageGuard
	at := time.Unix(1_800_000_000, 0)
	for i := range outageAfter {
		g.failed(at, 10*time.Second, strconv.Itoa(i%outageTargets))
	}
	for i := range 80 {
		at = at.Add(maxOutagePause)
		want := maxOutagePause
		if i < 3 {
			want = 10 * time.Second << (i + 1) // 20s, 40s, 80s, then capped
		}
		if d, set, _, outage := g.failed(at, 10*time.Second, "a"); !outage || !set || d != want {
			t.Fatalf("pause %d of a long outage: %s %v %v, want a new pause of %s", i+2, d, set, outage, want)
		}
	}
	g.answered()
	for i := range 3 * outageAfter {
		if _, _, _, outage := g.failed(at, 10*time.Second, "a"); outage {
			t.Fatalf("failure %d of one reply after Graph answered is an outage", i+1)
		}
	}
}

// TestOutageLenienceWholeWindow: in an outage, a reply queued days ago but
// inside the 7-day reply window, or one whose queueing time is unknown, is
// put back without using a retry; an outage pauses for 10 s first by
// default; and Graph's 5xx without a code of its own, as its codes 1 and 2,
// counts as no answer.
func TestOutageLenienceWholeWindow(t *testing.T) {
	w := New(Params{})
	if w.p.OutagePause != 10*time.Second {
		t.Errorf("default outage pause %s, want 10s", w.p.OutagePause)
	}
	ps := &pageState{}
	for i := range outageAfter {
		ps.outage.failed(time.Now(), time.Minute, strconv.Itoa(i)) // the pause is set: w.outage writes none
	}
	for _, r := range []*tasks.Reply{
		{PageID: "1", EnqueuedAt: time.Now().Add(-6 * 24 * time.Hour).UnixMilli()},
		{PageID: "1"},
	} {
		if d, ok := w.outage(context.Background(), ps, r, errors.New("graph: 500"), &taskLog{base: w.log, r: r}); !ok || d == nil {
			t.Errorf("reply queued at %d in an outage: %v %v, want a put-back", r.EnqueuedAt, d, ok)
		}
	}
	for _, code := range []int{0, 1, 2} {
		if !noAnswer(&graph.Error{HTTPStatus: 502, Code: code, Class: graph.ClassTransient}) {
			t.Errorf("a 502 with code %d counted as Graph's answer", code)
		}
	}
}

// TestSpacedSlower: put-backs count as spaced slower than the interval only
// beyond a quarter over it and asynq's whole seconds: 3 at 1s from now end
// by 5.75s.
func TestSpacedSlower(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		last time.Duration
		want bool
	}{{5500 * time.Millisecond, false}, {6 * time.Second, true}} {
		if got := spacedSlower(3, now.Add(tc.last), now, time.Second); got != tc.want {
			t.Errorf("3 put-backs, the last in %s: spaced slower %v, want %v", tc.last, got, tc.want)
		}
	}
}

// TestEachTaskPages: eachTask reads the retry state page after page until
// a page comes back short, and a queue not there yet is nothing to read.
func TestEachTaskPages(t *testing.T) {
	var pages []int
	list := func(_ string, opts ...asynq.ListOption) ([]*asynq.TaskInfo, error) {
		pages = append(pages, len(pages)+1)
		n := wakePageSize
		if len(pages) == 3 {
			n = 7
		}
		return make([]*asynq.TaskInfo, n), nil
	}
	seen := 0
	if err := eachTask(context.Background(), list, tasks.QueueReplies, func(*asynq.TaskInfo) { seen++ }); err != nil {
		t.Fatal(err)
	}
	if seen != 2*wakePageSize+7 || len(pages) != 3 {
		t.Errorf("%d tasks in %d pages, want %d in 3", seen, len(pages), 2*wakePageSize+7)
	}
	absent := func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return nil, asynq.ErrQueueNotFound }
	if err := eachTask(context.Background(), absent, tasks.QueuePolls, func(*asynq.TaskInfo) { t.Error("a task of an absent queue") }); err != nil {
		t.Errorf("absent queue: %v, want nothing to read", err)
	}
}

// TestWorkerDefaults: a Page is paced 1% under its configured rate; a send
// of unknown outcome settles for the Graph timeout plus 5s before Graph is
// asked whether it landed (what a killed worker's claim lease leaves too);
// and a worker keeps a tenth of its poll slots, at least one, for webhook
// items.
func TestWorkerDefaults(t *testing.T) {
	l := LimitOf(&config.Page{Rate: config.Rate{N: 50, Per: time.Second}, Burst: 1}, time.Second)
	if l.Interval != 20200*time.Microsecond {
		t.Errorf("interval at 50/s: %s, want 20.2ms", l.Interval)
	}
	if w := New(Params{GraphTimeout: 4 * time.Second}); w.p.SendSettle != 9*time.Second {
		t.Errorf("settle after a 4s Graph timeout: %s, want 9s", w.p.SendSettle)
	}
	for c, want := range map[int]int{1: 1, 2: 1, 10: 9, 20: 18, 35: 32} {
		if got := PollSlots(c); got != want {
			t.Errorf("PollSlots(%d) = %d, want %d", c, got, want)
		}
	}
}
