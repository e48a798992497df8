package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// queuedStartPolls lists, by Page, the poll tasks (pending or scheduled) whose
// slot is one of starts: the polls at start of schedulers started at those
// seconds (under any naming), not the Pages' own slots, which cron may fire
// on the host's clock meanwhile.
func queuedStartPolls(t *testing.T, opt asynq.RedisClientOpt, starts ...time.Time) map[string][]startPoll {
	t.Helper()
	want := map[int64]bool{}
	for _, s := range starts {
		want[s.Unix()] = true
	}
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	out := map[string][]startPoll{}
	for _, list := range []struct {
		scheduled bool
		get       func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	}{{false, ins.ListPendingTasks}, {true, ins.ListScheduledTasks}} {
		infos, err := list.get(tasks.QueuePolls, asynq.PageSize(10000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range infos {
			var p tasks.Poll
			if err := json.Unmarshal(ti.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if want[p.Slot] {
				out[p.PageID] = append(out[p.PageID], startPoll{info: ti, poll: p, scheduled: list.scheduled})
			}
		}
	}
	return out
}

// TestPollsAtStartOncePerSpan: schedulers that start in different seconds
// (two replicas, then a rolling restart while the first ones' polls at start
// still wait in Redis, delayed over the window) queue one poll at start per
// Page, not one each: the task is named after the Page's own next slot, so
// asynq's TaskID conflict drops the copies. The one kept is the first
// scheduler's, still due before the Page's own slot. Once a Page's own slot
// has passed, a scheduler starting gets a new one for the next span. Each
// start is on the schedulers' test clock (Params.Now); none sleeps.
func TestPollsAtStartOncePerSpan(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	const n = 200 // a window of 20 s
	pages := manyPages(n, "@every 1h")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	params := func(now time.Time) Params {
		return Params{Redis: opt, Pages: pages, PollAtStart: true, Metrics: m, Logger: quiet,
			Now: func() time.Time { return now }}
	}
	schedules := map[string]*pageEntry{}
	probe, err := New(params(time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range probe.pages {
		schedules[e.page.ID] = e
	}
	window := startWindow(n)

	// The first Page's own slot comes 35 s after the first start: between it
	// and the restart.
	between := pages[0].ID
	t0 := schedules[between].schedule.Next(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Add(-35 * time.Second)
	replica := t0.Add(7 * time.Second)  // the second replica, started 7 s later
	restart := t0.Add(40 * time.Second) // the first one, restarted
	later := t0.Add(time.Hour)          // every Page's own slot has passed since

	// Two replicas started side by side, in different seconds.
	a, err := New(params(t0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(params(replica))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Scheduler{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Scheduler{a, b} {
		<-s.startDone
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	replicasDone := time.Now()
	// A rolling restart: a new process, 40 s after the first.
	runPollsAtStart(t, params(restart))

	// What the schedulers ought to have queued: one task per Page and span
	// (its own next slot), when some start of that span gave it one.
	type span struct {
		next  time.Time
		first []time.Time // the starts that would queue it
	}
	spans := map[string]map[int64]*span{}
	for id, e := range schedules {
		spans[id] = map[int64]*span{}
		for _, at := range []time.Time{t0, replica, restart} {
			_, next, ok := startDelay(e, at, window)
			if !ok {
				continue
			}
			sp := spans[id][next.Unix()]
			if sp == nil {
				sp = &span{next: next}
				spans[id][next.Unix()] = sp
			}
			sp.first = append(sp.first, at)
		}
	}
	got := queuedStartPolls(t, opt, t0, replica, restart)
	one, kept := 0, 0
	for id, polls := range got {
		if len(polls) != len(spans[id]) {
			for _, p := range polls {
				t.Logf("page %s: task %s of slot %d", id, p.info.ID, p.poll.Slot)
			}
			t.Errorf("page %s: %d polls at start from 3 schedulers, want %d (one per span of its own slots)", id, len(polls), len(spans[id]))
			continue
		}
		if len(polls) == 1 {
			one++
		}
		for _, p := range polls {
			var sp *span
			for _, s := range spans[id] {
				if p.info.ID == tasks.StartPollTaskID(id, s.next) {
					sp = s
				}
			}
			if sp == nil {
				t.Errorf("page %s: task %s, not named after one of its next slots", id, p.info.ID)
				continue
			}
			// The first scheduler of the span queued it (or, for the two
			// replicas started together, whichever came first).
			if first := sp.first[0]; p.poll.Slot != first.Unix() && !(first.Equal(t0) && p.poll.Slot == replica.Unix()) {
				t.Errorf("page %s: the poll at start of slot %d kept, want the first scheduler's (%d)", id, p.poll.Slot, first.Unix())
			}
			if p.poll.Slot != restart.Unix() {
				kept++
				// Due before the Page's own slot, counted on the host's clock
				// from when the replicas were done queueing.
				if gap := sp.next.Sub(time.Unix(p.poll.Slot, 0)); p.scheduled && !p.info.NextProcessAt.Before(replicasDone.Add(gap)) {
					t.Errorf("page %s: poll at start due %s after the start, its own slot %s after it",
						id, p.info.NextProcessAt.Sub(replicasDone), gap)
				}
			}
		}
	}
	for id, s := range spans {
		if len(s) > 0 && len(got[id]) == 0 {
			t.Errorf("page %s: no poll at start, want %d", id, len(s))
		}
	}
	taken := 0.0
	for _, pg := range pages {
		taken += counterValue(t, m, pg.ID, outcomeTaken)
	}
	t.Logf("3 schedulers started within 40 s: %d Pages with one poll at start, %d with more (their own slot came between), %d kept from the first two, %v found taken",
		one, len(got)-one, kept, taken)
	if len(got[between]) != 2 || len(spans[between]) != 2 {
		t.Errorf("page %s, its own slot between the first start and the restart: %d polls at start, want 2 (one per span)", between, len(got[between]))
	}
	if one < n*3/4 {
		t.Errorf("%d of %d Pages with a single poll at start after 3 starts; want most", one, n)
	}

	// An hour later every Page's own slot has passed: a scheduler starting
	// then polls them at start again, once, for the next span.
	before := len(got)
	runPollsAtStart(t, params(later))
	runPollsAtStart(t, params(later.Add(3*time.Second)))
	again := queuedStartPolls(t, opt, later, later.Add(3*time.Second))
	if len(again) == 0 {
		t.Fatal("no poll at start an hour later: the Pages' later spans are named like the first")
	}
	for id, polls := range again {
		if len(polls) != 1 {
			t.Errorf("page %s: %d polls at start from 2 schedulers an hour later, want 1", id, len(polls))
		}
	}
	t.Logf("an hour later: %d Pages polled at start again (%d before)", len(again), before)
}

// TestPollsAtStartRestartSmall: a deployment of fewer than 10 Pages (the
// demo's 3) polls them all at once at start, and a restart in another second
// of the same span, while those polls still wait in the queue (no worker),
// queues none more.
func TestPollsAtStartRestartSmall(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	pages := []config.Page{{ID: "111", Schedule: "@every 1m"}, {ID: "222", Schedule: "@every 1m"}, {ID: "333", Schedule: "@every 1m"}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A start 25 s before the first Page's own slot, the restart 20 s later:
	// the same span of every Page's one-minute schedule.
	first, err := config.PollSchedule("111", "@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	t0 := first.Next(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Add(-25 * time.Second)
	var starts []time.Time
	for _, at := range []time.Time{t0, t0.Add(20 * time.Second)} {
		starts = append(starts, at)
		runPollsAtStart(t, Params{Redis: opt, Pages: pages, PollAtStart: true, Logger: quiet, Now: func() time.Time { return at }})
	}
	got := queuedStartPolls(t, opt, starts...)
	for _, pg := range pages {
		s, err := config.PollSchedule(pg.ID, pg.Schedule)
		if err != nil {
			t.Fatal(err)
		}
		polls := got[pg.ID]
		// Every start of the test lies in one span of the Page? Then one poll.
		want := 1
		if !s.Next(starts[0]).Equal(s.Next(starts[1])) {
			want = 2
		}
		if len(polls) != want {
			t.Errorf("page %s: %d polls at start after a start and a restart, want %d", pg.ID, len(polls), want)
			continue
		}
		for _, p := range polls {
			if p.scheduled {
				t.Errorf("page %s: poll at start %s delayed to %s, want it due at once", pg.ID, p.info.ID, p.info.NextProcessAt)
			}
		}
	}
	if len(got["111"]) != 1 {
		t.Errorf("page 111: %d polls at start, want 1", len(got["111"]))
	}
}
