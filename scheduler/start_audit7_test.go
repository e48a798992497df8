package scheduler

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// manyPages returns n Pages on spec, with ids like an agency's.
func manyPages(n int, spec string) []config.Page {
	pages := make([]config.Page, n)
	for i := range pages {
		pages[i] = config.Page{ID: strconv.Itoa(1983306698425200 + 7919*i), Schedule: spec}
	}
	return pages
}

// startPoll is a poll task at start as the queue holds it.
type startPoll struct {
	info *asynq.TaskInfo
	poll tasks.Poll
	// scheduled: due later (asynq's scheduled state), at info.NextProcessAt;
	// otherwise pending, due at once.
	scheduled bool
}

// startPolls lists the poll tasks of slot, pending and scheduled; those of
// the Pages' schedules, which cron may fire on the host's clock while the
// test runs, are left out.
func startPolls(t *testing.T, opt asynq.RedisClientOpt, slot time.Time) []startPoll {
	t.Helper()
	var out []startPoll
	for _, polls := range queuedStartPolls(t, opt, slot) {
		out = append(out, polls...)
	}
	return out
}

// TestPollsAtStartSpread: 200 Pages on a one-minute schedule are not all
// polled at start in the same second: their polls at start are spread over
// a window by each Page's offset, each due before its Page's own slot (so the
// worker never drops it as superseded, and the scheduled poll never comes
// first), and a Page whose own slot is 2 s away gets none (its slot polls it
// as soon). Each task is named after its Page's own next slot: a second
// scheduler starting in the same second queues nothing more.
func TestPollsAtStartSpread(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	const n = 200
	pages := manyPages(n, "@every 1m")
	// The scheduler's clock: the first Page's own slot is 2 s away.
	first, err := config.PollSchedule(pages[0].ID, "@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	now := first.Next(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Add(-2 * time.Second)
	m := metrics.New()
	p := Params{Redis: opt, Pages: pages, PollAtStart: true, Metrics: m, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	runPollsAtStart(t, p)
	// The host's clock after the polls were queued: the scheduler counts
	// their delays from a moment before it.
	queued := time.Now()

	polls := startPolls(t, opt, now)
	if len(polls) == 0 || len(polls) >= n {
		t.Errorf("%d polls at start of %d Pages; want some, and none for the Pages whose own slot comes first", len(polls), n)
	}
	next := map[string]time.Time{}
	for _, pg := range pages {
		s, err := config.PollSchedule(pg.ID, pg.Schedule)
		if err != nil {
			t.Fatal(err)
		}
		next[pg.ID] = s.Next(now)
	}
	perSecond := map[int64]int{}
	got := map[string]bool{}
	for _, sp := range polls {
		id := sp.poll.PageID
		if got[id] {
			t.Errorf("page %s: two polls at start", id)
		}
		got[id] = true
		if sp.poll.Slot != now.Unix() || sp.info.ID != tasks.StartPollTaskID(id, next[id]) {
			t.Errorf("page %s: task %s of slot %d, want %s", id, sp.info.ID, sp.poll.Slot, tasks.StartPollTaskID(id, next[id]))
		}
		if sp.info.Retention < MinRetention || sp.info.MaxRetry != DefaultMaxRetry || sp.info.Timeout != tasks.PollTimeout {
			t.Errorf("task %s: retention %s, max retry %d, timeout %s", sp.info.ID, sp.info.Retention, sp.info.MaxRetry, sp.info.Timeout)
		}
		due := int64(0) // pending: at once
		if sp.scheduled {
			due = sp.info.NextProcessAt.Unix()
			// Due before the Page's own slot, on the scheduler's clock.
			if gap := next[id].Sub(now); !sp.info.NextProcessAt.Before(queued.Add(gap)) {
				t.Errorf("page %s: poll at start due %s after the start, its own slot %s after it",
					id, sp.info.NextProcessAt.Sub(queued), gap)
			}
		}
		perSecond[due]++
	}
	for id, at := range next {
		if at.Sub(now) <= 2*time.Second && got[id] {
			t.Errorf("page %s: a poll at start, its own slot %s away", id, at.Sub(now))
		}
	}
	if got[pages[0].ID] {
		t.Errorf("page %s: a poll at start, its own slot 2s away", pages[0].ID)
	}
	most := 0
	for _, c := range perSecond {
		most = max(most, c)
	}
	t.Logf("%d polls at start of %d Pages, due in %d distinct seconds, at most %d in one", len(polls), n, len(perSecond), most)
	if len(perSecond) < 10 || most > n/5 {
		t.Errorf("%d polls at start due in %d distinct seconds, at most %d in one; want them spread", len(polls), len(perSecond), most)
	}

	// A replica starting in the same second names the same tasks.
	runPollsAtStart(t, p)
	if again := startPolls(t, opt, now); len(again) != len(polls) {
		t.Errorf("a second scheduler in the same second: %d polls at start, want still %d", len(again), len(polls))
	}
	taken := 0.0
	for id := range got {
		taken += counterValue(t, m, id, "taken")
	}
	if int(taken) != len(polls) {
		t.Errorf("the second scheduler found %v of the %d polls at start taken", taken, len(polls))
	}
}

// TestPollAtStartOnePageAtOnce: a deployment of one Page (as the demo's
// few) is polled at once at start, not later in a window, even when its own
// slot is 2 s away.
func TestPollAtStartOnePageAtOnce(t *testing.T) {
	for _, spec := range []string{"@every 1m", "@every 10s", "@hourly", "0 0 1 1 *"} {
		t.Run(spec, func(t *testing.T) {
			db := redistest.New(t)
			opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
			pages := []config.Page{{ID: "111", Schedule: spec}}
			s, err := config.PollSchedule("111", spec)
			if err != nil {
				t.Fatal(err)
			}
			now := s.Next(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Add(-2 * time.Second)
			runPollsAtStart(t, Params{Redis: opt, Pages: pages, PollAtStart: true, Now: func() time.Time { return now },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			polls := startPolls(t, opt, now)
			if len(polls) != 1 || polls[0].scheduled || polls[0].info.ID != tasks.StartPollTaskID("111", s.Next(now)) {
				for _, p := range polls {
					t.Logf("task %s scheduled %v at %s", p.info.ID, p.scheduled, p.info.NextProcessAt)
				}
				t.Fatalf("%d polls at start; want one, pending at once", len(polls))
			}
		})
	}
}

// TestShutdownDuringStartWindow: the spread of the polls at start waits in
// Redis (asynq's ProcessAt), not in the scheduler: Shutdown while the window
// is still open returns, without its context running out, and the polls
// still to come stay queued for the workers.
func TestShutdownDuringStartWindow(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	// 1,000 hourly Pages: a window of 100 s.
	start := time.Now()
	now := func() time.Time { return start }
	s, err := New(Params{Redis: opt, Pages: manyPages(1000, "@every 1h"), PollAtStart: true, Now: now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	<-s.startDone
	slot := now().Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown during the polls at start's window: %v", err)
	}
	stopped := time.Now()
	later := 0
	for _, p := range startPolls(t, opt, slot) {
		if p.scheduled && p.info.NextProcessAt.After(stopped) {
			later++
		}
	}
	if later == 0 {
		t.Fatal("no poll at start due after Shutdown returned: the window was over, or nothing was spread")
	}
}
