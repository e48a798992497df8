package worker

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// A Graph outage (5xx answers, timeouts, connections refused, for every
// call) would otherwise use up each reply's retries: worker.max_retry's
// backoff (10 retries from 1 s, doubling to 10 minutes) lasts about 20
// minutes, after which asynq archives the reply and nothing sends it again
// until a poll's full read finds it. So a Page whose sends fail outageAfter
// times in a row in this worker process, for at least outageTargets
// different replies, with no Graph answer in between, is paused
// (tasks.PauseGraphDown) for Params.OutagePause, doubling with each pause up
// to maxOutagePause while the failures go on. Its replies go back to the
// queue without using a retry, and a failure during the outage uses none
// either: when a pause ends, the first replies to run are the probe, and the
// first answer from Graph ends the outage. Pausing also keeps a Page from
// hammering a Graph that is failing (every failed call still counts toward
// Meta's limits).
//
// A failure counts toward an outage only when Graph gave no answer of its
// own (a connection refused or cut, a timeout, a 5xx without Graph's error
// body) or answered codes 1 or 2 (unknown error, service unavailable); any
// other answer, code 1200 ("Temporary send message failure", about one
// message) included, says Graph is up and ends the run. The failures before
// a run makes an outage use retries as any transient failure does, and a run
// of one or two replies failing again and again is not an outage (on a
// quiet Page, one reply's own retries would be a run), so a reply whose own
// call keeps failing still ends archived after worker.max_retry failures.
// The lenience holds only while a reply is inside the reply window
// (outageLenience after it was queued): an older one uses its retries again.
const (
	outageAfter    = 5
	outageTargets  = 3
	maxOutagePause = 2 * time.Minute // probes stay rare, and sending resumes within 2 min of Graph
	outageLenience = 7 * 24 * time.Hour
	// defaultOutagePause is Params.OutagePause's default.
	defaultOutagePause = 10 * time.Second
)

// outageGuard counts a Page's transient Graph failures in a row in this
// process. Its zero value is ready; the success path costs one atomic load.
type outageGuard struct {
	failing atomic.Bool // run > 0

	mu      sync.Mutex
	run     int                 // transient failures since Graph last answered
	targets map[string]struct{} // the replies that failed in the run, up to outageTargets
	pauses  int                 // pauses set during this run
	until   time.Time           // end of the last pause set
}

// answered records an answer from Graph (a send or read that succeeded, or an
// error that Graph itself gave about the call, not a transient one): the run
// of failures ends. ended reports whether it was an outage (this guard had
// paused the Page), so that its end is logged once.
func (g *outageGuard) answered() (ended bool) {
	if !g.failing.Load() {
		return false
	}
	g.mu.Lock()
	ended = g.pauses > 0
	g.run, g.pauses, g.until = 0, 0, time.Time{}
	clear(g.targets)
	g.failing.Store(false)
	g.mu.Unlock()
	return ended
}

// graphAnswered ends Page ps's run of failures (outageGuard.answered) and
// logs the end of an outage this process had paused the Page for. A pause
// set in Redis runs out on its own; the line tells the operator that Graph
// answers again.
func graphAnswered(ps *pageState, log *taskLog) {
	if ps.outage.answered() {
		log.L().Info("graph answers again: outage over", slog.String("kind", tasks.PauseGraphDown))
	}
}

// failed records a transient failure of the reply to target at now. When
// the run has reached outageAfter failures of outageTargets replies, it
// reports outage true and the pause to put the reply back for: a new pause
// of base doubled per pause already set in this run (capped at
// maxOutagePause), with set true when the caller should write it to Redis,
// or the rest of the pause this guard set last. first reports whether the
// pause to set is the run's first (the outage's start), under the same lock:
// asked afterwards, another reply's failure could have set the run's next
// pause meanwhile (a worker slot stalled past the pause), and the outage's
// first pause line lost graph_base_url and its hint.
func (g *outageGuard) failed(now time.Time, base time.Duration, target string) (d time.Duration, set, first, outage bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing.Store(true)
	g.run++
	if g.targets == nil {
		g.targets = make(map[string]struct{}, outageTargets)
	}
	if len(g.targets) < outageTargets {
		g.targets[target] = struct{}{}
	}
	if g.run < outageAfter || len(g.targets) < outageTargets {
		return 0, false, false, false
	}
	if now.Before(g.until) {
		return g.until.Sub(now), false, false, true
	}
	d = maxOutagePause
	if g.pauses < 16 {
		d = min(base<<g.pauses, maxOutagePause)
	}
	g.pauses++
	g.until = now.Add(d)
	return d, true, g.pauses == 1, true
}

// outage records a transient Graph failure of reply r and, when Page ps is in
// an outage, pauses it and returns the put-back that replaces a retry. ok is
// false when the failure is an ordinary one (it uses a retry): the run is
// short, the reply is older than the reply window, or the worker is stopping.
func (w *Worker) outage(ctx context.Context, ps *pageState, r *tasks.Reply, err error, log *taskLog) (*delayError, bool) {
	if ctx.Err() != nil {
		// A call cut off because the worker is stopping says nothing of Graph.
		return nil, false
	}
	if !noAnswer(err) {
		graphAnswered(ps, log)
		return nil, false
	}
	now := time.Now()
	d, set, first, outage := ps.outage.failed(now, w.p.OutagePause, r.Target.String())
	if !outage {
		return nil, false
	}
	reason := tasks.PauseGraphDown + ": " + outageReason(err)
	if set {
		plog := log.L()
		if first {
			plog = plog.With(w.outageAttrs(err)...)
		}
		pctx, cancel := w.recordCtx(context.Background(), 5*time.Second)
		pausePages(pctx, w.p.Ledger, w.m, []string{r.PageID}, r.PageID, tasks.PauseGraphDown, d, reason, plog)
		cancel()
	}
	if pastLenience(r, now) {
		return nil, false
	}
	return &delayError{d: d + spread(d), reason: putBackPaused + reason}, true
}

// askedWait pauses reply r's Page after a transient Graph answer that said
// when to call again (waitAsked: a 503 with Retry-After, from Graph or a
// proxy in front of it, or a time to regain access in its usage headers),
// for that time, as a graph_down pause (PauseForError), and returns the
// put-back until its end, which uses no retry. The answer is about the
// Page's calls, not this reply's: its other replies, webhook items and
// polls would each call Graph before the time it asked for, and get the
// same answer; a reply that used a retry for each such answer could be
// archived while Graph was away, its Page's other replies waiting. As with
// an outage, a reply queued more than outageLenience ago, or on its last run
// (where a put-back archives it all the same), uses a retry, which
// retryDelay makes no sooner than asked. ok is false when err asked for no
// wait.
//
// The caller has settled the attempt first (settle): a send whose outcome is
// unknown stays in doubt, and is checked with Graph before any send again.
func (w *Worker) askedWait(ctx context.Context, r *tasks.Reply, err error, log *taskLog) (*delayError, bool) {
	if !waitAsked(err) {
		return nil, false
	}
	d := PauseForError(w.p.Ledger, w.m, r.PageID, err, log.L())
	if lastRun(ctx) || pastLenience(r, time.Now()) {
		return nil, false
	}
	return &delayError{d: d + spread(d), reason: pausedFor(err)}, true
}

// outageAttrs are the attributes of an outage's first pause line, once per
// outage (its later pauses, each doubled, say the same): graph.base_url,
// where the calls went, and, when the calls got no answer at all (a
// connection refused, a name that does not resolve, a timeout:
// graph.NoAnswer), a hint to check it, as pagereply poll gives: a wrong URL
// (another port, the sandbox not started) looks like Graph away. The URL
// holds no secret: the config refuses a user, password or query in it, and
// the token and appsecret_proof travel in each call, never in it.
func (w *Worker) outageAttrs(err error) []any {
	if w.p.GraphBaseURL == "" {
		return nil
	}
	attrs := []any{slog.String("graph_base_url", w.p.GraphBaseURL)}
	if graph.NoAnswer(err) {
		attrs = append(attrs, slog.String("hint", graph.NoAnswerHint(w.p.GraphBaseURL)))
	}
	return attrs
}

// pastLenience reports whether reply r was queued more than outageLenience
// before now: it uses its retries again, through an outage or a wait Graph
// asked for alike.
func pastLenience(r *tasks.Reply, now time.Time) bool {
	return r.EnqueuedAt > 0 && now.Sub(time.UnixMilli(r.EnqueuedAt)) > outageLenience
}

func outageReason(err error) string {
	return outageReasonHead + strconv.Itoa(outageAfter) + " or more calls in a row (last: " + err.Error() + ")"
}

// outageReasonHead begins an outage pause's reason after its kind.
const outageReasonHead = "no answer from Graph to "

// OutagePause reports whether reason, a Page's pause's, is an outage's
// graph_down pause: Graph did not answer the Page's calls many times in a
// row. A graph_down pause that is not is Graph's asking to wait (a 503
// with Retry-After), which ends at the time Graph gave.
func OutagePause(reason string) bool {
	return strings.HasPrefix(reason, tasks.PauseGraphDown+": "+outageReasonHead)
}

// noAnswer reports whether a transient failure is one that an unavailable
// Graph gives: no Graph error body (a connection refused or cut, a timeout,
// a 5xx page from a proxy), or Graph's codes 1 and 2.
func noAnswer(err error) bool {
	var ge *graph.Error
	if !errors.As(err, &ge) {
		return true
	}
	return ge.Code == 0 || ge.Code == 1 || ge.Code == 2
}
