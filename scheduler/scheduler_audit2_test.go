package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// runPollsAtStart runs a scheduler of p (PollAtStart set) through its polls
// at start, and shuts it down.
func runPollsAtStart(t *testing.T, p Params) {
	t.Helper()
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	<-s.startDone
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// hookRedis is a go-redis client on no server: every command and pipeline
// goes to run instead. As a RedisConnOpt it makes asynq's client too.
type hookRedis struct {
	run func(ctx context.Context) error
}

func (h hookRedis) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h hookRedis) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := h.run(ctx)
		cmd.SetErr(err)
		return err
	}
}
func (h hookRedis) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := h.run(ctx)
		for _, c := range cmds {
			c.SetErr(err)
		}
		return err
	}
}

func (h hookRedis) MakeRedisClient() any {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	c.AddHook(h)
	return c
}

// client is a go-redis client of h, closed in t's cleanup.
func (h hookRedis) client(t *testing.T) *redis.Client {
	c := h.MakeRedisClient().(*redis.Client)
	t.Cleanup(func() { c.Close() })
	return c
}

// downRedis fails every call at once, as a Redis out of reach.
var downRedis = hookRedis{run: func(context.Context) error { return errors.New("redis down") }}

// stuckLedger is a Ledger whose pause reads block, whatever their context,
// until the test ends; started receives one value per read begun.
func stuckLedger(t *testing.T) (*tasks.Ledger, <-chan struct{}) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{}, 100)
	h := hookRedis{run: func(context.Context) error {
		started <- struct{}{}
		<-release
		return errors.New("released")
	}}
	return tasks.NewLedger(h.client(t), tasks.LedgerOptions{}), started
}

// fast has the scheduler fire its first Page every 20 ms instead of on its
// schedule (cron's own specs go no finer than a second), so a test sees a
// scheduled run at once. Call it before Start.
func fast(s *Scheduler) {
	e := s.pages[0]
	s.cron.Remove(e.id)
	e.id = s.cron.Schedule(config.Every{D: 20 * time.Millisecond}, cron.FuncJob(func() { s.fire(e) }))
}

// startFast starts a scheduler of p whose Page's schedule fires every 20 ms
// (fast).
func startFast(t *testing.T, p Params) *Scheduler {
	t.Helper()
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	fast(s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func counterValue(t *testing.T, m *metrics.Metrics, page, outcome string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.PollsScheduled.WithLabelValues(page, outcome).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestNewNamesBadSchedule: a Page whose schedule does not parse is refused
// by New, the error naming the Page's place in the configuration; it is
// not left out of the polls silently.
func TestNewNamesBadSchedule(t *testing.T) {
	_, err := New(Params{Pages: []config.Page{{ID: "111", Schedule: "@every 1m"}, {ID: "222", Schedule: "every minute"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		t.Fatal("New accepted a schedule that does not parse")
	}
	if !strings.Contains(err.Error(), "pages[1].schedule") {
		t.Fatalf("error %q does not name pages[1].schedule", err)
	}
}

// TestPollAtStartOtherPauses: only a broken Page's slots are skipped; a Page
// paused for a Graph outage, a policy block or another reason is polled
// (the poll sees the pause, and the slot's task shows it was due).
func TestPollAtStartOtherPauses(t *testing.T) {
	for _, reason := range []string{"graph_down: 5 calls failed", "policy_block: code 368", "manual: ops"} {
		db := redistest.New(t)
		ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
		if _, err := ledger.Pause(context.Background(), "111", time.Minute, reason); err != nil {
			t.Fatal(err)
		}
		m := metrics.New()
		if infos := pollAtStart(t, asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, ledger, m); len(infos) != 1 {
			t.Errorf("paused %q: %d polls, want 1", reason, len(infos))
		}
		if v := counterValue(t, m, "111", tasks.PausePageBroken); v != 0 {
			t.Errorf("paused %q: counted %v slots page_broken", reason, v)
		}
	}
}

// TestRetentionFollowsSchedule: a poll task of a Page polled every 2 hours
// is kept twice that (4 h), not the one-hour floor, so a replica that fires
// the slot late still finds its TaskID taken.
func TestRetentionFollowsSchedule(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	runPollsAtStart(t, Params{Redis: opt, Pages: []config.Page{{ID: "111", Schedule: "@every 2h"}}, PollAtStart: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	infos, err := ins.ListPendingTasks(tasks.QueuePolls)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Retention != 4*time.Hour {
		for _, ti := range infos {
			t.Logf("task %s retention %s", ti.ID, ti.Retention)
		}
		t.Fatalf("%d poll tasks; want 1 kept 4h", len(infos))
	}
}

// TestEnqueueFailureLogged: with Redis out of reach, a slot is counted as an
// error (not as enqueued), and the log says so at error level with the Page
// and the slot, and warns that the pause could not be read; the Page's
// access token is in neither.
func TestEnqueueFailureLogged(t *testing.T) {
	var logs proctest.Buffer
	const token = "EAAGsecretTOKEN123"
	m := metrics.New()
	now := time.Unix(1_700_000_000, 0)
	runPollsAtStart(t, Params{Redis: downRedis, PollAtStart: true, Metrics: m,
		Pages:  []config.Page{{ID: "111", Schedule: "0 0 1 1 *", AccessToken: token}},
		Ledger: tasks.NewLedger(downRedis.client(t), tasks.LedgerOptions{}), Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if e, ok := counterValue(t, m, "111", "error"), counterValue(t, m, "111", "enqueued"); e != 1 || ok != 0 {
		t.Errorf("polls scheduled: error %v, enqueued %v; want 1 and 0", e, ok)
	}
	type line struct {
		Level, Msg, Component, Error, PageID string
		Slot                                 int64
		Pages                                int
	}
	var started, pause, enqueue *line
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l line
		var attrs map[string]any
		if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		l.Level, _ = attrs["level"].(string)
		l.Msg, _ = attrs["msg"].(string)
		l.Component, _ = attrs["component"].(string)
		l.Error, _ = attrs["error"].(string)
		l.PageID, _ = attrs["page_id"].(string)
		if v, ok := attrs["slot"].(float64); ok {
			l.Slot = int64(v)
		}
		if v, ok := attrs["pages"].(float64); ok {
			l.Pages = int(v)
		}
		if l.Component != "scheduler" {
			t.Errorf("log line without component=scheduler: %s", raw)
		}
		switch l.Msg {
		case "scheduler started":
			started = &l
		case "read page pause":
			pause = &l
		case "enqueue poll":
			enqueue = &l
		}
	}
	if started == nil || started.Level != "INFO" || started.Pages != 1 {
		t.Errorf("start logged as %+v, want INFO with pages=1", started)
	}
	if pause == nil || pause.Level != "WARN" || pause.PageID != "111" || pause.Error == "" {
		t.Errorf("unreadable pause logged as %+v, want WARN with page_id and error", pause)
	}
	if enqueue == nil || enqueue.Level != "ERROR" || enqueue.PageID != "111" || enqueue.Slot != now.Unix() || enqueue.Error == "" {
		t.Errorf("failed enqueue logged as %+v, want ERROR with page_id 111, slot %d and error", enqueue, now.Unix())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("access token in the log:\n%s", logs.String())
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
}

// TestNoTokenInLogsOrMetrics: through every outcome of a slot (enqueued,
// taken by a second scheduler, page_broken), neither the debug log nor the
// scheduler's metrics carry a Page's access token.
func TestNoTokenInLogsOrMetrics(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	if _, err := ledger.Pause(context.Background(), "222", time.Minute, "page_broken: token expired"); err != nil {
		t.Fatal(err)
	}
	const token1, token2 = "EAAGsecretONE", "EAAGsecretTWO"
	pages := []config.Page{{ID: "111", Schedule: "0 0 1 1 *", AccessToken: token1}, {ID: "222", Schedule: "0 0 1 1 *", AccessToken: token2}}
	var logs proctest.Buffer
	m := metrics.New()
	now := time.Unix(1_700_000_000, 0)
	for range 2 {
		runPollsAtStart(t, Params{Redis: opt, Pages: pages, Ledger: ledger, PollAtStart: true, Metrics: m, Now: func() time.Time { return now },
			Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}
	if counterValue(t, m, "111", "enqueued") != 1 || counterValue(t, m, "111", "taken") != 1 || counterValue(t, m, "222", tasks.PausePageBroken) != 2 {
		t.Fatalf("outcomes: enqueued %v, taken %v, page_broken %v; want 1, 1, 2",
			counterValue(t, m, "111", "enqueued"), counterValue(t, m, "111", "taken"), counterValue(t, m, "222", tasks.PausePageBroken))
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var scraped strings.Builder
	for _, f := range families {
		scraped.WriteString(f.String())
	}
	for _, tok := range []string{token1, token2} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("token %s in the log:\n%s", tok, logs.String())
		}
		if strings.Contains(scraped.String(), tok) {
			t.Errorf("token %s in the metrics", tok)
		}
	}
}

// TestPollAtStartStopsAtShutdown: Shutdown while the polls at start wait for
// Redis ends them: the Page under way fails, the Pages after it are not
// tried (no error counted and logged for each).
func TestPollAtStartStopsAtShutdown(t *testing.T) {
	started := make(chan struct{}, 100)
	waits := hookRedis{run: func(ctx context.Context) error { // answers when its context ends
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}}
	var pages []config.Page
	for _, id := range []string{"101", "102", "103", "104", "105"} {
		pages = append(pages, config.Page{ID: id, Schedule: "0 0 1 1 *"})
	}
	m := metrics.New()
	s, err := New(Params{Redis: downRedis, Pages: pages, PollAtStart: true, Metrics: m,
		Ledger: tasks.NewLedger(waits.client(t), tasks.LedgerOptions{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	<-started // the first Page's pause read is under way
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	tried := 0.0
	for _, p := range pages {
		tried += counterValue(t, m, p.ID, "error") + counterValue(t, m, p.ID, "enqueued")
	}
	if tried != 1 {
		t.Fatalf("%v Pages tried, want the one under way at Shutdown", tried)
	}
}

// TestShutdownReportsStuckEnqueue: Shutdown whose context ends before an
// enqueue under way is done says so (a role then knows its stop was not
// clean), whether the enqueue is a scheduled one or a poll at start.
func TestShutdownReportsStuckEnqueue(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	t.Run("poll at start", func(t *testing.T) {
		ledger, started := stuckLedger(t)
		s, err := New(Params{Redis: opt, Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}}, Ledger: ledger,
			PollAtStart: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "scheduler: shutdown") {
			t.Fatalf("Shutdown with a poll at start stuck: %v", err)
		}
	})
	// Shutdown then also waits for the polls at start, long done: which of
	// the two it sees first is chance, so several schedulers are stopped.
	t.Run("scheduled", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			ledger, started := stuckLedger(t)
			s := startFast(t, Params{Redis: opt, Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}}, Ledger: ledger,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-started
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "scheduler: shutdown") {
					t.Errorf("Shutdown with a scheduled poll stuck: %v", err)
				}
			}()
		}
		wg.Wait()
	})
}

// TestCronPanicRecovered: a job of the scheduler's cron that panics is
// logged at error level and the scheduler goes on.
func TestCronPanicRecovered(t *testing.T) {
	var logs proctest.Buffer
	s, err := New(Params{Redis: downRedis, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{}, 100)
	s.cron.Schedule(config.Every{D: 10 * time.Millisecond}, cron.FuncJob(func() {
		ran <- struct{}{}
		panic("boom")
	}))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // runs again after the first panic
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("cron job did not run")
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "boom") {
		t.Fatalf("panic logged as %q", out)
	}
}

// TestShutdownCancelsStuckEnqueue: a scheduled enqueue still waiting on
// Redis when Shutdown's context ends is cancelled by Shutdown, not left to
// run until its own 10 s timeout against a closed client.
func TestShutdownCancelsStuckEnqueue(t *testing.T) {
	started := make(chan struct{}, 100)
	ended := make(chan error, 100)
	waits := hookRedis{run: func(ctx context.Context) error { // answers when its context ends
		started <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	}}
	s := startFast(t, Params{Redis: downRedis, Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}},
		Ledger: tasks.NewLedger(waits.client(t), tasks.LedgerOptions{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown did not report the enqueue it could not wait for")
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the stuck enqueue ended with %v, want it cancelled by Shutdown", err)
	}
}

// TestPollAtStartPanicRecovered: a panic while a poll at start is queued is
// logged and the other Pages' polls at start still go out, as a scheduled
// job's panic is (cron.Recover): it must not take the scheduler role down,
// and with it every Page's schedule, at each restart.
func TestPollAtStartPanicRecovered(t *testing.T) {
	var logs proctest.Buffer
	var reads sync.Map
	panicky := hookRedis{run: func(ctx context.Context) error {
		if _, again := reads.LoadOrStore("first", true); !again {
			panic("boom")
		}
		return errors.New("redis down")
	}}
	m := metrics.New()
	pages := []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}, {ID: "222", Schedule: "0 0 1 1 *"}}
	runPollsAtStart(t, Params{Redis: downRedis, Pages: pages, PollAtStart: true, Metrics: m,
		Ledger: tasks.NewLedger(panicky.client(t), tasks.LedgerOptions{}),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "boom") || !strings.Contains(out, "page_id=111") {
		t.Errorf("the panic of Page 111's poll at start logged as %q", out)
	}
	if got := counterValue(t, m, "222", "error"); got != 1 {
		t.Errorf("Page 222's poll at start counted %v times as an enqueue error, want 1 (it was not tried after Page 111's panic)", got)
	}
}
