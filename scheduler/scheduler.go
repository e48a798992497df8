// Package scheduler owns the when of polling: for each configured Page, on its
// cron schedule, it enqueues one poll task whose TaskID names the Page and the
// time slot, so any number of scheduler replicas poll each slot once with no
// leader election. It does no Graph I/O: workers run the polls.
package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// MinRetention is the shortest time a poll task is kept after it ran, so a
// replica that fires a slot late still finds the slot's TaskID taken.
const MinRetention = time.Hour

// DefaultMaxRetry is the number of retries of a failed poll. A worker killed
// while it runs a poll costs the poll a retry (asynq counts a lease that ran
// out as a failure), so a few kills in a row must not archive the slot; the
// poll handler itself gives a slot up, completed, when later slots cover it.
const DefaultMaxRetry = 5

// Params configures a Scheduler.
type Params struct {
	// Redis is asynq's connection.
	Redis asynq.RedisConnOpt
	// Pages are polled on their Schedule (config.DefaultSchedule when empty).
	Pages []config.Page
	// Ledger tells broken Pages (paused with a "page_broken" reason) apart;
	// if nil, every Page is polled on schedule.
	Ledger *tasks.Ledger
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Metrics; if nil, a private set.
	Metrics *metrics.Metrics
	// PollAtStart enqueues a poll of every Page when Start is called, besides
	// the schedule, spread over a window that grows with the number of Pages
	// (startWindow), and none for a Page whose own slot comes first or soon
	// after (startDelay). Each is named after its Page's next slot
	// (startPollID), so the schedulers that start before that slot queue it
	// once. It runs in the background: Start does not wait for Redis.
	PollAtStart bool
	// MaxRetry of a poll task; if zero, DefaultMaxRetry.
	MaxRetry int
	// Now is the clock of poll-at-start slots; if nil, time.Now.
	Now func() time.Time
}

// Scheduler enqueues poll tasks on each Page's schedule.
type Scheduler struct {
	p      Params
	log    *slog.Logger
	m      *metrics.Metrics
	client *asynq.Client
	cron   *cron.Cron
	pages  []*pageEntry

	mu      sync.Mutex
	started bool
	// run bounds every enqueue; stopRun cancels it once the schedule has
	// stopped. The polls at start run on their own goroutine (startDone),
	// cancelled first at shutdown: they are best effort, the schedule follows.
	run       context.Context
	stopRun   context.CancelFunc
	stopStart context.CancelFunc
	startDone chan struct{}

	// logs keeps the scheduler's lines of a Redis outage or of a broken
	// Page's pause to one each (redisFailed, brokenLevel): they fail every
	// slot alike.
	logs episodeLog
}

// episodeLog holds what the scheduler has logged of an ongoing failure: the
// kinds of Redis failure already logged since the last poll it enqueued, how
// many slots failed meanwhile and since when, and each broken Page's pause
// already logged. A Redis outage fails every Page's every slot (thousands of
// Pages: thousands of lines a minute, saying one thing) and a broken Page
// skips every slot of its pause: the first line says so, the others are at
// debug, and the first poll enqueued again says how many slots were missed.
type episodeLog struct {
	mu     sync.Mutex
	logged map[string]bool   // Redis failure kinds (their messages) logged
	missed int               // slots not enqueued since since
	since  time.Time         // the first failure of the outage
	broken map[string]string // page id: the broken pause already logged
}

type pageEntry struct {
	page      *config.Page
	schedule  cron.Schedule
	retention time.Duration
	id        cron.EntryID
	slots     *slotSchedule // schedule as cron runs it
}

// slotSchedule is a Page's schedule as given to cron: it keeps the times it
// gave cron, which cron fires in that order, so that a job can take the slot
// it was scheduled for. cron.Entry, which answered that before, copies every
// entry of the cron to find one: 5,000 Pages made each of their 5,000 polls
// an hour (at @every 1m: 300,000) copy 5,000 entries, and the garbage kept
// the process's GC busy.
type slotSchedule struct {
	cron.Schedule
	mu  sync.Mutex
	due []time.Time // given to cron, not yet taken by a job; the oldest first
}

// Next is the schedule's Next, kept for take. cron calls it from its own
// goroutine: once for each entry when it starts, and for an entry right
// after it starts the entry's job for the time it gave before.
func (s *slotSchedule) Next(t time.Time) time.Time {
	n := s.Schedule.Next(t)
	if !n.IsZero() {
		s.mu.Lock()
		s.due = append(s.due, n)
		s.mu.Unlock()
	}
	return n
}

// take returns the oldest time given to cron that no job has taken: the
// slot of the job that calls it, as cron runs an entry's jobs in the order
// of their times. It is zero when none is left.
func (s *slotSchedule) take() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.due) == 0 {
		return time.Time{}
	}
	t := s.due[0]
	s.due = append(s.due[:0], s.due[1:]...)
	return t
}

// reset forgets the times given to a cron that was stopped: it gives new
// ones when it starts again.
func (s *slotSchedule) reset() {
	s.mu.Lock()
	s.due = s.due[:0]
	s.mu.Unlock()
}

// New returns a Scheduler for p, or an error naming the Page whose schedule
// does not parse.
func New(p Params) (*Scheduler, error) {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Metrics == nil {
		p.Metrics = metrics.New()
	}
	if p.MaxRetry <= 0 {
		p.MaxRetry = DefaultMaxRetry
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	s := &Scheduler{p: p, log: p.Logger.With(slog.String("component", "scheduler")), m: p.Metrics}
	cl := &cronLogger{l: s.log}
	s.cron = cron.New(cron.WithLogger(cl), cron.WithChain(cron.Recover(cl)))
	for i := range p.Pages {
		pg := &p.Pages[i]
		spec := pg.Schedule
		if spec == "" {
			spec = config.DefaultSchedule
		}
		sched, err := config.PollSchedule(pg.ID, spec)
		if err != nil {
			return nil, fmt.Errorf("scheduler: pages[%d].schedule: %w", i, err)
		}
		e := &pageEntry{page: pg, schedule: sched, retention: retentionOf(sched, p.Now()), slots: &slotSchedule{Schedule: sched}}
		e.id = s.cron.Schedule(e.slots, cron.FuncJob(func() { s.fire(e) }))
		s.pages = append(s.pages, e)
	}
	return s, nil
}

// aligned returns s with "@every" schedules aligned to the epoch, and no
// Page's offset (config.PollSchedule adds it).
func aligned(s cron.Schedule) cron.Schedule { return config.Offset(s, 0) }

// retentionOf returns how long a poll task of the schedule is kept: twice the
// slot interval, at least MinRetention.
func retentionOf(s cron.Schedule, now time.Time) time.Duration {
	a := s.Next(now)
	b := s.Next(a)
	return max(2*b.Sub(a), MinRetention)
}

// The polls at start: a restarted service reads each Page without waiting
// out its schedule (an hour, for @hourly), but thousands of Pages polled in
// the same second call Graph together on the app's shared allowance
// (X-App-Usage: a throttled app pauses every Page), and the polls still
// queued when their Page's own slot comes are dropped as superseded.
const (
	// startPollsPerSecond is the pace of the polls at start: about what
	// one worker's poll slots (18 of worker.concurrency's default 20) take
	// on at once. A deployment of fewer Pages polls them all at once.
	startPollsPerSecond = 10
	// maxStartWindow bounds the spread, so that no Page of a deployment
	// of any size waits longer than this for its poll at start: 5,000 Pages
	// go out about 17 a second, under the pace of their own polls on a
	// one-minute schedule (83 a second), which the service must keep up with.
	maxStartWindow = 5 * time.Minute
	// startMargin is how long before its Page's own slot a poll at start
	// must be due: a poll that finds every poll slot of a worker taken is
	// put back for 5 to 10 s, and one due less than that before its slot
	// would often come back after it and be dropped as superseded, having
	// only added to the load; run, it would gain less than that over the
	// scheduled one.
	startMargin = 10 * time.Second
)

// startWindow is how long the polls at start of n Pages are spread over:
// n/startPollsPerSecond seconds, whole, at most maxStartWindow.
func startWindow(n int) time.Duration {
	return min(time.Duration(n)*time.Second/startPollsPerSecond, maxStartWindow).Truncate(time.Second)
}

// startDelay returns how long after the start, at slot, the poll at start of
// e is due: the Page's offset (config.PollOffset) in the window, so that
// every replica agrees and the Pages spread evenly over it; and the Page's
// own next slot, which names the poll at start (tasks.StartPollTaskID; zero
// for a schedule that never fires again). It returns false when the Page's
// own slot comes before that, or less than a margin after it: the scheduled
// poll reads the Page about as soon, and the poll at start is always due
// before it (neither is then superseded by the other, and the Page's lease
// keeps them from reading at once). The margin is startMargin, at most half
// the Page's interval (a Page polled every 10 s gets its poll at start when
// its slot is over 5 s away), and at most the window: a deployment small
// enough to be polled at once keeps every poll at start.
func startDelay(e *pageEntry, slot time.Time, window time.Duration) (time.Duration, time.Time, bool) {
	next := e.schedule.Next(slot)
	if next.IsZero() {
		return 0, next, true
	}
	interval := e.schedule.Next(next).Sub(next)
	d := config.PollOffset(e.page.ID, cron.ConstantDelaySchedule{Delay: window})
	margin := min(startMargin, interval/2, window)
	if next.Sub(slot) <= d+margin {
		return 0, next, false
	}
	return d, next, true
}

// startPollID is the TaskID of e's poll at start, at slot, before its own
// slot next: named after next, so that the schedulers that start between two
// of its slots queue it once (asynq's TaskID conflict drops the others' and,
// its retention being at least the Page's interval, one queued and run
// already), each still due before next; after the second it started at when
// the schedule never fires again.
func startPollID(e *pageEntry, slot, next time.Time) string {
	if next.IsZero() {
		return tasks.PollTaskID(e.page.ID, slot)
	}
	return tasks.StartPollTaskID(e.page.ID, next)
}

// Start enqueues the polls at start (with Params.PollAtStart) and starts the
// schedule.
func (s *Scheduler) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("scheduler: already started")
	}
	s.client = asynq.NewClient(s.p.Redis)
	s.started = true
	s.run, s.stopRun = context.WithCancel(context.Background())
	var startCtx context.Context
	startCtx, s.stopStart = context.WithCancel(s.run)
	s.startDone = make(chan struct{})
	go func() {
		// With Redis down, each of these waits for its timeout: not in
		// Start, so that a role's health server and signals are served.
		defer close(s.startDone)
		if !s.p.PollAtStart {
			return
		}
		slot := s.p.Now().Truncate(time.Second)
		// The delays count from now on the host's clock, as asynq's
		// ProcessAt does: the time spent queueing the first Pages does not
		// push the later ones back towards their own slots. Nothing here
		// waits them out: Shutdown is not held by the window.
		began := time.Now()
		window := startWindow(len(s.pages))
		queued, taken, soon := 0, 0, 0
		for _, e := range s.pages {
			if startCtx.Err() != nil {
				return
			}
			d, next, ok := startDelay(e, slot, window)
			if !ok {
				soon++
				s.log.Debug("no poll at start: the page's own slot comes first", slog.String("page_id", e.page.ID))
				continue
			}
			var at time.Time
			if d > 0 {
				at = began.Add(d)
			}
			switch s.enqueueAtStart(startCtx, e, slot, at, startPollID(e, slot, next)) {
			case outcomeEnqueued:
				queued++
			case outcomeTaken:
				taken++
			}
		}
		s.log.Info("polls at start queued", slog.Int("pages", queued), slog.Duration("spread_over", window),
			slog.Int("already_queued", taken), slog.Int("left_to_their_slot", soon))
	}()
	for _, e := range s.pages {
		e.slots.reset() // a scheduler started again after Shutdown
	}
	s.cron.Start()
	s.log.Info("scheduler started", slog.Int("pages", len(s.pages)))
	return nil
}

// Shutdown stops the schedule and waits until the jobs that are enqueueing
// now are done, or ctx ends; then it closes its Redis connection. The polls
// at start it queued stay queued, due later in their window: the other
// replicas and the next process found them taken (startPollID) and queued
// none of their own, so deleting them would leave their Pages unpolled until
// their own slots.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	s.started = false
	s.stopStart()
	done := s.cron.Stop()
	var err error
	select {
	case <-done.Done():
	case <-ctx.Done():
		err = fmt.Errorf("scheduler: shutdown: %w", ctx.Err())
	}
	s.stopRun()
	select {
	case <-s.startDone: // cancelled: returns once its Redis call does
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("scheduler: shutdown: %w", ctx.Err())
		}
	}
	if cerr := s.client.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("scheduler: close: %w", cerr)
	}
	return err
}

// fire runs on a Page's schedule.
func (s *Scheduler) fire(e *pageEntry) {
	slot := s.slotOf(e)
	if slot.IsZero() {
		slot = s.p.Now()
	}
	slot = slot.Truncate(time.Second)
	s.enqueue(s.run, e, slot, time.Time{}, tasks.PollTaskID(e.page.ID, slot))
}

// slotOf returns the time the job of e that calls it was scheduled for,
// even if it started late; zero if not known.
func (s *Scheduler) slotOf(e *pageEntry) time.Time {
	return e.slots.take()
}

// enqueueAtStart is enqueue for a poll at start, with a panic recovered and
// logged as cron.Recover does for a scheduled one: it must not take down the
// scheduler, and every Page's schedule with it (again at each restart), nor
// keep the other Pages' polls at start from going out.
func (s *Scheduler) enqueueAtStart(ctx context.Context, e *pageEntry, slot, at time.Time, id string) (outcome string) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("poll at start: panic", slog.String("page_id", e.page.ID),
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			outcome = outcomeError
		}
	}()
	return s.enqueue(ctx, e, slot, at, id)
}

// The outcomes of enqueue, as pagereply_polls_scheduled_total counts them
// (besides tasks.PausePageBroken).
const (
	outcomeEnqueued = "enqueued"
	outcomeTaken    = "taken"
	outcomeError    = "error"
)

// enqueue queues the poll of a Page's slot as the task id, unless the Page
// is broken, due at once or, for a poll at start, at at (when not zero). It
// returns the outcome.
func (s *Scheduler) enqueue(parent context.Context, e *pageEntry, slot, at time.Time, id string) string {
	ctx, cancel := context.WithTimeout(parent, 10*time.Second)
	defer cancel()
	log := s.log.With(slog.String("page_id", e.page.ID), slog.Int64("slot", slot.Unix()))
	if s.p.Ledger != nil {
		d, reason, err := s.p.Ledger.Paused(ctx, e.page.ID)
		if err != nil {
			s.redisFailed(ctx, log, slog.LevelWarn, "read page pause", err, false)
		} else if d > 0 && tasks.PauseKind(reason) == tasks.PausePageBroken {
			// Throttled Pages are polled anyway: the poll sees the pause and
			// returns at once, and the slot's task shows that it was due.
			s.m.PollSkipped.WithLabelValues(e.page.ID, tasks.PausePageBroken).Inc()
			s.m.PollsScheduled.WithLabelValues(e.page.ID, tasks.PausePageBroken).Inc()
			log.Log(ctx, s.brokenLevel(e.page.ID, reason), "poll skipped: page broken", slog.String("reason", reason), slog.Duration("for", d))
			return tasks.PausePageBroken
		}
		s.brokenLevel(e.page.ID, "")
	}
	payload, err := json.Marshal(tasks.Poll{PageID: e.page.ID, Slot: slot.Unix()})
	if err != nil {
		s.m.PollsScheduled.WithLabelValues(e.page.ID, outcomeError).Inc()
		log.Error("encode poll task", slog.String("error", err.Error()))
		return outcomeError
	}
	opts := []asynq.Option{asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
		asynq.MaxRetry(s.p.MaxRetry), asynq.Retention(e.retention), asynq.Timeout(tasks.PollTimeout)}
	if !at.IsZero() {
		// Already past (Redis was slow to take the earlier ones): asynq
		// queues it at once.
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = s.client.EnqueueContext(ctx, asynq.NewTask(tasks.TypePoll, payload), opts...)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		// Another replica (or an earlier run of this one) took the slot.
		s.m.PollsScheduled.WithLabelValues(e.page.ID, outcomeTaken).Inc()
		log.Debug("poll already enqueued", slog.String("task_id", id))
		s.redisAnswers(ctx)
		return outcomeTaken
	case err != nil:
		s.m.PollsScheduled.WithLabelValues(e.page.ID, outcomeError).Inc()
		s.redisFailed(ctx, log, slog.LevelError, "enqueue poll", err, true)
		return outcomeError
	default:
		s.m.PollsScheduled.WithLabelValues(e.page.ID, outcomeEnqueued).Inc()
		log.Debug("poll enqueued", slog.String("task_id", id))
		s.redisAnswers(ctx)
		return outcomeEnqueued
	}
}

// redisFailed logs a Redis failure of kind msg at level, the first of its
// kind since the scheduler last enqueued a poll; later ones at debug (every
// Page's every slot fails alike while Redis is away). missed counts a slot
// not enqueued, for the line that ends the outage.
func (s *Scheduler) redisFailed(ctx context.Context, log *slog.Logger, level slog.Level, msg string, err error, missed bool) {
	l := &s.logs
	l.mu.Lock()
	first := !l.logged[msg]
	if first {
		if l.logged == nil {
			l.logged = map[string]bool{}
		}
		l.logged[msg] = true
	}
	if l.since.IsZero() {
		l.since = time.Now()
	}
	if missed {
		l.missed++
	}
	l.mu.Unlock()
	if !first {
		log.Debug(msg, slog.String("error", err.Error()))
		return
	}
	log.Log(ctx, level, msg, slog.String("error", err.Error()),
		slog.String("hint", "every Page's next failures are logged at debug until a poll is enqueued again"))
}

// redisAnswers ends an outage redisFailed logged, with one line saying how
// many slots were not enqueued since it began (pagereply_polls_scheduled_total
// counts them by Page, outcome "error").
func (s *Scheduler) redisAnswers(ctx context.Context) {
	l := &s.logs
	l.mu.Lock()
	if l.since.IsZero() {
		l.mu.Unlock()
		return
	}
	missed, since := l.missed, l.since
	clear(l.logged)
	l.missed, l.since = 0, time.Time{}
	l.mu.Unlock()
	s.log.Log(ctx, slog.LevelInfo, "polls enqueued again", slog.Int("missed_slots", missed),
		slog.Duration("failing_for", time.Since(since).Round(time.Millisecond)))
}

// brokenLevel returns the level of a broken Page's skipped slot: WARN for
// the first slot of its pause (reason), debug for the others, as the pause
// goes on. An empty reason (the Page is not broken) forgets the Page's pause.
func (s *Scheduler) brokenLevel(pageID, reason string) slog.Level {
	l := &s.logs
	l.mu.Lock()
	defer l.mu.Unlock()
	if reason == "" {
		delete(l.broken, pageID)
		return slog.LevelDebug
	}
	if l.broken[pageID] == reason {
		return slog.LevelDebug
	}
	if l.broken == nil {
		l.broken = map[string]string{}
	}
	l.broken[pageID] = reason
	return slog.LevelWarn
}

// cronLogger adapts a *slog.Logger to cron.Logger.
type cronLogger struct{ l *slog.Logger }

// Info logs cron's routine messages at debug level: one per job start.
func (c *cronLogger) Info(msg string, kv ...any) {
	c.l.Debug("cron: "+msg, cronAttrs(kv)...)
}

// Error logs at error level (a recovered panic among them).
func (c *cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(cronAttrs(kv), slog.String("error", fmt.Sprint(err)))...)
}

func cronAttrs(kv []any) []any {
	out := make([]any, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, slog.Any(fmt.Sprint(kv[i]), kv[i+1]))
	}
	return out
}
