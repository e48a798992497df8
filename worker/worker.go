// Package worker owns the asynq handlers of pagereply — the reply handler (ledger
// check, per-Page limiter, send, ledger mark) and the poll handler — with the
// retry policy that maps Graph's error classes to asynq outcomes.
package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// Graph is the part of the Graph API client the worker uses; *graph.Client
// implements it.
type Graph interface {
	SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error)
	SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error)
	PrivateReplyConversation(ctx context.Context, token, targetID string) (string, error)
	// Conversation reads a conversation with its newest messages: what
	// settles a doubtful conversation reply.
	Conversation(ctx context.Context, token, conversationID string) (graph.Conversation, error)
}

// Params configures a Worker.
type Params struct {
	// Redis is asynq's connection.
	Redis asynq.RedisConnOpt
	// Ledger is the reply ledger (on the same Redis).
	Ledger *tasks.Ledger
	// Enqueuer is used by the poll handler to enqueue replies.
	Enqueuer *tasks.Enqueuer
	// Graph sends replies.
	Graph Graph
	// Pages are the configured Pages; a task for another Page is archived.
	Pages []config.Page
	// Concurrency is the number of tasks handled at once; if zero, 20.
	Concurrency int
	// MaxRetry is the number of retries a failed reply may use
	// (worker.max_retry, whose default config gives); 0: none, the first
	// failure archives it.
	MaxRetry int
	// GraphTimeout is the Graph client's per-call timeout, used to size claim
	// leases; if zero, 10s.
	GraphTimeout time.Duration
	// SendSettle is how long after a send whose outcome is unknown (no
	// answer, a 5xx, Graph's "unknown error") the reply waits before Graph is
	// asked whether it landed: Graph may still act on it meanwhile. If zero,
	// GraphTimeout + 5s, the margin a killed worker's claim lease leaves too.
	SendSettle time.Duration
	// MaxWait is the longest a handler waits for its Page's next send slot while
	// holding a worker slot; a later slot sends the task back to the queue,
	// timed to return about when its slot comes. asynq keeps retry times in whole
	// seconds, so a task put back returns up to a second early: MaxWait must
	// exceed a second or returning tasks never find a slot. If zero, 1.5s. At most
	// rate × MaxWait + burst tasks of a Page wait at once, across all workers, and
	// in one worker all but a tenth of Concurrency (at least one slot stays free
	// for other Pages).
	MaxWait time.Duration
	// BackoffBase and BackoffMax shape the exponential backoff of transient
	// failures; if zero, 1s and 10m.
	BackoffBase, BackoffMax time.Duration
	// OutagePause is the first pause of a Page whose Graph calls keep failing
	// (outage.go), doubled at each pause up to 2 minutes while they go on;
	// if zero, 10s.
	OutagePause time.Duration
	// GraphBaseURL is graph.base_url, where the Graph calls go, named in an
	// outage's first pause line (outage.go): a wrong one (another port, the
	// sandbox not started) shows as Graph not answering. It holds no user,
	// password, query or fragment (the config refuses them). Empty: not
	// named.
	GraphBaseURL string
	// TaskCheckInterval is asynq's pick-up interval when queues are empty; if
	// zero, 20ms (asynq's 1s default caps a lightly loaded server's rate).
	TaskCheckInterval time.Duration
	// DelayedTaskCheckInterval is how often retried and scheduled tasks are moved
	// back to their queue; if zero, 100ms, so a rate-limited task returns close to
	// its send slot.
	DelayedTaskCheckInterval time.Duration
	// ShutdownTimeout is how long Shutdown waits for in-flight tasks before it
	// puts them back on the queue; if zero, 10s. The last quarter of it, at
	// most a second (stopGrace), is left to the handlers of the tasks put
	// back, their contexts canceled, to record what they did (a send's
	// outcome unknown, a claim given back) before Shutdown returns and the
	// process closes its Redis clients; a record not made by then is cut off
	// (Redis away), and Shutdown returns once its handler ended.
	ShutdownTimeout time.Duration
	// QueuesListedEvery is how often the worker adds its queues to asynq's
	// set of queues again (tasks.RegisterQueues); if zero, 30s.
	QueuesListedEvery time.Duration
	// StalePausesCheckedEvery is how often the worker looks for a
	// page_broken pause set with another token than the one its config gives
	// the Page (tasks.Ledger.LiftStaleBrokenPause) and lifts it: a one-off
	// poll run with an older config, or a process not yet restarted with a
	// new token, would otherwise hold every worker's replies until the
	// pause runs out. If zero, 30s. As often, a worker with an Enqueuer
	// runs again the replies, webhook items and polls of its Pages that a
	// worker without the Page archived meanwhile (runArchivedOfOwnPages).
	StalePausesCheckedEvery time.Duration
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Metrics; if nil, a private set.
	Metrics *metrics.Metrics
	// Poll handles poll tasks; if nil, poll tasks are archived with an error.
	Poll asynq.Handler
	// ClaimReplicas is how many Redis replicas (at most those connected) must
	// hold a reply's claim before it is sent (tasks.ReplicaGuard), so that a
	// failover cannot forget a claim whose reply went out;
	// tasks.ReplicasToWait gives it for a config. If zero, sends do not wait
	// (a single Redis).
	ClaimReplicas int
	// ClaimReplicaTimeout bounds that wait; a claim not acknowledged in time is
	// released and its task put back without using a retry. If zero,
	// tasks.DefaultReplicaTimeout.
	ClaimReplicaTimeout time.Duration
}

// Worker runs the asynq server with pagereply's handlers.
type Worker struct {
	p Params

	mu         sync.Mutex
	wait       map[string]int // per Page: slots waiting for a send slot
	replyShare share          // per Page: slots its replies hold, whatever they do
	itemShare  share          // per Page: slots its webhook items hold
	runners    *runners       // reply handlers run on these (runners.go)
	maxWaiting int            // per Page, at most this many (waiting, or busy at all)
	pages      map[string]*pageState
	log        *slog.Logger
	m          *metrics.Metrics
	servers    []*asynq.Server     // replies, then polls and webhook items
	serverRDB  *tasks.ServerClient // the servers' own client
	pollSlots  chan struct{}       // taken by each poll task while it runs
	stopping   context.Context     // canceled when Shutdown begins
	cancelPoll context.CancelFunc
	// records is the context of what a handler records on its way out (a
	// send's outcome unknown, a claim given back: recordCtx), which may
	// outlive the task's own: Shutdown cancels it when its drain ends, so no
	// handler is left writing to Redis after Shutdown returns.
	records    context.Context
	dropRecord context.CancelFunc
	replicas   *tasks.ReplicaGuard // nil unless Params.ClaimReplicas
	// admitFresh is how long after its admission began a send may leave
	// (admissionFresh, plus the replica wait the admission may include);
	// one later is admitted again first: see handleReply.
	admitFresh time.Duration
	// redisAwayLog spaces the lines of the claims, send slots and such a
	// task gives back when Redis is away: every reply in flight fails alike.
	redisAwayLog logspace.Line
	// alreadyRepliedLog spaces the lines of replies Graph refused as
	// already replied (recorded as sent): one now and then is the webhook
	// and the poll meeting, thousands at once are Redis having lost the
	// ledger, and each would be a line.
	alreadyRepliedLog logspace.Line
	// archivedRoundLog spaces the lines of a failing round over the
	// archives (runArchivedOfOwnPages): WARN, as replies wait on it.
	archivedRoundLog logspace.Line
	// notConfiguredLogs spaces, per Page (a *logspace.Line by Page id),
	// the lines of the tasks of a Page this worker's config lacks failed
	// and retried later: a second process on another config runs a
	// backlog's tasks again and again, and each run would be a line.
	notConfiguredLogs sync.Map
	// asynqLog is both servers' asynq logger: one, so a line both say
	// while Redis is away (each subscribes to asynq's cancelations every
	// 5 s) is spaced once for the process, not once per server.
	asynqLog *AsynqLogger
	// handlers counts the handlers running (replies, polls, webhook
	// items), bg the goroutines Start started: Shutdown waits for them.
	handlers running
	bg       sync.WaitGroup
}

type pageState struct {
	cfg   *config.Page
	limit tasks.Limit
	// admitMax sends are admitted in any admitWindow (see admitOf).
	admitMax    int
	admitWindow time.Duration
	// outage counts Graph's failures of this Page's replies in a row.
	outage outageGuard
}

// admissionFresh is how long after its admission (the last gate, which
// renews the target's claim for 2 × graph.timeout + 5 s: the send's timeout
// and its settle time) a send may still leave. A send that would leave later
// was held up on its way (the process stopped, the host frozen, Redis's
// answer to the admission waiting in its socket meanwhile) and is admitted
// again first: its claim may have lapsed since and another attempt, asked to
// run by asynq once this worker's heartbeats stopped, may have sent. A second
// is far above the admission's round trip, and takes at most a second of the
// 5 s the claim's lease allows for Graph acting on a send late.
const admissionFresh = time.Second

// Bounds of the jitter allowance of admitOf.
const (
	minAdmitSlack = 50 * time.Millisecond
	maxAdmitSlack = time.Second
)

// admitOf returns the last gate's limit for a Page: at most rate + burst
// sends in any window of one second plus a slack. Graph counts sends when
// they arrive; they arrive later than they were admitted by a time that
// varies (scheduling, connections, network), and sends admitted up to the
// slack more than a second apart can arrive within one second. Counting
// over a second plus the slack keeps any one second at Graph within rate +
// burst while that variation stays under the slack, however the sends bunch
// up (a one-second window admitted a full second's sends at its start and a
// full one at its end, 2 × rate within a second and a few milliseconds at
// Graph). The slack is what the burst leaves over the paced rate,
// (burst - 1) / rate, at least 50ms, so the gate does not slow the paced
// flow: a Page on a network that varies more needs a larger burst.
func admitOf(p *config.Page) (int, time.Duration) {
	ps := p.Rate.PerSecond()
	slack := minAdmitSlack
	if ps > 0 {
		slack = min(max(time.Duration(float64(p.Burst-1)/ps*float64(time.Second)), minAdmitSlack), maxAdmitSlack)
	}
	return max(1, int(ps)+p.Burst), time.Second + slack
}

// New returns a Worker; Start runs it.
func New(p Params) *Worker {
	if p.Concurrency <= 0 {
		p.Concurrency = 20
	}
	p.MaxRetry = max(p.MaxRetry, 0)
	if p.GraphTimeout <= 0 {
		p.GraphTimeout = 10 * time.Second
	}
	if p.SendSettle <= 0 {
		p.SendSettle = p.GraphTimeout + 5*time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 1500 * time.Millisecond
	}
	if p.BackoffBase <= 0 {
		p.BackoffBase = time.Second
	}
	if p.BackoffMax <= 0 {
		p.BackoffMax = 10 * time.Minute
	}
	if p.OutagePause <= 0 {
		p.OutagePause = defaultOutagePause
	}
	if p.TaskCheckInterval <= 0 {
		p.TaskCheckInterval = 20 * time.Millisecond
	}
	if p.QueuesListedEvery <= 0 {
		p.QueuesListedEvery = 30 * time.Second
	}
	if p.StalePausesCheckedEvery <= 0 {
		p.StalePausesCheckedEvery = 30 * time.Second
	}
	if p.DelayedTaskCheckInterval <= 0 {
		p.DelayedTaskCheckInterval = 100 * time.Millisecond
	}
	if p.ShutdownTimeout <= 0 {
		p.ShutdownTimeout = 10 * time.Second
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Metrics == nil {
		p.Metrics = metrics.New()
	}
	w := &Worker{p: p, pages: make(map[string]*pageState, len(p.Pages)), log: p.Logger.With(slog.String("component", "worker")), m: p.Metrics,
		wait: map[string]int{}, replyShare: newShare(), itemShare: newShare(), runners: newRunners(time.Second), maxWaiting: max(1, p.Concurrency-max(1, p.Concurrency/10)),
		pollSlots: make(chan struct{}, PollSlots(p.Concurrency)), asynqLog: NewAsynqLogger(p.Logger)}
	w.stopping, w.cancelPoll = context.WithCancel(context.Background())
	w.records, w.dropRecord = context.WithCancel(context.Background())
	w.replicas = tasks.NewReplicaGuard(p.Ledger, tasks.ReplicaGuardOptions{Replicas: p.ClaimReplicas, Timeout: p.ClaimReplicaTimeout})
	w.admitFresh = admissionFresh
	if p.ClaimReplicas > 0 {
		t := p.ClaimReplicaTimeout
		if t <= 0 {
			t = tasks.DefaultReplicaTimeout
		}
		w.admitFresh += min(t, tasks.MaxReplicaTimeout)
	}
	for i := range p.Pages {
		pg := &p.Pages[i]
		ps := &pageState{cfg: pg, limit: LimitOf(pg, p.MaxWait)}
		ps.admitMax, ps.admitWindow = admitOf(pg)
		w.pages[pg.ID] = ps
	}
	return w
}

// LimitOf returns the GCRA parameters of a Page's configured rate and burst.
func LimitOf(p *config.Page, maxWait time.Duration) tasks.Limit {
	ps := p.Rate.PerSecond()
	if ps <= 0 {
		return tasks.Limit{}
	}
	// Pace 1% under the configured rate: a send leaves a moment after its slot
	// (timer and scheduling jitter), and the configured rate is a ceiling that
	// Meta enforces, not a target.
	return tasks.Limit{Interval: time.Duration(1.01 * float64(time.Second) / ps), Burst: p.Burst, MaxWait: maxWait}
}

// PollSlots is how many poll tasks a worker of concurrency slots runs at
// once: all but a tenth of its poll and webhook slots (at least one), so the
// webhook's items find a slot while slow polls hold the others.
func PollSlots(concurrency int) int {
	if concurrency < 2 {
		return 1
	}
	return concurrency - max(1, concurrency/10)
}

// pollBusyDelay is how long a poll task that found every poll slot taken
// waits before it tries again.
const pollBusyDelay = 5 * time.Second

// Handler returns one mux for every task type, for servers built elsewhere
// (the benchmarks): Start runs replies and polls on servers of their own.
func (w *Worker) Handler() asynq.Handler {
	mux := asynq.NewServeMux()
	w.handleReplies(mux)
	w.handlePolls(mux)
	return mux
}

func (w *Worker) handleReplies(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeReply, w.counted(func(ctx context.Context, t *asynq.Task) error {
		return w.replyDone(ctx, t, w.runners.do(ctx, t, w.handleReply))
	}))
}

func (w *Worker) handlePolls(mux *asynq.ServeMux) {
	if w.p.Poll == nil {
		return
	}
	mux.HandleFunc(tasks.TypeWebhookItem, w.counted(w.gateItem))
	mux.HandleFunc(tasks.TypePoll, w.counted(w.gatePoll))
}

// counted returns h counted in w.handlers while it runs.
func (w *Worker) counted(h asynq.HandlerFunc) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		w.handlers.enter()
		defer w.handlers.leave()
		return h(ctx, t)
	}
}

// gateItem runs a webhook item unless its Page's items hold their share of
// the slots already (see enter): a burst of deliveries for one Page (a post
// gone viral) waits for its Page's read slots, and would otherwise hold every
// slot and hold back the other Pages' items queued behind it.
func (w *Worker) gateItem(ctx context.Context, t *asynq.Task) error {
	it, err := tasks.DecodeWebhookItem(t.Payload())
	if err != nil {
		return w.p.Poll.ProcessTask(ctx, t) // which archives it, saying why
	}
	ps, ok := w.pages[it.PageID]
	if !ok || ps.limit.Interval <= 0 || lastRun(ctx) {
		return w.p.Poll.ProcessTask(ctx, t)
	}
	d, ok := w.enter(&w.itemShare, it.PageID, ps.limit.Interval, false)
	if !ok {
		return &delayError{d: d, reason: "the page's webhook items hold their share of the worker's slots"}
	}
	defer w.leave(&w.itemShare, it.PageID)
	return w.p.Poll.ProcessTask(ctx, t)
}

// stalePolls is implemented by a poll handler (*Poller) that can tell a poll
// whose Page's next slot was due by now.
type stalePolls interface {
	Stale(t *asynq.Task, now time.Time) bool
}

// gatePoll runs a poll task in one of the worker's poll slots. A poll can hold
// its slot for minutes (its reads are paced at the Page's rate); when every
// slot is taken it is put back, no retry used, or dropped if a later slot of
// its Page is due by now (that one reads everything since the last poll).
func (w *Worker) gatePoll(ctx context.Context, t *asynq.Task) error {
	select {
	case w.pollSlots <- struct{}{}:
	default:
		if sp, ok := w.p.Poll.(stalePolls); ok && sp.Stale(t, time.Now()) {
			w.log.Info("poll skipped: every poll slot was taken and a later slot is due")
			return nil
		}
		// Back at a random moment over the next pollBusyDelay, not all
		// within its tenth: a backlog of polls (thousands of Pages polled at
		// start) put back together came back together, the spare slots put
		// them all back again at once, and the poll slots sat idle most of
		// every 5 s in between.
		return &delayError{d: pollBusyDelay + rand.N(pollBusyDelay), reason: "every poll slot of this worker is taken"}
	}
	defer func() { <-w.pollSlots }()
	// A poll stops when the worker does, not when asynq's shutdown timeout
	// runs out: it can take minutes, and the process would exit under it
	// with its lease still held, so the next slot's poll read nothing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.stopping, cancel)()
	err := w.p.Poll.ProcessTask(ctx, t)
	if err != nil && w.stopping.Err() != nil {
		return &delayError{d: time.Second, reason: "the worker stopped during the poll"}
	}
	return err
}

// Start starts processing tasks in the background: replies on one asynq
// server, polls and webhook items on another with as many slots, so polls
// (which wait for their Page's read slots and can run for minutes at a low
// rate) never hold the slots replies need.
func (w *Worker) Start() error {
	// The servers' client retries while Redis is away, so a task's outcome
	// written during a failover is not lost (see tasks.NewServerRedisClient).
	w.serverRDB = tasks.NewServerRedisClient(w.p.Redis)
	cfg := func(queue string) asynq.Config {
		return asynq.Config{
			Concurrency:              w.p.Concurrency,
			Queues:                   map[string]int{queue: 1},
			IsFailure:                IsFailure,
			RetryDelayFunc:           w.retryDelay,
			TaskCheckInterval:        w.p.TaskCheckInterval,
			DelayedTaskCheckInterval: w.p.DelayedTaskCheckInterval,
			ShutdownTimeout:          w.p.ShutdownTimeout - stopGrace(w.p.ShutdownTimeout),
			Logger:                   w.asynqLog, // its own component
			LogLevel:                 asynq.WarnLevel,
			ErrorHandler:             asynq.ErrorHandlerFunc(w.logFailure),
		}
	}
	replies, polls := asynq.NewServeMux(), asynq.NewServeMux()
	w.handleReplies(replies)
	w.handlePolls(polls)
	for _, s := range []struct {
		queue string
		mux   *asynq.ServeMux
	}{{tasks.QueueReplies, replies}, {tasks.QueuePolls, polls}} {
		srv := asynq.NewServerFromRedisClient(w.serverRDB, cfg(s.queue))
		if err := srv.Start(s.mux); err != nil {
			w.Shutdown(context.Background())
			return fmt.Errorf("start worker (%s queue): %w", s.queue, err)
		}
		w.servers = append(w.servers, srv)
	}
	rdb := w.serverRDB // Shutdown sets the field to nil once they are done
	w.bg.Go(func() { w.keepQueuesListed(w.stopping, rdb) })
	w.bg.Go(func() { w.liftStalePauses(w.stopping, rdb) })
	return nil
}

// liftStalePauses lifts, every Params.StalePausesCheckedEvery until ctx is
// done, the page_broken pause of each Page that was set with another token
// than this worker's (tasks.Ledger.LiftStaleBrokenPause), and runs at once
// the replies put back until its end (WakePutBacks). The token that broke
// was not this worker's: a one-off pagereply poll with an older config, or
// a process still running with the token the operator has since replaced.
// If this worker's token is broken too, its next call pauses the Page again,
// with its own token's fingerprint, which it then leaves alone: one refused
// call per such lift.
func (w *Worker) liftStalePauses(ctx context.Context, rdb *tasks.ServerClient) {
	t := time.NewTicker(w.p.StalePausesCheckedEvery)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			w.liftStalePausesNow(ctx, rdb)
			w.runArchivedOfOwnPages(ctx, rdb)
		}
	}
}

// liftStalePausesNow is one round of liftStalePauses; rdb is the servers'
// client, which reads their put-backs.
func (w *Worker) liftStalePausesNow(ctx context.Context, rdb *tasks.ServerClient) {
	wake := map[string]Wake{}
	// Every Page in a few pipelines: one round trip per Page was 5,000
	// every 30 s in each worker of an agency's config.
	ids := make([]string, len(w.p.Pages))
	for i := range w.p.Pages {
		ids[i] = w.p.Pages[i].ID
	}
	lifted, err := w.p.Ledger.LiftStaleBrokenPauses(ctx, ids)
	if err != nil && ctx.Err() == nil {
		w.log.Debug("check the pages' pauses", slog.String("error", err.Error()))
	}
	for _, page := range ids {
		if reason, ok := lifted[page]; ok {
			w.log.Info("page_broken pause lifted: it was set with another token than the one this worker's config gives the Page",
				slog.String("page_id", page), slog.String("reason", reason))
			wake[page] = Wake{Broken: true}
		}
	}
	if len(wake) == 0 {
		return
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	woken, err := WakePutBacks(ctx, insp, w.p.Ledger, wake)
	if err != nil && ctx.Err() == nil {
		w.log.Warn("cannot run the replies put back for a lifted pause; they come back when due", slog.String("error", err.Error()))
	}
	for page, n := range woken {
		w.log.Info("replies put back for the lifted pause run now", slog.String("page_id", page),
			slog.Int("replies", n.Replies), slog.Int("webhook_items", n.Items))
	}
}

// runArchivedOfOwnPages runs again the replies, webhook items and polls of
// this worker's Pages archived by a worker whose config lacks the Page
// (RunArchivedOfPages, RunArchivedItemsOfPages, RunArchivedPollsOfPages), as
// the start of a worker does; a Page's latest poll only when its next slot
// is not due yet (a later one reads everything since). A worker without
// the Page fails such a task at once, with its slots free, while this one's slots wait for the Page's send slots or put its
// replies back (rate, pause): run beside this one (a second process on
// another config against the same database, or an old worker of a rolling
// update still running after a new one started), it takes most of a
// backlog's runs, uses up their retries and archives them, and this worker,
// already started, would never send them: the poll reads only the posts
// that changed, and Meta does not deliver a change again. Without an
// Enqueuer (a worker that queues no replies) it does nothing.
//
// The archives are read only when one changed since the last read (its
// size or its latest task, archivedMark) or archivedFullEvery rounds after
// it: a full archive is 10,000 tasks a queue, and most rounds find nothing
// new. The workers of the same Pages share the round (tasks.Ledger.TakeRound)
// and the last read's mark: one of them reads the archives each round, not
// every worker (the archives change whenever a reply is archived, for any
// reason, and a deployment of many workers read them each as often).
func (w *Worker) runArchivedOfOwnPages(ctx context.Context, rdb *tasks.ServerClient) {
	if w.p.Enqueuer == nil || len(w.p.Pages) == 0 || ctx.Err() != nil {
		return
	}
	queues := []string{tasks.QueueReplies}
	if w.p.Poll != nil {
		queues = append(queues, tasks.QueuePolls)
	}
	marks := make([]string, len(queues))
	for i, q := range queues {
		m, err := archivedMark(ctx, rdb, q)
		if err != nil {
			w.archivedRoundFailed(ctx, "read the archives", err)
			return
		}
		marks[i] = m
	}
	configured := make(map[string]bool, len(w.p.Pages))
	for i := range w.p.Pages {
		configured[w.p.Pages[i].ID] = true
	}
	round := archivedRound(w.p.Pages, queues)
	every := w.p.StalePausesCheckedEvery
	if took, err := w.p.Ledger.TakeRound(ctx, round, every-every/10); err != nil || !took {
		if err != nil {
			w.archivedRoundFailed(ctx, "take the round of the archives", err)
		}
		return
	}
	mark := strings.Join(marks, "\n")
	if last, err := w.p.Ledger.RoundMark(ctx, round); err != nil || last == mark {
		if err != nil {
			w.archivedRoundFailed(ctx, "read the archives' last mark", err)
		}
		return
	}
	enq := *w.p.Enqueuer
	enq.Inspector = asynq.NewInspectorFromRedisClient(rdb)
	ran, err := RunArchivedOfPages(ctx, &enq, configured)
	failed := err != nil
	if err != nil {
		w.archivedRoundFailed(ctx, "run the replies archived while their Page was not configured", err)
	}
	for page, n := range ran {
		w.log.Info("replies archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("replies", n))
	}
	if w.p.Poll != nil {
		items, err := RunArchivedItemsOfPages(ctx, &enq, configured)
		failed = failed || err != nil
		if err != nil {
			w.archivedRoundFailed(ctx, "run the webhook items archived while their Page was not configured", err)
		}
		for page, n := range items {
			w.log.Info("webhook items archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("webhook_items", n))
		}
		var stale func(*asynq.Task) bool
		if sp, ok := w.p.Poll.(stalePolls); ok {
			stale = func(t *asynq.Task) bool { return sp.Stale(t, time.Now()) }
		}
		polls, err := runArchivedPolls(ctx, enq.Inspector, configured, stale)
		failed = failed || err != nil
		if err != nil {
			w.archivedRoundFailed(ctx, "run the polls archived while their Page was not configured", err)
		}
		for page, n := range polls {
			w.log.Info("polls archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("polls", n))
		}
	}
	if !failed { // else read again at the next round
		if err := w.p.Ledger.SetRoundMark(ctx, round, mark, archivedFullEvery*every); err != nil {
			w.archivedRoundFailed(ctx, "record the archives' mark", err)
		}
	}
}

// archivedRoundFailed logs a step of runArchivedOfOwnPages that failed
// with err: at WARN, spaced (archivedRoundLog), as the replies a worker
// without their Page archived wait on the round, and one failing round
// after round (a key of another type, a script Redis refuses) left them
// waiting for a restart with nothing above debug; at debug when Redis is
// away (its outage is said elsewhere, and the next round reads again) or
// the worker is stopping.
func (w *Worker) archivedRoundFailed(ctx context.Context, msg string, err error) {
	if ctx.Err() != nil || tasks.RedisAway(err) || tasks.RedisAwayText(err.Error()) {
		w.log.Debug(msg, slog.String("error", err.Error()))
		return
	}
	lvl, repeated := w.archivedRoundLog.Level(time.Now(), slog.LevelWarn)
	attrs := []any{slog.String("error", err.Error())}
	if lvl != slog.LevelDebug {
		attrs = append(attrs, slog.String("hint", "the replies, webhook items and polls a worker without their Page archived wait for the next round that works"))
		if repeated > 0 {
			attrs = append(attrs, slog.Int("repeated", repeated))
		}
	}
	w.log.Log(ctx, lvl, "the round over the archives failed: "+msg, attrs...)
}

// archivedRound names the round of runArchivedOfOwnPages of the workers of
// pages that read queues: those of the same Pages share it.
func archivedRound(pages []config.Page, queues []string) string {
	ids := make([]string, 0, len(pages))
	for i := range pages {
		ids = append(ids, pages[i].ID)
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, ",") + "|" + strings.Join(queues, ",")))
	return "archived:" + hex.EncodeToString(sum[:8])
}

// archivedFullEvery is how often (in rounds) runArchivedOfOwnPages reads
// the archives though their marks did not change: a task archived by a
// process whose clock is behind, in the same round as one of them was run
// again, leaves both the same. The last read's mark is kept that long.
const archivedFullEvery = 20

// archivedMark returns what changes when a task is archived in queue: the
// size of asynq's archive and its latest task (id and time). It reads
// asynq's own key of the archive (a sorted set by the time of archive).
func archivedMark(ctx context.Context, rdb *tasks.ServerClient, queue string) (string, error) {
	key := "asynq:{" + queue + "}:archived"
	var n *redis.IntCmd
	var last *redis.ZSliceCmd
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		n = p.ZCard(ctx, key)
		last = p.ZRevRangeWithScores(ctx, key, 0, 0)
		return nil
	}); err != nil {
		return "", fmt.Errorf("read the archive of %s: %w", queue, err)
	}
	return fmt.Sprint(n.Val(), last.Val()), nil
}

// keepQueuesListed lists the queues in asynq's set of queues now and every
// Params.QueuesListedEvery until ctx is done, so that the monitor, status and the
// queue metrics find them again soon after Redis lost its data.
func (w *Worker) keepQueuesListed(ctx context.Context, rdb *tasks.ServerClient) {
	t := time.NewTicker(w.p.QueuesListedEvery)
	defer t.Stop()
	for {
		if err := tasks.RegisterQueues(ctx, rdb); err != nil && ctx.Err() == nil {
			// Redis away is logged where it matters (replies, polls).
			w.log.Debug("list queues", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logFailure logs a task that failed: archived when its error says it cannot
// succeed (asynq.SkipRetry: a permanent Graph error, or its retries used up),
// else retried later. asynq's own line for an archived task ("Retry
// exhausted", also for a task never retried) goes to debug (AsynqLogger).
// A put-back is no failure and is not logged here.
func (w *Worker) logFailure(ctx context.Context, t *asynq.Task, err error) {
	if !IsFailure(err) {
		return
	}
	id, _ := asynq.GetTaskID(ctx)
	n, _ := asynq.GetRetryCount(ctx)
	attrs := []any{slog.String("type", t.Type()), slog.String("task_id", id), slog.Int("retried", n), slog.String("error", err.Error())}
	if t.Type() == tasks.TypeReply {
		if r, derr := tasks.DecodeReply(t.Payload()); derr == nil {
			attrs = append(attrs, slog.String("page_id", r.PageID))
		}
	}
	if errors.Is(err, asynq.SkipRetry) {
		w.log.Warn("task archived", attrs...)
		return
	}
	if strings.Contains(err.Error(), notConfigured) {
		// Once per logspace.Period for each Page, the others at debug:
		// each task is archived with its own line all the same.
		l, _ := w.notConfiguredLogs.LoadOrStore(taskPage(t), new(logspace.Line))
		lvl, repeated := l.(*logspace.Line).Level(time.Now(), slog.LevelWarn)
		if lvl != slog.LevelDebug && repeated > 0 {
			attrs = append(attrs, slog.Int("repeated", repeated))
		}
		w.log.Log(ctx, lvl, "task failed; retried later", attrs...)
		return
	}
	w.log.Warn("task failed; retried later", attrs...)
}

// taskPage returns the Page id of a reply, webhook item or poll task, or ""
// for a payload that does not decode.
func taskPage(t *asynq.Task) string {
	switch t.Type() {
	case tasks.TypeReply:
		r, _ := tasks.DecodeReply(t.Payload())
		return r.PageID
	case tasks.TypeWebhookItem:
		it, _ := tasks.DecodeWebhookItem(t.Payload())
		return it.PageID
	default:
		var p tasks.Poll
		_ = json.Unmarshal(t.Payload(), &p)
		return p.PageID
	}
}

// Shutdown stops taking tasks and waits up to Params.ShutdownTimeout for
// in-flight ones; those still running then go back to the queue. The server's
// client stops waiting for an absent Redis first, so asynq's last writes fail
// fast then, as they did with go-redis's defaults (asynq's recoverer puts back
// what they could not). ctx is not used to cut the wait shorter: asynq owns it.
//
// asynq puts a task back without waiting for its handler, whose context it
// cancels: Shutdown then waits for such handlers for the rest of
// ShutdownTimeout (stopGrace), so that what they record on the way out (a
// send's outcome unknown, a claim given back) reaches Redis before the
// caller closes its clients; a record that came later was lost, and the
// target stayed claimed until its lease ran out. It also waits for the
// worker's own goroutines, which use the servers' client it closes.
func (w *Worker) Shutdown(ctx context.Context) {
	if w.serverRDB == nil {
		return
	}
	w.cancelPoll()
	w.serverRDB.StopRetrying()
	var wg sync.WaitGroup
	for _, srv := range w.servers {
		wg.Go(srv.Shutdown)
	}
	wg.Wait()
	// The last quarter of the grace is for the handlers whose records are
	// cut off (a record waiting out an absent Redis goes on for up to
	// tasks.ServerRetryFor): they end, and write no more, before Shutdown
	// returns and the caller closes their Redis client.
	grace := stopGrace(w.p.ShutdownTimeout)
	n := w.handlers.wait(grace - grace/4)
	if n > 0 {
		w.dropRecord()
		n = w.handlers.wait(grace / 4)
	}
	if n > 0 {
		w.log.Warn("handlers still running at shutdown: their tasks are back on the queue, and what they had not recorded is settled by the claims' leases",
			slog.Int("handlers", n))
	}
	w.bg.Wait()
	w.servers = nil
	_ = w.serverRDB.Close()
	w.serverRDB = nil
}

// recordCtx is the context of a record a handler makes even when its task's
// context is done (a claim released, a send's outcome marked unknown): ctx's
// values, a timeout of d, and canceled when Shutdown's drain ends
// (Worker.records). A record cut off so leaves the target claimed until its
// lease ends, and an expired claim is doubtful: the next attempt asks Graph
// before it sends.
func (w *Worker) recordCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	if w.records == nil {
		return rctx, cancel
	}
	stop := context.AfterFunc(w.records, cancel)
	return rctx, func() { stop(); cancel() }
}

// stopGrace is the part of a shutdown timeout of d left to the handlers of
// the tasks asynq put back (see Shutdown): a quarter, at most a second.
// Their records take a round trip to Redis or two, a little more for a
// batch of them.
func stopGrace(d time.Duration) time.Duration { return min(d/4, time.Second) }

// running counts handlers that run, and lets Shutdown wait for them. A
// handler's enter and leave are an atomic add each: they are on every
// task's path.
type running struct {
	n       atomic.Int64
	waiting atomic.Bool // set by wait: leave then closes idle at 0
	mu      sync.Mutex
	idle    chan struct{} // closed when n drops to 0, while waited for
}

func (r *running) enter() { r.n.Add(1) }

func (r *running) leave() {
	if r.n.Add(-1) == 0 && r.waiting.Load() {
		r.mu.Lock()
		if r.idle != nil {
			close(r.idle)
			r.idle = nil
		}
		r.mu.Unlock()
	}
}

// wait waits up to d for no handler to run, and returns how many still do.
func (r *running) wait(d time.Duration) int {
	r.mu.Lock()
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	idle := r.idle
	r.mu.Unlock()
	// waiting is set before n is read, and leave reads waiting after its
	// add: a handler that leaves now either finds it set, or its 0 is read.
	r.waiting.Store(true)
	if r.n.Load() == 0 {
		return 0
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	return int(r.n.Load())
}

// delayError puts a task back on the queue after d without using up a retry:
// a paused, rate-limited or busy Page is not a failure.
type delayError struct {
	d      time.Duration
	reason string
}

func (e *delayError) Error() string {
	return fmt.Sprintf("put back for %s: %s", e.d.Round(time.Millisecond), e.reason)
}

// IsFailure reports whether err uses up one of a task's retries: everything but
// a delay (pause, rate limit, busy target).
func IsFailure(err error) bool {
	var d *delayError
	return !errors.As(err, &d)
}

func (w *Worker) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	var d *delayError
	if errors.As(err, &d) {
		return d.d
	}
	b := Backoff(n, w.p.BackoffBase, w.p.BackoffMax)
	if waitAsked(err) {
		// The answer to the task's Graph call (a poll's read, a reply's
		// send or check, a webhook item's read) said when to call again
		// (Retry-After, or a time to regain access, each capped at a day
		// by the Graph client): not before. Most such answers pause the
		// Page and put the task back until then (a delayError, above);
		// this is for the ones that use a retry.
		var ge *graph.Error
		errors.As(err, &ge)
		return max(b, ge.RetryAfter)
	}
	return b
}

// Backoff is exponential backoff with jitter: about base·2ⁿ, capped at max, each
// delay drawn from [½, 1½) of it so retries of many tasks spread out.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}
