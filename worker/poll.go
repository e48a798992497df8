package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// PollGraph is the part of the Graph API client the poll handler uses;
// *graph.Client implements it.
type PollGraph interface {
	Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error]
	// AdsPosts lists the Page's ads posts, for a Page with ads_posts.
	AdsPosts(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error]
	// Reels lists the Page's Reels, for a Page with reels.
	Reels(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error]
	Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error]
	Conversations(ctx context.Context, token, pageID string) iter.Seq2[graph.Conversation, error]
	Comment(ctx context.Context, token, commentID string) (graph.Comment, error)
	Post(ctx context.Context, token, postID string) (graph.Post, error)
}

// PollParams configures a Poller.
type PollParams struct {
	// Graph reads feeds, comments, conversations and single items.
	Graph PollGraph
	// Ledger holds the Page pauses, the read limiter and the poll state.
	Ledger *tasks.Ledger
	// Enqueuer queues the replies.
	Enqueuer *tasks.Enqueuer
	// Pages are the configured Pages; a poll of another Page fails.
	Pages []config.Page
	// Metrics; if nil, a private set.
	Metrics *metrics.Metrics
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Now is the clock of reply windows and scan limits; if nil, time.Now.
	Now func() time.Time
	// Progress, if set, is called after each post of the feed with the report
	// so far (of the poll that runs; the call must not keep it), so a person
	// waiting on a first poll of a big Page sees it move.
	Progress func(PollReport)
	// Overlap is how far before a post's newest comment already seen the next
	// poll reads again, for comments Graph shows late or in the same second;
	// if zero, 2m.
	Overlap time.Duration
	// UnchangedAfter is how long after a post's last comment a poll must
	// have read it for the next poll to take the post, its updated_time the
	// same, for unchanged (see unchangedAfter); if zero, 1m.
	UnchangedAfter time.Duration
	// Lease is the time to live of a Page's poll lease, which the running
	// poll renews every third of it (see pollLease); if zero, 15s.
	Lease time.Duration
}

// DefaultScanPosts is how far back a poll looks at posts when a Page's
// ScanPosts is unset.
const DefaultScanPosts = 720 * time.Hour

// maxItemReadWait is the longest a webhook item waits for its Page's read
// slot while holding a worker slot; a later slot puts it back on the queue.
const maxItemReadWait = 2 * time.Second

// conversationReadInterval paces conversation reads: Meta allows about 2
// calls a second per Page there.
const conversationReadInterval = 500 * time.Millisecond

// ConversationReadLimit is the schedule ("reads:conversations") of a Page's
// conversation reads, the poll's and the API's alike: the Page's read rate,
// but never faster than Meta's about 2 a second, and no burst.
func ConversationReadLimit(page *config.Page) tasks.Limit {
	lim := LimitOf(page, 0)
	// Burst 0: the schedule's burst is calls above the rate (a burst of 1
	// let 3 reads into one second), and a 1 % margin for the clocks, as
	// the send pacing keeps.
	lim.Interval, lim.Burst = max(lim.Interval, conversationReadInterval*101/100), 0
	return lim
}

// unchangedAfter is how long after a post's updated_time the poll must have
// read it for an unchanged updated_time to prove there is nothing new
// (PollParams.UnchangedAfter's default): Graph
// times are whole seconds, so a comment could arrive in the second the post
// was read, after the read, and leave updated_time as it was. When the read
// was is the host's clock, updated_time Graph's: with 2 s, a host 2 s or more
// ahead of Graph took every post read in the second of its last comment for
// unchanged, and a comment that came later in that second waited for the next
// full read (up to 6 hours). A minute covers the drift of a host without NTP
// for months; it costs one more comment read (one page: the read stops at the
// newest comment seen, less the overlap) of a post whose last comment came
// within a minute before a poll read it, at the next poll, once.
const unchangedAfter = time.Minute

// Poller polls Pages: it walks a Page's feed and the comments of each post
// updated since the last poll, its visitor posts and conversations where the
// Page's reply_to says so, and enqueues a reply for each eligible item. It
// remembers per post the updated_time and the newest comment seen, so an
// unchanged post costs no comment call. It is an asynq.Handler for
// tasks.TypePoll and tasks.TypeWebhookItem.
type Poller struct {
	p         PollParams
	in        *intake.Intake
	pages     map[string]*config.Page
	schedules map[string]cron.Schedule // by Page id, to tell stale poll slots
	log       *slog.Logger
	m         *metrics.Metrics
	warned    warnedItems
}

// warnedItems remembers the unreadable listing items a poll said at WARN,
// so that later polls of this process say the same ones at DEBUG: an old
// post Graph lists in a shape that cannot be read stays on the feed's first
// page, and was said at WARN at every poll, every minute, for as long as it
// stayed there. It remembers the Pages' pauses a skipped poll said at INFO
// too (keys "pause", NUL, the Page's id, NUL, the pause's reason), the
// Pages whose polls met another running (keys "busy", NUL, the Page's id),
// and the Pages whose ads posts Graph refused to list (keys "ads", NUL, the
// Page's id) until a poll reads them, and the Pages whose polls found no
// comment Graph lets them answer (keys "noreply", NUL, the Page's id:
// noReplyWarn) until a poll finds one.
type warnedItems struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// maxWarnedItems bounds warnedItems: past it, it forgets them all, and each
// is said at WARN once more.
const maxWarnedItems = 10000

// seen records keys and reports whether every one was recorded before.
func (w *warnedItems) seen(keys []string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil || len(w.m)+len(keys) > maxWarnedItems {
		w.m = map[string]struct{}{}
	}
	all := true
	for _, k := range keys {
		if _, ok := w.m[k]; !ok {
			all = false
			w.m[k] = struct{}{}
		}
	}
	return all
}

// forget removes key, so that it is said at its level again.
func (w *warnedItems) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}

// NewPoller returns a Poller.
func NewPoller(p PollParams) *Poller {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Metrics == nil {
		p.Metrics = metrics.New()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Overlap <= 0 {
		p.Overlap = 2 * time.Minute
	}
	if p.UnchangedAfter <= 0 {
		p.UnchangedAfter = unchangedAfter
	}
	if p.Lease <= 0 {
		p.Lease = pollLease
	}
	pl := &Poller{p: p, pages: make(map[string]*config.Page, len(p.Pages)), log: p.Logger.With(slog.String("component", "poll")), m: p.Metrics,
		schedules: make(map[string]cron.Schedule, len(p.Pages))}
	for i := range p.Pages {
		pg := &p.Pages[i]
		pl.pages[pg.ID] = pg
		spec := pg.Schedule
		if spec == "" {
			spec = config.DefaultSchedule
		}
		if sched, err := config.PollSchedule(pg.ID, spec); err == nil {
			pl.schedules[pg.ID] = sched
		}
	}
	pl.in = &intake.Intake{Ledger: p.Ledger, Enqueuer: p.Enqueuer, Metrics: p.Metrics, Logger: p.Logger, Now: p.Now}
	return pl
}

// NewPollHandler returns the handler of poll tasks (tasks.TypePoll) and of
// the webhook's item tasks (tasks.TypeWebhookItem, routed to it by asynq's
// prefix match), for worker.Params.Poll.
func NewPollHandler(p PollParams) asynq.Handler { return NewPoller(p) }

// Intake returns the intake the poller enqueues through, for the webhook.
func (pl *Poller) Intake() *intake.Intake { return pl.in }

// ErrUnknownPage is returned for a Page that is not configured.
var ErrUnknownPage = errors.New("worker: page is not configured")

// PollReport is what one poll did.
type PollReport struct {
	PageID   string
	DryRun   bool
	Started  time.Time
	Duration time.Duration
	// Posts is the number of feed posts (and ads posts, AdsPosts) looked at (inside scan_posts, older
	// ones with fresh comments: BeyondScan, and visitors' posts inside the
	// reply window when scan_posts is shorter), CommentReads the
	// posts whose comments were read, Unchanged the posts skipped because
	// nothing changed since the last poll.
	Posts, CommentReads, Unchanged int
	// Unreadable is the number of posts whose comments Graph refused for
	// good (a permanent error, such as code 100 for a post removed since the
	// feed was read) or kept failing with a transient error: skipped, not
	// marked read, so the next poll tries again.
	Unreadable int
	// Conversations is the number of conversations looked at.
	Conversations int
	// Paused says why the poll did not run or stopped early: the Page is
	// paused, or Graph throttled it, refused its token, or (not in a dry
	// run) answered with a time to call again (graph_down) during the poll.
	Paused string
	// Busy: the poll did not run, another poll of the Page was running.
	Busy bool
	// PausedBefore: the poll did not run, the Page was paused already
	// (Paused says why).
	PausedBefore bool
	// PauseLiftedAtStart is the reason of a page_broken pause that a dry
	// run read past, because the config gives the Page another token: a
	// start with this config lifts it (Ledger.LiftStaleBrokenPause).
	PauseLiftedAtStart string
	// BeyondScan is the number of posts created before scan_posts that the
	// poll read because their updated_time says they have comments inside
	// the reply window (counted in Posts too).
	BeyondScan int
	// ReadToEnd is the number of posts whose comments were read to the end
	// of their listing because it was not newest first (Graph ranked it, or
	// did not say its order): one Graph read per 100 comments, each time the
	// post changes.
	ReadToEnd int
	// FullRead says why this poll read every post and conversation inside
	// the reply windows, whatever it remembered of them (fullReadReason);
	// empty when it read only what changed.
	FullRead string
	// AdsPosts is the number of posts looked at that the Page's ads_posts
	// listing gave and its feed did not (ads posts never published to the
	// Page), with pages[].ads_posts; counted in Posts too.
	AdsPosts int
	// AdsPostsNotRead says why a Page with ads_posts had its ads posts not
	// read by this poll: Graph refused the token the ads_posts edge (the ads
	// permissions). The feed was read and its comments answered all the
	// same; empty otherwise.
	AdsPostsNotRead string
	// Reels is the number of the Page's Reels whose comments were read,
	// with pages[].reels: those created inside scan_posts, up to MaxReels
	// (counted in CommentReads, not in Posts). ReelsInScan is how many
	// Reels created inside scan_posts the listing gave; when more than
	// MaxReels, the newest ReelsNewest were read and MaxReels - ReelsNewest
	// of the others in turn (pickReels). ReelsOverCap: the listing stopped at
	// its bound (MaxReelListPages pages) with Reels inside scan_posts still
	// coming: the older ones' comments were not read.
	Reels        int
	ReelsInScan  int
	ReelsOverCap bool
	// ReelsNotRead says why a Page with reels had its Reels, or some of
	// them, not read by this poll: Graph refused the video_reels edge, or
	// failed on it or on a Reel's comments (the next poll reads them). The
	// feed was read and its comments answered all the same; empty
	// otherwise.
	ReelsNotRead string
	intake.Report
}

// Poll polls pageID now. With dryRun it enqueues nothing and writes nothing
// to Redis: it ignores the remembered state, walks everything inside the
// reply windows, and lists the replies it would enqueue (Report.Replies).
// A paused Page is not polled (Paused says why; no error). When Graph
// throttles or refuses the token during the poll, the Page is paused (not in
// a dry run), the poll stops, and the error is returned.
func (pl *Poller) Poll(ctx context.Context, pageID string, dryRun bool) (PollReport, error) {
	rep, err := pl.poll(ctx, pageID, dryRun)
	rep.Duration = time.Since(rep.Started)
	// A poll that did not run (the Page paused, another poll of it running)
	// is no 0-second poll: observed, it would make a paused Page look like
	// one that polls quickly.
	ran := !rep.Busy && !rep.PausedBefore
	if !dryRun && !rep.Started.IsZero() && ran {
		pl.m.PollDuration.WithLabelValues(pageID).Observe(rep.Duration.Seconds())
	}
	return rep, err
}

func (pl *Poller) poll(ctx context.Context, pageID string, dryRun bool) (PollReport, error) {
	page, ok := pl.pages[pageID]
	if !ok {
		return PollReport{PageID: pageID}, fmt.Errorf("poll page %s: %w", pageID, ErrUnknownPage)
	}
	ctx = graph.WithPageID(ctx, pageID)
	r := &pollRun{pl: pl, page: page, dry: dryRun, log: pl.log.With(slog.String("page_id", pageID)),
		state: map[string]postState{}, seen: map[string]struct{}{}, failing: map[string]string{}}
	r.now = pl.p.Now()
	r.rep = PollReport{PageID: pageID, DryRun: dryRun, Started: time.Now()}
	d, reason, err := pl.p.Ledger.Paused(ctx, pageID)
	if err != nil {
		return r.rep, fmt.Errorf("poll page %s: %w", pageID, err)
	}
	if d > 0 && dryRun {
		// A dry run tries a config: a new token for a broken Page is read
		// with, as a start with this config would lift the pause.
		stale, err := pl.p.Ledger.StaleBrokenPause(ctx, pageID)
		if err != nil {
			return r.rep, fmt.Errorf("poll page %s: %w", pageID, err)
		}
		if stale != "" {
			d, r.rep.PauseLiftedAtStart = 0, stale
		}
	}
	if d > 0 {
		r.rep.Paused, r.rep.PausedBefore = reason, true
		// Said at INFO once per pause (its reason) in this process, the
		// page paused line having said why: every poll of a Page paused for
		// 30 minutes, or of every Page in an app-wide pause, is skipped alike.
		lvl := slog.LevelInfo
		if pl.warned.seen([]string{"pause\x00" + pageID + "\x00" + reason}) {
			lvl = slog.LevelDebug
		}
		r.log.Log(ctx, lvl, "poll skipped: page paused", slog.String("reason", reason), slog.Duration("for", d))
		return r.rep, nil
	}
	if !dryRun {
		// One poll of a Page at a time: a poll paced at a low rate can
		// outlast its slot, and the next slot's poll would read everything
		// again beside it, holding another worker slot.
		taken := time.Now()
		token, ok, err := pl.p.Ledger.TryLease(ctx, pageID, pollLeaseName, pl.p.Lease)
		if err != nil {
			return r.rep, fmt.Errorf("poll page %s: %w", pageID, err)
		}
		busy := "busy\x00" + pageID
		if !ok {
			r.rep.Busy = true
			// At INFO once until this process polls the Page again: a
			// poll that outlasts its interval meets every slot's poll.
			lvl := slog.LevelInfo
			if pl.warned.seen([]string{busy}) {
				lvl = slog.LevelDebug
			}
			r.log.Log(ctx, lvl, "poll skipped: another poll of the page is running")
			return r.rep, nil
		}
		pl.warned.forget(busy)
		r.lease = token
		// The poll runs under ctx canceled when its lease is lost, so
		// it stops reading; its writes check the lease themselves
		// (writeState), which no timing of the cancel can race.
		var cancelRun context.CancelCauseFunc
		ctx, cancelRun = context.WithCancelCause(ctx)
		keeper := pl.keepLease(pageID, token, taken, cancelRun, r.log)
		defer func() {
			keeper.stop()
			cancelRun(nil)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := pl.p.Ledger.ReleaseLease(rctx, pageID, pollLeaseName, token); err != nil {
				r.log.Warn("release the poll's lease; trying again until Redis answers", slog.String("error", err.Error()))
				go pl.releaseLeaseLater(pageID, token, r.log)
			}
		}()
	}
	r.batch = pl.in.NewBatch(page, tasks.SourcePoll, dryRun)
	err = r.run(ctx)
	if err != nil && errors.Is(context.Cause(ctx), ErrPollLeaseLost) && !errors.Is(err, ErrPollLeaseLost) {
		// Cut short where it was (a read slot, a Graph call) by the lost
		// lease, not by its own context.
		err = fmt.Errorf("%w (%w)", ErrPollLeaseLost, err)
	}
	if err != nil && !dryRun {
		// The replies found before the poll failed are enqueued all the
		// same; the post states are not saved, so the next poll reads those
		// posts again. Also when the poll failed because its context ended
		// (asynq's deadline, a stopping worker): what it found is queued in
		// a few seconds more rather than found again by the next poll, or
		// never when the next one is cut at the same place.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushFailedPoll)
		if ferr := r.batch.Flush(fctx); ferr != nil {
			r.log.Warn("enqueue replies of a failed poll", slog.String("error", ferr.Error()))
		}
		cancel()
	}
	r.rep.Report = *r.batch.Report()
	if err == nil {
		return r.rep, nil
	}
	var pe *tasks.PausedError
	if errors.As(err, &pe) {
		r.rep.Paused = pe.Reason
		r.log.Info("poll stopped: page paused", slog.String("reason", pe.Reason), slog.Duration("for", pe.For))
		return r.rep, nil
	}
	switch class := graph.ClassOf(err); class {
	case graph.ClassThrottled, graph.ClassPageBroken:
		// A dry run writes nothing but the pause of the Page's own
		// throttle: Graph's limit holds for the Page whoever called, and
		// the workers calling on would push it further. A broken token,
		// or the limit of an app, may be the dry run's own (a new token
		// or another app's, tried before a restart): the error says so.
		switch {
		case !dryRun:
			r.rep.Paused = class.String() + ": " + err.Error()
			pl.pauseFor(page.ID, err, r.log)
		case class == graph.ClassThrottled && !graph.AppThrottled(err):
			kind, d, _ := pauseOf(err) // not doubled: the workers' own answers do that
			r.rep.Paused = class.String() + ": " + err.Error()
			pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			pausePages(pctx, pl.p.Ledger, pl.m, []string{page.ID}, page.ID, kind, d, kind+": "+err.Error(), r.log)
			cancel()
		}
	case graph.ClassTransient:
		if waitAsked(err) && !dryRun {
			// Graph said when to call again, for the Page's calls: its
			// replies and webhook items wait until then too (a graph_down
			// pause), and the poll is tried again no sooner (retryDelay).
			// A dry run leaves the Page alone: its call may be the only
			// one a proxy in front of Graph refused. Paused says so, as
			// for a throttled poll (pagereply poll names the pause).
			r.rep.Paused = tasks.PauseGraphDown + ": " + err.Error()
			pl.pauseFor(page.ID, err, r.log)
		}
	}
	return r.rep, fmt.Errorf("poll page %s: %w", pageID, err)
}

// pauseFor pauses a Page after a throttled or page-broken Graph error, as the
// reply handler does.
func (pl *Poller) pauseFor(page string, err error, log *slog.Logger) {
	PauseForError(pl.p.Ledger, pl.m, page, err, log)
}

// postState is what a poll remembers of a post: its updated_time, the newest
// comment time seen, and when it was read (Unix seconds).
type postState struct {
	updated, newest, polled int64
}

func (s postState) String() string {
	return strconv.FormatInt(s.updated, 10) + ":" + strconv.FormatInt(s.newest, 10) + ":" + strconv.FormatInt(s.polled, 10)
}

func parsePostState(v string) (postState, bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return postState{}, false
	}
	var n [3]int64
	for i, p := range parts {
		x, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return postState{}, false
		}
		n[i] = x
	}
	return postState{updated: n[0], newest: n[1], polled: n[2]}, true
}

// pollRun is one poll of one Page.
type pollRun struct {
	pl    *Poller
	page  *config.Page
	dry   bool
	now   time.Time
	log   *slog.Logger
	batch *intake.Batch
	rep   PollReport

	state   map[string]postState // remembered, by post id
	seen    map[string]struct{}  // posts looked at this time
	dirty   []stateUpdate        // to write once their replies are enqueued
	nextDry time.Time            // dry runs pace reads locally
	lease   string               // the token of the Page's poll lease (not in dry runs)
	// fullKnown: the Page's poll state holds when its last full read began,
	// fullStart (Unix seconds, 0 when not).
	fullKnown bool
	fullStart int64
	// fullNext is the start this poll records for its full read (or a
	// Page's first poll), fullReadStart.
	fullNext int64
	// reelsIncomplete: Graph failed on the Page's Reels after their reads
	// again (reelsFailed): some were not read, and keep their state (prune).
	reelsIncomplete bool
	// reels: the ids of the Reels read, video ids (commentPostID).
	reels map[string]struct{}
	// reelsTurn is where the Reels' turns stopped (stateReelsTurnField):
	// read from the state, and the one to save once the Reels are read.
	reelsTurn, reelsTurnNext string
	// reelsRetry are the older Reels skipped at their turn by the last poll
	// (stateReelsRetryField), read first by this one; reelsRetryNext those
	// this poll skipped at their turn, to save; inTurn those it picked in
	// turn (pickReels).
	reelsRetry, reelsRetryNext []string
	inTurn                     map[string]struct{}
	// failingInRow: posts in a row skipped because their comments read kept
	// failing with a transient error, not counting those that failed so at
	// an earlier poll too (failing).
	failingInRow int
	// failing: posts whose comments read failed with a transient error at an
	// earlier poll and has not worked since (stateFailingPrefix), with when
	// it first failed (Unix seconds).
	failing map[string]string
	// recovered: posts of failing read at this poll, whose record goes with
	// the next save.
	recovered []string
	// skipped: the items Graph listed in a shape that cannot be read, by
	// endpoint and id, counted once however many times a listing read
	// again from its start (a transient error) lists them.
	skipped map[string]struct{}
	// replyable counts the comments inside the reply window that Graph
	// lets the Page answer privately; noReply holds (up to noReplyKept)
	// those it does not, for noReplyWarn.
	replyable int
	noReply   []tasks.Target
	// noID counts the comments inside the reply window that Graph listed
	// without their id, withID those it listed with theirs, and noIDPost
	// is a post of the first: for noIDWarn.
	noID, withID int
	noIDPost     string
}

// flushFailedPoll bounds the enqueue of what a failed poll had found.
const flushFailedPoll = 10 * time.Second

// releaseLeaseLater tries again, every second, to release a poll's lease
// whose release failed (Redis away, a failover under way), until it is
// released or would have run out anyway. Left held, it turns away every poll
// of the Page until it runs out (pollLease), and comments made meanwhile
// wait that long for their replies. Releasing takes only a lease that
// still holds this poll's token.
func (pl *Poller) releaseLeaseLater(pageID, token string, log *slog.Logger) {
	for end := time.Now().Add(pl.p.Lease); time.Now().Before(end); {
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := pl.p.Ledger.ReleaseLease(ctx, pageID, pollLeaseName, token)
		cancel()
		if err == nil {
			log.Info("poll's lease released once Redis answered again")
			return
		}
		if errors.Is(err, redis.ErrClosed) {
			return // the process is stopping
		}
	}
}

type stateUpdate struct {
	post string
	st   postState
}

// PollStateKeys returns the keys of what a Page's polls have read: each
// post's state (its newest comment read, failures, the last full read) and the
// newest conversation read.
func PollStateKeys(l *tasks.Ledger, page string) (posts, conversations string) {
	return l.PageKey(page, "posts"), l.PageKey(page, "conversations")
}

func (r *pollRun) postsKey() string { k, _ := PollStateKeys(r.pl.p.Ledger, r.page.ID); return k }
func (r *pollRun) convsKey() string { _, k := PollStateKeys(r.pl.p.Ledger, r.page.ID); return k }

func (r *pollRun) rdb() redis.UniversalClient { return r.pl.p.Ledger.Client() }

func (r *pollRun) run(ctx context.Context) error {
	if !r.dry {
		// With the poll state read, the Page's counters (status's SENT and
		// FAILED) are kept tasks.StatsTTL more: a configured Page's stay
		// however long it sends nothing, a removed Page's go.
		pipe := r.rdb().Pipeline()
		state := pipe.HGetAll(ctx, r.postsKey())
		r.pl.p.Ledger.KeepStats(ctx, pipe, r.page.ID)
		_, _ = pipe.Exec(ctx) // errors are read per command; the counters' TTL is kept again by the next poll
		m, err := state.Result()
		if err != nil {
			return fmt.Errorf("read poll state: %w", err)
		}
		for k, v := range m {
			if post, ok := strings.CutPrefix(k, stateFailingPrefix); ok {
				r.failing[post] = v
				continue
			}
			if strings.HasPrefix(k, "_") {
				continue
			}
			if st, ok := parsePostState(v); ok {
				r.state[k] = st
			}
		}
		r.rep.FullRead = r.fullReadReason(m)
		_, r.fullKnown = m[stateFullField]
		r.fullStart, _ = strconv.ParseInt(m[stateFullField], 10, 64)
		r.reelsTurn = m[stateReelsTurnField]
		if v := m[stateReelsRetryField]; v != "" {
			r.reelsRetry = strings.Split(v, ",")
		}
		switch {
		case r.rep.FullRead != "":
			r.log.Info("poll reads every post and conversation inside the reply window", slog.String("why", r.rep.FullRead))
		case len(m) == 0:
			// A Page's first poll reads everything too. Said once per Page
			// (the state is saved after it): after a deploy, and on every
			// Page at once when Redis lost its data (no persistence, a lost
			// volume), the only sign of that loss before the sends Graph
			// refuses as already replied.
			r.log.Info("poll reads every post and conversation inside the reply window",
				slog.String("why", "no poll state in Redis: the Page's first poll, its last more than scan_posts + 24h ago, or Redis lost its data"))
		}
	}
	r.fullNext = r.fullReadStart()
	if r.page.Replies(config.ReplyComments) || r.page.Replies(config.ReplyPosts) {
		if err := r.walkFeed(ctx); err != nil {
			if r.page.Replies(config.ReplyConversations) && ctx.Err() == nil && graphReadFailed(err) {
				// Graph failing on the feed (or on several posts in a row)
				// says nothing about the conversations, which have their
				// own listing: they are read all the same, so a feed that
				// keeps failing does not keep the Page's messages from
				// their replies. The poll still fails, its post states
				// unsaved, so the next one reads those posts again.
				if cerr := r.walkConversations(ctx); cerr != nil {
					r.log.Warn("read conversations after the feed failed", slog.String("error", cerr.Error()))
				}
			}
			return err
		}
	}
	r.noReplyWarn(ctx)
	r.noIDWarn()
	if err := r.save(ctx); err != nil {
		return err
	}
	if !r.dry {
		if err := r.prune(ctx); err != nil {
			return err
		}
		// The feed is read: its part of a full read is done, whatever
		// happens to the conversations' (walkConversations keeps theirs).
		// Recorded only at the end, a conversations read that keeps
		// failing (Meta's code 1, "reduce the amount of data") made every
		// poll read every post's comments again.
		if err := r.saveFullRead(ctx); err != nil {
			return err
		}
	}
	if r.page.Replies(config.ReplyConversations) {
		if err := r.walkConversations(ctx); err != nil {
			return err
		}
	}
	return nil
}

// A poll reads only the posts whose updated_time moved and the conversations
// updated since the last poll: what it read before was queued then. That
// misses, for as long as nothing changes on a post:
//   - comments that a changed config now answers (a new rule or default_text,
//     posts or conversations added to reply_to, a longer max_age or
//     scan_posts): they were skipped when they were read;
//   - replies whose task was lost after the poll saved its state (a Redis
//     Cluster failover of the queue's shard, whose keys live on other slots
//     than the poll's state), and replies archived after their retries ran
//     out on transient errors, which a new enqueue replaces.
//
// So a poll reads everything inside the reply windows again when the Page's
// reply settings differ from those of its last poll (their fingerprint is
// kept beside the posts' state), and at least every fullReadEvery. The ledger
// and the reply tasks' ids keep what was queued or sent from being queued
// again, so a full read costs Graph reads, never a second reply.
const (
	stateConfigField = "_config" // fingerprint of the reply settings of the last poll
	stateFullField   = "_full"   // when the last full read began (Unix seconds)
	// stateReelsTurnField is the id of the last of the older Reels read in
	// turn (see pickReels), on a Page with more than MaxReels of them.
	stateReelsTurnField = "_reels_turn"
	// stateReelsRetryField lists, comma-separated, the older Reels whose
	// comments Graph failed or refused at their turn: the next poll reads
	// them first (see pickReels).
	stateReelsRetryField = "_reels_retry"
	// stateFailingPrefix, followed by a post id, records a post whose
	// comments read kept failing with a transient error (when it first
	// failed, Unix seconds), until a read of it works: see skipUnreadable.
	stateFailingPrefix = "_failing:"
)

// fullReadEvery is how often a Page's poll reads everything inside its reply
// window: a quarter of the window (so something missed is found well
// inside it), between 10 minutes and 6 hours.
func fullReadEvery(page *config.Page) time.Duration {
	return min(max(intake.Window(page, tasks.KindComment)/4, 10*time.Minute), 6*time.Hour)
}

// replySettingsPrint is a fingerprint of what decides which comments, posts
// and conversations of page get a reply: reply_to, max_age, scan_posts, the
// rules' patterns, whether each rule and default_text has a text, and
// skip_hidden (turned off, the hidden comments skipped before are answered,
// and their posts have not changed). A new text for the same items does not
// change it: queued replies keep theirs.
func replySettingsPrint(page *config.Page) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%d|%d|%t", page.ReplyTo, page.MaxAge, page.ScanPosts, page.DefaultText != "")
	for _, rl := range page.Rules {
		fmt.Fprintf(h, "|%q:%t", rl.Match, rl.Text != "")
	}
	if page.SkipHidden {
		// Only when on: the print of a Page without it is the one earlier
		// versions kept, so an upgrade reads nothing again for it.
		fmt.Fprint(h, "|skip_hidden")
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// fullReadSkew is how far ahead of a poll's clock the last full read may be
// recorded (the clocks of the hosts polling a Page differ a little) before
// the record is taken for a clock that was wrong.
const fullReadSkew = time.Minute

// fullReadReason returns why this poll reads everything (see above), from
// the Page's stored poll state m; empty for a poll of what changed. A Page
// polled for the first time reads everything anyway.
func (r *pollRun) fullReadReason(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	if m[stateConfigField] != replySettingsPrint(r.page) {
		return "the Page's reply settings changed since its last poll"
	}
	last, err := strconv.ParseInt(m[stateFullField], 10, 64)
	since := r.now.Sub(time.Unix(last, 0))
	if every := fullReadEvery(r.page); err != nil || since >= every {
		return "the last full read was " + every.String() + " or more ago"
	}
	if since < -fullReadSkew {
		// Recorded by a poll on a host whose clock was ahead (a VM booted
		// before NTP stepped its clock): taken at its word, no full read
		// would come until that time, and nothing would find again the
		// replies the full reads are there to recover.
		return "the last full read is recorded " + (-since).Round(time.Second).String() + " ahead of this host's clock"
	}
	return ""
}

// saveFullRead records, once a poll has read its whole feed, the reply
// settings it read with and, after a full read (or a Page's first
// poll, which reads everything: no full read is on record yet), when it
// began.
func (r *pollRun) saveFullRead(ctx context.Context) error {
	w := stateWrite{set: []string{stateConfigField, replySettingsPrint(r.page)}}
	if r.rep.FullRead != "" || !r.fullKnown {
		w.set = append(w.set, stateFullField, unixString(r.fullNext))
	}
	switch {
	case r.reelsIncomplete:
		// The turn moves on only once the Reels it picked were read.
	case r.reelsTurnNext != "":
		w.set = append(w.set, stateReelsTurnField, r.reelsTurnNext)
	case r.reelsTurn != "":
		w.del = append(w.del, stateReelsTurnField)
	}
	switch {
	case r.reelsIncomplete:
	case len(r.reelsRetryNext) > 0:
		w.set = append(w.set, stateReelsRetryField, strings.Join(r.reelsRetryNext, ","))
	case len(r.reelsRetry) > 0:
		w.del = append(w.del, stateReelsRetryField)
	}
	if r.rep.FullRead != "" {
		// The conversations' part of the full read is still to come: until
		// it completes, every poll reads the whole messaging window, as
		// one with no record of conversations does. Dropped in the same
		// script, so no poll can find the full read done and the old
		// record of conversations in place.
		w.convs = "-"
	}
	return r.writeState(ctx, w)
}

// fullReadStart returns the start to record for this poll's full read: its
// clock's second, or the second after the last full read's when that is
// the same or later (less than fullReadSkew ahead), so that two full reads
// never record one start. A Reel read by a full read is recorded as read
// after that start (handleReel), and one a later full read did not read
// must be read in full: in one second, the two were told apart no more.
func (r *pollRun) fullReadStart() int64 {
	next := r.now.Unix()
	if r.fullKnown && r.fullStart >= next && r.fullStart < next+int64(fullReadSkew/time.Second) {
		next = r.fullStart + 1
	}
	return next
}

func (r *pollRun) limit() tasks.Limit { return LimitOf(r.page, 0) }

// paced returns ctx with a page gate (graph.WithPageGate) that takes a read
// slot of key before each page of a listing is fetched, and where the gate's
// last error is kept: a listing that ends with it ended on the gate (a pause,
// the context), not on Graph. Reads are paced by the page fetched, not by the
// item seen: Graph's pages can be short or empty and still have more after
// them.
func (r *pollRun) paced(ctx context.Context, key string, lim tasks.Limit) (context.Context, *error) {
	gateErr := new(error)
	ctx = graph.WithSkippedItems(ctx, r.skippedItems)
	return graph.WithPageGate(ctx, func(ctx context.Context) error {
		*gateErr = r.read(ctx, key, lim)
		return *gateErr
	}), gateErr
}

// skippedItems counts the items of a listing's page that Graph sent in a
// shape that cannot be read (the page's other items are read): seen, and
// skipped as malformed, and said at WARN with their ids and the listing's
// (the post, for comments), as a post or a comment left out is a reply that
// may be missed. An item is counted once per poll: a listing read again
// after a transient error lists it again. One whose id cannot be read is
// counted each time, as nothing tells it from another.
func (r *pollRun) skippedItems(endpoint, object string, ids []string, err error) {
	if r.skipped == nil {
		r.skipped = map[string]struct{}{}
	}
	var fresh, keys []string
	known := true // every item has an id
	for _, id := range ids {
		if id != "" {
			key := endpoint + "\x00" + id
			if _, ok := r.skipped[key]; ok {
				continue
			}
			r.skipped[key] = struct{}{}
			keys = append(keys, r.page.ID+"\x00"+key)
		} else {
			known = false
		}
		fresh = append(fresh, id)
		r.batch.Discard(intake.SkipMalformed)
	}
	if len(fresh) == 0 {
		return
	}
	attrs := []any{slog.String("endpoint", endpoint)}
	if endpoint == graph.EndpointComments {
		attrs = append(attrs, slog.String("post_id", object))
	}
	attrs = append(attrs, slog.Int("items", len(fresh)), slog.Any("ids", fresh), slog.String("error", err.Error()))
	msg := "Graph listed items that cannot be read; skipped them and read the rest"
	if r.dry || !r.pl.warned.seen(keys) || !known {
		r.log.Warn(msg, attrs...)
		return
	}
	r.log.Debug(msg+" (said at WARN by an earlier poll)", attrs...)
}

// read waits for the Page's next read slot (AwaitRead: a pause check
// answered late takes a new slot, as every reader's does). A dry run paces
// itself in process (it writes nothing to Redis) and checks the pause
// before it books.
func (r *pollRun) read(ctx context.Context, key string, lim tasks.Limit) error {
	// The Page may have been paused while this read waited for its slot
	// (Graph throttled a send, or another read): Meta lengthens a block
	// that is ignored.
	check := func(ctx context.Context) error {
		if err := checkPaused(ctx, r.pl.p.Ledger, r.page.ID); err != nil && !r.liftedPause(err) {
			return err
		}
		return nil
	}
	take := func(ctx context.Context, _ bool) (time.Duration, error) {
		// The lease is kept through the wait, however long, by the
		// poll's renewals (keepLease).
		return r.takeRead(ctx, key, lim)
	}
	if r.dry {
		take = func(ctx context.Context, _ bool) (time.Duration, error) {
			if err := check(ctx); err != nil {
				return 0, err
			}
			now, wait := time.Now(), time.Duration(0)
			if r.nextDry.After(now) {
				wait = r.nextDry.Sub(now)
			} else {
				r.nextDry = now
			}
			r.nextDry = r.nextDry.Add(lim.Interval)
			return wait, nil
		}
	}
	return AwaitRead(ctx, ReadWait{Limit: lim, Take: take, Check: check})
}

// conversationReads is the schedule of a Page's conversation reads
// (ConversationReadLimit), shared by the poll, the API, pagereply enqueue and
// the checks of waiting replies.
const conversationReads = "reads:conversations"

// pollDueWithin is how close a conversation read slot must be for the poll
// to book it (pollRun.takeRead).
const pollDueWithin = 50 * time.Millisecond

// takeRead books the poll's next read slot of key and returns the wait to
// it. On the conversation schedule the poll books no slot ahead of time: it
// waits for the schedule's next free slot and books it only once it is due
// (within pollDueWithin), so a request that must read a conversation (the
// API, pagereply enqueue, a waiting reply's check) and comes while the poll
// walks a long listing finds a slot at most one interval away, not two (a
// poll booking its next slot the moment it had read one kept the next free
// slot one to two intervals ahead for as long as it read: at a rate under
// about 12/m, past the API's 10 s, so every request was answered 503). A
// slot taken meanwhile by such a request is the poll's only once: after it
// the poll books the next free one (ahead, as before), so a stream of
// requests slows the poll to every other slot, never stops it. The poll
// renews its lease for the waits as read does.
func (r *pollRun) takeRead(ctx context.Context, key string, lim tasks.Limit) (time.Duration, error) {
	l := r.pl.p.Ledger
	if key != conversationReads || lim.Interval <= 0 {
		return l.TakeReadKey(ctx, r.page.ID, key, lim)
	}
	for try := 0; try < 2; try++ {
		wait, err := l.TakeReadWithin(ctx, r.page.ID, key, lim, pollDueWithin)
		if !errors.Is(err, tasks.ErrReadLater) {
			return wait, err
		}
		// The lease is kept through the wait by the poll's renewals
		// (keepLease).
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("waiting for a read slot: %w", ctx.Err())
		case <-t.C:
		}
	}
	// The slot the poll waited for went to another reader: book the next.
	return l.TakeReadKey(ctx, r.page.ID, key, lim)
}

// liftedPause reports whether err is the pause a dry run reads past
// (PollReport.PauseLiftedAtStart).
func (r *pollRun) liftedPause(err error) bool {
	var pe *tasks.PausedError
	return r.dry && r.rep.PauseLiftedAtStart != "" && errors.As(err, &pe) && pe.Reason == r.rep.PauseLiftedAtStart
}

// pausedPutBack turns a *tasks.PausedError into a put-back until the pause
// ends (no retry used); any other error is returned as it is.
func pausedPutBack(err error) error {
	var pe *tasks.PausedError
	if errors.As(err, &pe) {
		return &delayError{d: pe.For + spread(pe.For), reason: putBackPaused + pe.Reason}
	}
	return err
}

// checkPaused returns a *tasks.PausedError when page is paused now.
func checkPaused(ctx context.Context, l *tasks.Ledger, page string) error {
	d, reason, err := l.Paused(ctx, page)
	if err != nil {
		return err
	}
	if d > 0 {
		return &tasks.PausedError{Page: page, For: d, Reason: reason}
	}
	return nil
}

// readRetries is how many times a poll reads a listing again after a
// transient Graph error before it fails: a poll reads the feed and the
// comments of every changed post, so with Graph failing one call in ten a
// poll of a Page with 20 posts would fail nine times in ten and start over.
const readRetries = 3

// Backoff of a listing read again after a transient error.
const (
	readRetryBase = 200 * time.Millisecond
	readRetryMax  = 2 * time.Second
)

// retryRead reports whether a listing read that failed with err (its
// attempt-th try, from 0) is tried again, after waiting a backoff: only for a
// transient Graph error, readRetries times.
func (r *pollRun) retryRead(ctx context.Context, attempt int, err error) bool {
	if attempt >= readRetries || graph.ClassOf(err) != graph.ClassTransient || waitAsked(err) {
		return false
	}
	d := Backoff(attempt, readRetryBase, readRetryMax)
	r.log.Debug("poll read failed; reading again", slog.Int("attempt", attempt+1), slog.Duration("after", d),
		slog.String("error", err.Error()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// waitAsked reports whether err is a transient Graph error whose answer
// said when to call again (Retry-After, or a time to regain access in its
// usage headers): a 503 from Graph or from a proxy in front of it. It says
// so for every call of the Page, not for the one object read: the poll
// neither reads again at once nor goes on to the next post, which would
// call, several times a second, what asked to wait minutes. The poll fails
// there, and its task is tried again no sooner than asked (retryDelay).
func waitAsked(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && ge.Class == graph.ClassTransient && ge.RetryAfter > 0
}

// readError is a failed read of a Graph listing, which retryRead may try
// again, as opposed to a failure to enqueue or save, which ends the poll.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readAgain returns whether err is a failed listing read to try again (after
// waiting), and the error to return otherwise.
func (r *pollRun) readAgain(ctx context.Context, attempt int, err error) (bool, error) {
	var re *readError
	if !errors.As(err, &re) {
		return false, err
	}
	if r.retryRead(ctx, attempt, re.err) {
		return true, nil
	}
	return false, re.err
}

// walkFeed walks the Page's feed and, with ads_posts, its ads posts: the
// posts of its ads, which the feed does not list when they were never
// published to the Page. A post both list is looked at once. With reels, the
// comments of its recent Reels, which the feed leaves out, are read last
// (walkReels).
func (r *pollRun) walkFeed(ctx context.Context) error {
	// Posts handled by an earlier try of this poll, or by the feed for the
	// ads posts: a listing read again after a transient error, or a post
	// the other listing gave, is skipped.
	done := map[string]struct{}{}
	if err := r.walkPosts(ctx, graph.EndpointFeed, done); err != nil {
		return err
	}
	if r.page.AdsPosts && r.page.Replies(config.ReplyComments) {
		if err := r.walkAdsPosts(ctx, done); err != nil {
			return err
		}
	}
	if r.page.Reels && r.page.Replies(config.ReplyComments) {
		return r.walkReels(ctx, done)
	}
	return nil
}

// walkPosts walks one listing of the Page's posts (graph.EndpointFeed or
// graph.EndpointAdsPosts), reading it again after a transient error.
func (r *pollRun) walkPosts(ctx context.Context, endpoint string, done map[string]struct{}) error {
	for attempt := 0; ; attempt++ {
		err := r.walkFeedOnce(ctx, endpoint, done)
		if err == nil {
			return nil
		}
		if again, err := r.readAgain(ctx, attempt, err); !again {
			return err
		}
	}
}

// walkAdsPosts walks the Page's ads posts after its feed. Graph refusing the
// token that edge (graph.AdsPermissionRefused: the ads permissions, the
// ADVERTISE task, or the app's Marketing API access, missing) neither fails
// the poll nor pauses the Page: its feed was read and its comments are
// answered; the poll's report says the ads posts were not read and why,
// pagereply_skipped_total counts it (reason ads_posts_refused), and a WARN
// says it once per process until a poll reads them. Any other error is the poll's, as the feed's would be: a
// throttle pauses the Page.
func (r *pollRun) walkAdsPosts(ctx context.Context, done map[string]struct{}) error {
	key := "ads\x00" + r.page.ID
	err := r.walkPosts(ctx, graph.EndpointAdsPosts, done)
	if err == nil {
		r.pl.warned.forget(key)
		return nil
	}
	if ctx.Err() != nil || !graph.AdsPermissionRefused(err) {
		return err
	}
	r.rep.AdsPostsNotRead = "Graph refused the Page's token its ads posts (ads_posts needs pages_manage_ads, pages_show_list and ads_management, " +
		"the ADVERTISE task on the Page, and the app access to the Marketing API): " + err.Error()
	r.sayRefused(key, SkipAdsPostsRefused, "ads posts not read: "+r.rep.AdsPostsNotRead+"; the feed's comments are answered, ads-only posts' comments only through the webhook")
	return nil
}

// sayRefused counts a poll whose opt-in listing (ads posts, Reels) Graph
// refused, in pagereply_skipped_total with reason, and says msg at WARN once
// per process until a poll reads the listing again (key), at debug between.
func (r *pollRun) sayRefused(key, reason, msg string) {
	r.pl.m.PollSkipped.WithLabelValues(r.page.ID, reason).Inc()
	r.warnOnce(key, msg)
}

// warnOnce says msg with attrs at WARN the first time this process meets
// key (and on every dry run), at debug after, noting the earlier WARN: a
// Page's standing problem is said once, not at every poll.
func (r *pollRun) warnOnce(key, msg string, attrs ...any) {
	if r.dry || !r.pl.warned.seen([]string{key}) {
		r.log.Warn(msg, attrs...)
	} else {
		r.log.Debug(msg+" (said at WARN by an earlier poll)", attrs...)
	}
}

// MaxReels is how many of a Page's Reels (pages[].reels) created inside
// scan_posts a poll reads the comments of: each costs at least one Graph
// read every time (see walkReels). ReelsNewest of them are the newest; the
// others take turns among the older ones (pickReels).
const (
	MaxReels    = 50
	ReelsNewest = 25
)

// MaxReelListPages bounds the pages of video_reels a poll reads (up to 100
// Reels each): the listing is read until quietBeyondScan Reels in a row were
// created before scan_posts, or this many pages.
const MaxReelListPages = 10

// errReelListPages ends a Reels listing at MaxReelListPages.
var errReelListPages = errors.New("the Reels listing's page bound")

// walkReels lists the Page's Reels (GET /{page-id}/video_reels), which its
// feed leaves out, after its feed, and reads the comments of those created
// inside scan_posts, MaxReels of them at most (pickReels), as a post's
// comments are read (newest first, down to the newest comment the last poll
// saw, less the overlap, or the reply window). Each of them whenever picked,
// whatever its updated_time: Meta documents a Video's as "The last time the
// video or its caption was updated" and does not say a comment moves it, as
// it does a post's. The listing is taken for newest first, as the feed is: it
// ends after quietBeyondScan Reels in a row created before scan_posts, or
// after MaxReelListPages pages.
//
// Graph refusing the edge (graph.ReelsRefused: code 10, 200–299, or 100,
// as its reference says reading it is refused) neither fails the poll nor
// pauses the Page: its feed was read and its comments are answered; the
// poll's report says the Reels were not read and why,
// pagereply_skipped_total counts it (reason reels_refused), and a WARN says
// it once per process until a poll reads them. Graph failing on them (the
// listing or a Reel's comments, after their reads again: 5xx, a timeout, an
// answer that cannot be read) does not fail the poll either (reelsFailed):
// the Reels read before the failure keep their replies and state, the
// others are read by the next poll. A throttle, a broken token or a pause
// still stop the poll, as the feed's would: they are the Page's.
func (r *pollRun) walkReels(ctx context.Context, done map[string]struct{}) error {
	key := "reels\x00" + r.page.ID
	reels, err := r.listReels(ctx)
	if err != nil {
		if ctx.Err() != nil || !graph.ReelsRefused(err) && !graphReadFailed(err) {
			return err
		}
		if graph.ReelsRefused(err) {
			r.rep.ReelsNotRead = "Graph refused the Page's token its Reels (GET /{page-id}/video_reels, whose reference says it cannot be read): " + err.Error()
			r.sayRefused(key, SkipReelsRefused, "reels not read: "+r.rep.ReelsNotRead+"; the feed's comments are answered, Reels' comments only through the webhook")
			return nil
		}
		// A listing that failed part-way: the Reels it gave are read.
	}
	commentsFrom := r.now.Add(-intake.Window(r.page, tasks.KindComment))
	reels = r.pickReels(reels)
	read := 0
	for _, reel := range reels {
		if _, ok := done[reel.ID]; ok {
			read++
			continue
		}
		unreadable := r.rep.Unreadable
		if herr := r.handleReel(ctx, reel, commentsFrom); herr != nil {
			if ctx.Err() != nil || !graphReadFailed(herr) {
				return herr
			}
			err = fmt.Errorf("comments of Reel %s: %w", reel.ID, herr)
			break
		}
		if _, ok := r.inTurn[reel.ID]; ok && r.rep.Unreadable > unreadable {
			// Skipped at its turn: read again by the next poll, not
			// after the others' turns.
			r.reelsRetryNext = append(r.reelsRetryNext, reel.ID)
		}
		done[reel.ID] = struct{}{}
		read++
	}
	if err == nil {
		r.pl.warned.forget(key)
		r.pl.warned.forget(key + "\x00failed")
		return nil
	}
	r.reelsFailed(key+"\x00failed", err, read)
	return nil
}

// reelsFailed records a poll whose Reels Graph failed on (walkReels) after
// read of them were read: the report says so and why, the state of the Reels
// not read is kept (see prune: the next poll reads each from where its last
// read ended, or in full when a full read began since), pagereply_skipped_total
// counts the poll (reason reels_failed), and a WARN says it once per process
// until a poll reads them all.
func (r *pollRun) reelsFailed(key string, err error, read int) {
	r.reelsIncomplete = true
	r.rep.ReelsNotRead = "reading the Page's Reels failed after " + strconv.Itoa(read) + " of them were read (GET /{page-id}/video_reels and their comments): " +
		err.Error() + "; the next poll reads the others"
	r.sayRefused(key, SkipReelsFailed, "reels not read: "+r.rep.ReelsNotRead+"; the feed's comments are answered")
}

// listReels lists the Page's Reels created inside scan_posts, newest first,
// up to MaxReelListPages pages of the listing (ReelsOverCap when it stopped
// there with Reels inside scan_posts still coming), reading the listing
// again after a transient error. A listing that still fails returns the
// Reels its last try gave before the failure, with the error.
func (r *pollRun) listReels(ctx context.Context) ([]graph.Post, error) {
	for attempt := 0; ; attempt++ {
		reels, err := r.listReelsOnce(ctx)
		if err == nil {
			return reels, nil
		}
		if again, err := r.readAgain(ctx, attempt, err); !again {
			return reels, err
		}
	}
}

func (r *pollRun) listReelsOnce(ctx context.Context) ([]graph.Post, error) {
	scan := r.page.ScanPosts
	if scan <= 0 {
		scan = DefaultScanPosts
	}
	scanFrom := r.now.Add(-scan)
	r.rep.ReelsOverCap, r.rep.ReelsInScan = false, 0
	var reels []graph.Post
	gctx, gateErr := r.paced(ctx, "reads", r.limit())
	pages := 0
	gctx = graph.WithPageGate(gctx, func(ctx context.Context) error {
		if pages++; pages > MaxReelListPages {
			*gateErr = errReelListPages
			return *gateErr
		}
		*gateErr = r.read(ctx, "reads", r.limit())
		return *gateErr
	})
	quiet := 0 // Reels created before scan_posts in a row
	for reel, err := range r.pl.p.Graph.Reels(gctx, r.page.AccessToken, r.page.ID) {
		if err != nil {
			if errors.Is(*gateErr, errReelListPages) {
				r.rep.ReelsOverCap = quiet == 0
				break
			}
			if *gateErr != nil {
				return nil, *gateErr
			}
			return reels, &readError{fmt.Errorf("list Reels: %w", err)}
		}
		if reel.CreatedTime.Before(scanFrom) {
			if quiet++; quiet >= quietBeyondScan {
				break
			}
			continue
		}
		quiet = 0
		reels = append(reels, reel)
	}
	r.rep.ReelsInScan = len(reels)
	return reels, nil
}

// pickReels returns the Reels of listed (created inside scan_posts, newest
// first) whose comments this poll reads: all of them up to MaxReels; past
// that, the ReelsNewest newest, where most comments come, and MaxReels -
// ReelsNewest of the older ones: first those the last poll skipped at their
// turn (reelsRetry: Graph failed or refused their comments), still listed
// among the older ones, then others in turn, from the one after the last
// read in turn (reelsTurn) on, back to the first older one past the oldest:
// each is read every ceil((len(listed) - ReelsNewest) / (MaxReels -
// ReelsNewest)) polls, from the newest comment its last read saw. A Reel
// skipped at its turn is so read again by the next poll, as a post is, not
// that many polls later; skipped again there, it waits for its turn, so
// that Reels Graph keeps refusing do not hold the others' turns. Every listed
// Reel counts as seen, so that those not read keep their state.
func (r *pollRun) pickReels(listed []graph.Post) []graph.Post {
	for _, reel := range listed {
		r.seen[reel.ID] = struct{}{}
	}
	r.reelsTurnNext, r.reelsRetryNext, r.inTurn = "", nil, nil
	if len(listed) <= MaxReels {
		return listed
	}
	older := listed[ReelsNewest:]
	picked := append(make([]graph.Post, 0, MaxReels), listed[:ReelsNewest]...)
	retry := map[string]struct{}{}
	for _, id := range r.reelsRetry {
		retry[id] = struct{}{}
	}
	from := 0
	for i, reel := range older {
		if _, ok := retry[reel.ID]; ok && len(picked) < MaxReels {
			picked = append(picked, reel)
		}
		if reel.ID == r.reelsTurn {
			from = (i + 1) % len(older)
		}
	}
	r.reelsTurnNext = r.reelsTurn
	r.inTurn = map[string]struct{}{}
	for i := 0; i < len(older) && len(picked) < MaxReels; i++ {
		reel := older[(from+i)%len(older)]
		if _, ok := retry[reel.ID]; ok {
			continue
		}
		picked = append(picked, reel)
		r.inTurn[reel.ID] = struct{}{}
		r.reelsTurnNext = reel.ID
	}
	return picked
}

// handleReel reads the comments of one of the Page's Reels, every poll (see
// walkReels), as walkComments reads a post's.
func (r *pollRun) handleReel(ctx context.Context, reel graph.Post, commentsFrom time.Time) error {
	r.rep.Reels++
	if r.reels == nil {
		r.reels = map[string]struct{}{}
	}
	r.reels[reel.ID] = struct{}{}
	r.seen[reel.ID] = struct{}{}
	st, known := r.state[reel.ID]
	var floor int64
	switch {
	case r.rep.FullRead != "" || !r.fullKnown:
		// A full read (or a Page's first poll, which reads everything),
		// whose start this poll records as the last full read's: the
		// Reel is read as a full read reads it.
		st, known = postState{}, false
		floor = r.fullNext + 1
	case known && st.polled <= r.fullStart:
		// A full read began since the Reel was last read (or in the
		// same second: Unix seconds), whose Reels were not all read.
		st, known = postState{}, false
		floor = r.fullStart + 1
	}
	// Read as the full read reads it, the Reel is recorded as read after
	// that full read began, even within the second it began: recorded in
	// that second, the next poll took it for one read before and read it
	// back to the reply window once more.
	if err := r.walkComments(ctx, reel, st, known, commentsFrom, floor); err != nil {
		return err
	}
	if r.pl.p.Progress != nil {
		r.pl.p.Progress(r.rep)
	}
	if len(r.dirty) >= intake.BatchSize {
		return r.save(ctx)
	}
	return nil
}

// commentPostID returns the post id a comment read from post's comments
// edge is given as (intake.Item.PostID, a reply text's {{.PostID}}): post's
// own id, but for a Reel listed by its video id (no "_"), the Page's id and
// the comment id's first part, "<page-id>_<object-id>": the form of every
// other post id, and the one the webhook's item takes from a delivery
// (Meta's post_id is "<page-id>_<post-id>", and a comment id
// "<object-id>_<comment-id>"; an item without post_id is given the same).
// A Reel's comments found by the poll and delivered by the webhook so give
// one {{.PostID}}, as long as Meta names the Reel's post in post_id by the
// object its comment ids name, as it does a post's (Meta does not document
// post_id for a Reel).
func (r *pollRun) commentPostID(post, comment string) string {
	if _, ok := r.reels[post]; !ok || strings.Contains(post, "_") {
		return post
	}
	if obj, _, ok := strings.Cut(comment, "_"); ok && obj != "" {
		return r.page.ID + "_" + obj
	}
	return r.page.ID + "_" + post
}

// noReplyMin is how many comments inside the reply window, none of them
// answered by pagereply before, a poll must find Graph letting the Page
// answer none of, and none it lets it answer, to say so at WARN
// (noReplyWarn); noReplyKept is how many of them a poll keeps to look up
// in the ledger.
const (
	noReplyMin  = 10
	noReplyKept = 100
)

// noteReplyable counts a comment the poll read (walkCommentsOnce reads only
// those inside the reply window) for noReplyWarn: one the Page did not write
// (nor hid, on a Page with skip_hidden) is replyable or not by Graph's
// can_reply_privately.
func (r *pollRun) noteReplyable(it intake.Item) {
	if it.From.ID == r.page.ID || it.Hidden && r.page.SkipHidden {
		return
	}
	switch {
	case it.CanReplyPrivately:
		r.replyable++
	case len(r.noReply) < noReplyKept:
		r.noReply = append(r.noReply, it.Target)
	}
}

// noReplyWarn says at WARN, once per Page in this process, a poll that read
// at least noReplyMin comments inside the reply window and found Graph
// letting the Page answer none of them privately (each counted cannot_reply):
// Graph gives no error for a Page that cannot send private replies at all
// (a token without pages_messaging, messaging off for the Page, an
// unpublished Page, an app in development mode): it lists every comment
// with can_reply_privately false, so such a Page answers nobody without
// another sign. Comments the ledger has a reply for are left
// out, so that a Page whose comments are all answered is not taken for one.
// A poll that finds a comment it may answer forgets it, so it is said again
// if it comes back.
func (r *pollRun) noReplyWarn(ctx context.Context) {
	key := "noreply\x00" + r.page.ID
	if r.replyable > 0 {
		r.pl.warned.forget(key)
		return
	}
	if len(r.noReply) < noReplyMin {
		return
	}
	entries, err := r.pl.p.Ledger.GetMany(ctx, r.page.ID, r.noReply)
	if err != nil {
		r.log.Debug("read the ledger for comments that cannot be answered privately", slog.String("error", err.Error()))
		return
	}
	n := 0
	for _, e := range entries {
		if e.Status == tasks.StatusNone {
			n++
		}
	}
	if n < noReplyMin {
		return
	}
	attrs := []any{slog.Int("comments", n),
		slog.String("hint", "Graph lists every comment so when the Page cannot send private replies: check that the Page's access_token has pages_messaging (from a person with the MESSAGING task on the Page), "+
			"that messaging is on for the Page in Meta Business Suite, that the Page is published, and that the app is live "+
			"(in development mode only people with a role on the app can be answered)")}
	r.warnOnce(key, "no comment can be answered privately: can_reply_privately is false for every comment inside the reply window", attrs...)
}

// noIDWarn says at WARN, once per Page in this process, a poll that read
// comments inside the reply window that Graph listed without their id
// (each counted malformed): Meta's comments reference says Graph leaves the
// id out of a Page post's comments for a token of someone who cannot
// perform the MODERATE task on the Page ("To access the comment IDs for a
// Page post you must be able to perform the MODERATE task on the Page being
// queried", https://developers.facebook.com/docs/graph-api/reference/object/comments/).
// A private reply needs the comment's id, so such a Page answers none of
// the comments its polls find, and nothing else says why. A poll that
// lists comments with their ids and none without forgets it, so it is said
// again if it comes back.
func (r *pollRun) noIDWarn() {
	key := "noid\x00" + r.page.ID
	if r.noID == 0 {
		if r.withID > 0 {
			r.pl.warned.forget(key)
		}
		return
	}
	attrs := []any{slog.Int("comments", r.noID), slog.String("post_id", r.noIDPost),
		slog.String("hint", "Graph leaves the id out of a Page post's comments when the access_token's person cannot perform the MODERATE task on the Page: "+
			"give the Page an access_token of someone who can moderate it (the comments read so are read again by the next full read, inside their reply window)")}
	r.warnOnce(key, "comments listed without their id cannot be answered", attrs...)
}

// SkipAdsPostsRefused is the reason label of pagereply_skipped_total for a
// poll whose Page's ads posts Graph refused to list (walkAdsPosts): one per
// such poll.
const SkipAdsPostsRefused = "ads_posts_refused"

// SkipReelsRefused is the reason label of pagereply_skipped_total for a poll
// whose Page's Reels Graph refused to list (walkReels): one per such poll.
const SkipReelsRefused = "reels_refused"

// SkipReelsFailed is the reason label of pagereply_skipped_total for a poll
// whose Page's Reels, or some of them, Graph failed to give (a 5xx, a
// timeout, an answer that cannot be read, after the reads again) and the
// next poll reads (reelsFailed): one per such poll.
const SkipReelsFailed = "reels_failed"

// quietBeyondScan is how many posts in a row created before scan_posts, with
// no comment inside the reply window, end a walk of the feed.
const quietBeyondScan = 25

// walkFeedOnce walks one listing of the Page's posts once: its feed, or
// (endpoint graph.EndpointAdsPosts) its ads posts, the Page's own, which are
// read for their comments alone.
func (r *pollRun) walkFeedOnce(ctx context.Context, endpoint string, done map[string]struct{}) error {
	scan := r.page.ScanPosts
	if scan <= 0 {
		scan = DefaultScanPosts
	}
	scanFrom := r.now.Add(-scan)
	commentsFrom := r.now.Add(-intake.Window(r.page, tasks.KindComment))
	// A visitor's post is a target itself for as long as it is inside its
	// reply window, which a shorter scan_posts does not reach.
	postsFrom := r.now.Add(-max(scan, intake.Window(r.page, tasks.KindPost)))
	comments, posts := r.page.Replies(config.ReplyComments), r.page.Replies(config.ReplyPosts)
	list, ads := r.pl.p.Graph.Feed, endpoint == graph.EndpointAdsPosts
	if ads {
		// The Page's own posts: no visitor's post is among them.
		list, posts = r.pl.p.Graph.AdsPosts, false
	}
	gctx, gateErr := r.paced(ctx, "reads", r.limit())
	quiet := 0 // quiet posts beyond scan_posts in a row
	for post, err := range list(gctx, r.page.AccessToken, r.page.ID) {
		if err != nil {
			if *gateErr != nil {
				return *gateErr
			}
			return &readError{err}
		}
		// The feed lists posts newest first, by creation as Pages' feeds
		// do (by last activity as some feeds do: the rule below holds for
		// both). A post created before scan_posts is read all the same when
		// its updated_time, which moves with every comment, says it has
		// comments inside the reply window. The walk goes on past quiet
		// ones and stops after quietBeyondScan of them in a row: an old
		// post with a fresh comment listed after a quiet one (or after an
		// old post pinned out of order) is still read, for at most one
		// more page of the feed. A visitor's post inside its reply window
		// is looked at wherever scan_posts ends, for itself.
		beyond := post.CreatedTime.Before(scanFrom)
		fresh := comments && !post.UpdatedTime.Before(commentsFrom) // may have comments inside the reply window
		target := posts && byVisitor(r.page.ID, post) && !post.CreatedTime.Before(postsFrom)
		if beyond && !fresh && !target {
			if posts && (r.rep.FullRead != "" || !r.fullKnown) && !post.CreatedTime.Before(postsFrom) {
				// A full read (or a Page's first poll, which reads
				// everything) goes on to the end of visitors' posts' reply
				// window, past any run of the Page's own quiet posts: an old
				// visitor's post behind them (a first poll, a long pause)
				// would otherwise never be looked at. Feed pages only, no
				// comment read; the polls between full reads stop as
				// before, as a new visitor's post comes first in the feed.
				continue
			}
			if quiet++; quiet >= quietBeyondScan {
				break
			}
			continue
		}
		quiet = 0
		if !intake.OnPage(r.page.ID, post) {
			// A post elsewhere that tags the Page: neither it nor its
			// comments are the Page's to answer, and its comments are not
			// read.
			r.batch.Discard(intake.SkipNotOnPage)
			continue
		}
		if _, ok := done[post.ID]; !ok {
			// A post beyond scan_posts that is no target itself is here
			// for its comments only; a visitor's post there whose
			// comments are not read costs no Graph call.
			if err := r.handlePost(ctx, post, comments, target, commentsFrom); err != nil {
				return err
			}
			done[post.ID] = struct{}{}
			if beyond && fresh {
				r.rep.BeyondScan++
			}
			if ads {
				r.rep.AdsPosts++
			}
		}
	}
	return nil
}

// handlePost looks at one post of the feed: the post itself when it is a
// visitor's, and its comments unless nothing changed since the last poll.
func (r *pollRun) handlePost(ctx context.Context, post graph.Post, comments, posts bool, commentsFrom time.Time) error {
	r.rep.Posts++
	r.seen[post.ID] = struct{}{}
	st, known := r.state[post.ID]
	if r.rep.FullRead != "" {
		st, known = postState{}, false
	}
	if posts && byVisitor(r.page.ID, post) && !known {
		if _, err := r.batch.Add(ctx, intake.PostItem(post)); err != nil {
			return err
		}
	}
	updated := post.UpdatedTime.Unix()
	switch {
	case known && st.updated == updated && st.polled >= updated+int64(r.pl.p.UnchangedAfter/time.Second):
		r.rep.Unchanged++
	case !comments || post.UpdatedTime.Before(commentsFrom):
		// No comment of it is inside the reply window.
		r.rep.Unchanged++
		r.mark(post.ID, postState{updated: updated, newest: st.newest, polled: time.Now().Unix()})
	default:
		if err := r.walkComments(ctx, post, st, known, commentsFrom, 0); err != nil {
			return err
		}
	}
	if r.pl.p.Progress != nil {
		r.pl.p.Progress(r.rep)
	}
	if len(r.dirty) >= intake.BatchSize {
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	return nil
}

// byVisitor reports whether post, on the Page pageID's feed, is a visitor's.
// A post without from is a visitor's whose privacy hides them: the Page's
// own posts always name it. Graph's can_reply_privately still decides.
func byVisitor(pageID string, post graph.Post) bool {
	return post.From == nil || post.From.ID != pageID
}

// walkComments reads post's comments from the newest one st saw (less the
// overlap; all inside the reply window from, unless known) and records the
// post read, at polled floor at least (a Reel read as a full read reads it:
// handleReel).
func (r *pollRun) walkComments(ctx context.Context, post graph.Post, st postState, known bool, from time.Time, floor int64) error {
	stop := from
	if known && st.newest > 0 {
		if s := time.Unix(st.newest, 0).Add(-r.pl.p.Overlap); s.After(stop) {
			stop = s
		}
	}
	polled := max(time.Now().Unix(), floor)
	r.rep.CommentReads++
	newest := st.newest
	// Comments added by an earlier try: a listing read again after a
	// transient error skips them. Those Graph lists without their id are
	// told apart by their place in the listing only: noIDs counts the ones
	// an earlier try counted.
	added := map[string]struct{}{}
	noIDs := 0
	first := 0
	failingSince, failing := r.failing[post.ID]
	if failing {
		// Its reads kept failing at an earlier poll: one read tells
		// whether it works again, without the retries' calls and waits.
		first = readRetries
	}
	for attempt := first; ; attempt++ {
		err := r.walkCommentsOnce(ctx, post, stop, from, &newest, added, &noIDs)
		if err == nil {
			break
		}
		// A transient error fails the post's read, not the poll, as long as
		// reading it again helps; the post is not marked read until then.
		again, rerr := r.readAgain(ctx, attempt, err)
		if again {
			continue
		}
		var re *readError
		if !errors.As(err, &re) || ctx.Err() != nil {
			return rerr
		}
		if graph.ClassOf(rerr) == graph.ClassTransient && !waitAsked(rerr) {
			if err := r.noteFailing(ctx, post.ID, failing); err != nil {
				return err
			}
		}
		if r.skipUnreadable(post.ID, rerr) {
			// One post whose comments Graph refuses for good, or keeps
			// failing (code 1 or 2 on one object, read after read), must
			// not stop the poll of the Page's other posts and
			// conversations, slot after slot: it is skipped and not marked
			// read, so the next poll tries it again. Throttling and a
			// broken token still stop the poll: they are the Page's, not
			// the post's; so do transient failures of several posts in a
			// row: Graph is failing, not one post.
			r.rep.Unreadable++
			attrs := []any{slog.String("post_id", post.ID), slog.String("error", rerr.Error())}
			if n, err := strconv.ParseInt(failingSince, 10, 64); failing && err == nil {
				attrs = append(attrs, slog.Time("failing_since", time.Unix(n, 0).UTC()))
			}
			r.log.Warn("comments of a post cannot be read; post skipped", attrs...)
			return nil
		}
		return rerr
	}
	r.failingInRow = 0
	if _, reel := r.reels[post.ID]; !reel && listingBehind(post, newest, r.now) {
		// Read again at the next poll, as one read before its last comment
		// settled (see listingLag). Not a Reel: it is read whenever picked,
		// whatever its updated_time, and its polled says whether it was
		// read since the last full read began (handleReel): lowered, it
		// had the Reel read back to the reply window every poll for up to
		// listingLag after a full read.
		polled = min(polled, post.UpdatedTime.Unix())
	}
	r.mark(post.ID, postState{updated: post.UpdatedTime.Unix(), newest: newest, polled: polled})
	return nil
}

// listingLag is how long after a post's updated_time the poll reads the post
// again at each poll while its comments listing shows no comment as new as
// that updated_time. Graph's listings are eventually consistent: a post's
// updated_time can count a comment (and the webhook announce it) that the
// listing shows only a while later, with its own created_time. Taken for
// read, the post's unmoved updated_time made every later poll skip it, and
// the comment waited for the next full read: up to 6 hours with the default
// window, and past its window (never answered) with a max_age of under about
// 40 minutes, whose full reads come every 10. The same re-reads follow an
// updated_time that no listed comment explains for other reasons (a post
// edited, a comment hidden or deleted): one comment read a poll, for
// listingLag, each time.
const listingLag = 15 * time.Minute

// listingBehind reports whether post's updated_time says it had a comment
// later than newest (Unix seconds), the newest comment its listing showed,
// and is recent enough (listingLag before now) for the listing to be
// lagging behind it. A post never commented on or edited has its
// created_time for updated_time, and nothing to wait for.
func listingBehind(post graph.Post, newest int64, now time.Time) bool {
	updated := post.UpdatedTime.Unix()
	return post.UpdatedTime.After(post.CreatedTime.Time) && newest < updated && now.Before(post.UpdatedTime.Add(listingLag))
}

// graphReadFailed reports whether err is a Graph read's transient or
// permanent failure, which concerns what was read, not the whole Page
// (throttling and a broken token do) nor Redis.
func graphReadFailed(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && (ge.Class == graph.ClassTransient || ge.Class == graph.ClassPermanent) && !waitAsked(err)
}

// maxFailingInRow is how many posts in a row whose comments fail with a
// transient error, after their retries, a poll skips; the next one fails the
// poll (Graph is failing, not one post). Posts that failed so at an earlier
// poll too are skipped without counting (skipUnreadable).
const maxFailingInRow = 2

// skipUnreadable reports whether a post whose comments read ended in err is
// skipped rather than failing the poll: a permanent Graph error, or a
// transient one of a post whose reads failed at an earlier poll too, or of
// another post while fewer than maxFailingInRow posts before it failed so.
//
// A post whose reads failed at the last poll and fail again is one that
// Graph cannot read (a live video, a post with a broken attachment), not
// Graph failing: counted in the row, three such posts at the top of the feed
// failed every poll at the same place, and the older posts' new comments
// were never read. They neither count nor end the row: a Graph that fails
// every read still fails the poll at the third post it had not seen failing
// (the feed's own read fails first, most often).
func (r *pollRun) skipUnreadable(post string, err error) bool {
	if waitAsked(err) {
		return false
	}
	switch graph.ClassOf(err) {
	case graph.ClassPermanent:
		return true
	case graph.ClassTransient:
		if _, ok := r.failing[post]; ok {
			return true
		}
		if r.failingInRow < maxFailingInRow {
			r.failingInRow++
			return true
		}
	}
	return false
}

// noteFailing records that post's comments read failed with a transient
// error after its retries (failing: it was recorded so already), at once:
// the poll may fail at this very post, and the next one must know the post
// failed before. In a full read it also forgets the post's state, so the read
// that works again reads the post as the full read would have.
func (r *pollRun) noteFailing(ctx context.Context, post string, failing bool) error {
	_, known := r.state[post]
	drop := r.rep.FullRead != "" && known
	if r.dry || failing && !drop {
		return nil
	}
	var w stateWrite
	if !failing {
		w.set = []string{stateFailingPrefix + post, unixString(r.now.Unix())}
	}
	if drop {
		w.del = []string{post}
	}
	return r.writeState(ctx, w)
}

// walkCommentsOnce reads a post's comments and queues those newer than stop.
// The walk stops at the first comment at or before stop only while the
// listing is newest first: Graph lists the comments of a post that "can be
// ranked" ranked, whatever order was asked for, so an old comment can come
// before new ones. Such a listing, or one whose summary does not say its
// order, or one that turns out not to be newest first, is read to its end,
// and every comment of it inside the reply window (after from) goes to the
// batch, not only those after stop: a ranked listing's order moves between
// the pages of one walk (a comment gets a reply and climbs), so a comment
// can be passed over by the walk that should have seen it, and the next walk
// must not take it for one seen already. The batch's ledger check keeps the
// ones queued or sent before from being queued again.
//
// Comments listed without their id are counted once however often the
// listing is read again (noIDs, as added keeps the others): a read counts
// only those past the number an earlier read counted.
func (r *pollRun) walkCommentsOnce(ctx context.Context, post graph.Post, stop, from time.Time, newest *int64, added map[string]struct{}, noIDs *int) error {
	gctx, gateErr := r.paced(ctx, "reads", r.limit())
	if r.page.SkipHidden {
		// is_hidden too, for the comments the Page hid; without the key
		// the request is SPEC's, field for field.
		gctx = graph.WithHidden(gctx)
	}
	newestFirst := true
	var prev graph.Time
	noID := 0 // comments without their id in this read
	// When the read began, taken before Graph's listing is asked for (a
	// comment it lists shown was shown then, or later): the time of the
	// unhide a comment listed shown that holds the webhook's hide mark
	// stands for (intake.Item.ShownAt). The host's clock, as Meta's
	// created_time of the hides it is weighed against.
	readAt := time.Now()
	for c, err := range r.pl.p.Graph.Comments(gctx, r.page.AccessToken, post.ID) {
		if err != nil {
			if *gateErr != nil {
				return *gateErr
			}
			return &readError{err}
		}
		if c.ListOrder != graph.OrderReverseChronological || c.CreatedTime.After(prev.Time) && !prev.IsZero() {
			newestFirst = false
		}
		prev = c.CreatedTime
		if newestFirst && !c.CreatedTime.After(stop) {
			break // everything from here on is older
		}
		if !c.CreatedTime.After(from) {
			continue
		}
		*newest = max(*newest, c.CreatedTime.Unix())
		if c.ID == "" {
			// Nothing can answer a comment Graph does not name: it is
			// counted, and noIDWarn says why Graph leaves ids out. Taken
			// into the batch, each such comment was one malformed reply
			// logged without a cause, and the post's other ones, all with
			// the same empty id, were not even counted. A read again
			// after a transient error counts only those past the
			// earlier reads' (they had been counted once per read).
			if noID++; noID <= *noIDs {
				continue
			}
			*noIDs = noID
			r.noID++
			if r.noIDPost == "" {
				r.noIDPost = post.ID
			}
			r.batch.Discard(intake.SkipMalformed)
			continue
		}
		r.withID++
		if _, ok := added[c.ID]; !ok {
			it := intake.CommentItem(r.commentPostID(post.ID, c.ID), c)
			if r.page.SkipHidden && !c.IsHidden {
				it.ShownAt = readAt
			}
			r.noteReplyable(it)
			if _, err := r.batch.Add(ctx, it); err != nil {
				return err
			}
			added[c.ID] = struct{}{}
		}
	}
	if !newestFirst {
		r.rep.ReadToEnd++
	}
	return nil
}

// mark queues a post's new state; save writes it once the replies found so
// far are enqueued, so a poll that fails half-way reads the post again.
func (r *pollRun) mark(post string, st postState) {
	if !r.dry {
		r.dirty = append(r.dirty, stateUpdate{post: post, st: st})
		if _, ok := r.failing[post]; ok {
			r.recovered = append(r.recovered, post)
		}
	}
}

// stateTTL keeps a Page's poll state past the posts it describes.
func (r *pollRun) stateTTL() time.Duration {
	scan := r.page.ScanPosts
	if scan <= 0 {
		scan = DefaultScanPosts
	}
	return scan + 24*time.Hour
}

// save enqueues the pending replies, then writes the queued post states.
func (r *pollRun) save(ctx context.Context) error {
	if err := r.batch.Flush(ctx); err != nil {
		return err
	}
	if r.dry || len(r.dirty) == 0 {
		return nil
	}
	w := stateWrite{set: make([]string, 0, 2*len(r.dirty))}
	for _, u := range r.dirty {
		w.set = append(w.set, u.post, u.st.String())
	}
	// Read (or nothing left to read) since their reads failed.
	for _, post := range r.recovered {
		w.del = append(w.del, stateFailingPrefix+post)
	}
	if err := r.writeState(ctx, w); err != nil {
		return err
	}
	for _, post := range r.recovered {
		delete(r.failing, post)
	}
	r.dirty, r.recovered = r.dirty[:0], r.recovered[:0]
	return nil
}

// prune forgets posts that were remembered but are no longer inside
// scan_posts (or were deleted). Only a complete feed walk may prune. When
// Graph failed on the Page's Reels (reelsIncomplete), those not read were not
// seen: a post whose newest comment seen, less the overlap, is inside the
// reply window is kept, as it may be such a Reel, whose next read starts
// there (forgotten, it would be read back to the reply window); the others'
// state shortens no read, and goes.
func (r *pollRun) prune(ctx context.Context) error {
	commentsFrom := r.now.Add(-intake.Window(r.page, tasks.KindComment))
	kept := map[string]struct{}{}
	var old []string
	for id, st := range r.state {
		if _, ok := r.seen[id]; ok {
			continue
		}
		if r.reelsIncomplete && time.Unix(st.newest, 0).Add(-r.pl.p.Overlap).After(commentsFrom) {
			kept[id] = struct{}{}
			continue
		}
		old = append(old, id)
	}
	for id := range r.failing {
		_, seen := r.seen[id]
		_, keep := kept[id]
		if !seen && !keep {
			old = append(old, stateFailingPrefix+id)
		}
	}
	if len(old) == 0 {
		return nil
	}
	if err := r.writeState(ctx, stateWrite{del: old}); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}

// walkConversations looks at the conversations updated since the last poll
// (less an overlap) and inside the messaging window, most recent first.
func (r *pollRun) walkConversations(ctx context.Context) error {
	stop := r.now.Add(-intake.Window(r.page, tasks.KindMessage))
	var stored int64
	if !r.dry && r.rep.FullRead == "" {
		v, err := r.rdb().Get(ctx, r.convsKey()).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("read poll state: %w", err)
		}
		stored = v
		if s := time.Unix(stored, 0).Add(-r.pl.p.Overlap); stored > 0 && s.After(stop) && r.rep.FullRead == "" {
			stop = s
		}
	}
	gctx, gateErr := r.paced(ctx, conversationReads, ConversationReadLimit(r.page))
	newest := stored
	for c, err := range r.pl.p.Graph.Conversations(gctx, r.page.AccessToken, r.page.ID) {
		if err != nil {
			if *gateErr != nil {
				return *gateErr
			}
			return err
		}
		if !c.UpdatedTime.After(stop) {
			break
		}
		r.rep.Conversations++
		newest = max(newest, c.UpdatedTime.Unix())
		it, reason := intake.ConversationItem(r.page.ID, c)
		if reason != "" {
			r.batch.Discard(reason)
		} else if _, err := r.batch.Add(ctx, it); err != nil {
			return err
		}
	}
	if err := r.batch.Flush(ctx); err != nil {
		return err
	}
	if r.dry || newest <= stored {
		return nil
	}
	return r.writeState(ctx, stateWrite{convs: unixString(newest)})
}

// ProcessTask handles a poll task (tasks.TypePoll) or a webhook item
// (tasks.TypeWebhookItem).
func (pl *Poller) ProcessTask(ctx context.Context, t *asynq.Task) error {
	switch t.Type() {
	case tasks.TypePoll:
		return pl.handlePoll(ctx, t)
	case tasks.TypeWebhookItem:
		return pl.handleItem(ctx, t)
	}
	return fmt.Errorf("poll handler: unknown task type %q: %w", t.Type(), asynq.SkipRetry)
}

func (pl *Poller) handlePoll(ctx context.Context, t *asynq.Task) error {
	var p tasks.Poll
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("decode poll payload: %w: %w", err, asynq.SkipRetry)
	}
	if _, ok := pl.pages[p.PageID]; !ok {
		// A Page just added to the config gets its poll at start (and its
		// slots' polls) from a scheduler on the new config while workers
		// on the old one still run (a rolling update): the poll is retried
		// with backoff, as a reply or a webhook item of such a Page is, so
		// a worker with the new config reads the Page. Archived at once,
		// a Page on a long schedule (@hourly) was not read until its next
		// slot. The latest one archived after its retries (workers updated
		// later than the retries last) is run again at the start of a
		// worker that has the Page (RunArchivedPollsOfPages), where a later
		// slot due by then skips it (superseded, below); a removed Page's
		// stay archived.
		return fmt.Errorf("poll of page %s "+notConfigured+": %w", p.PageID, ErrUnknownPage)
	}
	if n, _ := asynq.GetRetryCount(ctx); n > 0 && pl.superseded(p, time.Now()) {
		// A poll that failed or whose worker died comes back late, after
		// later slots of the Page were due: they read everything since the
		// last poll, so this one has nothing to add.
		pl.log.Info("poll skipped: a later slot was due", slog.String("page_id", p.PageID), slog.Int64("slot", p.Slot),
			slog.Int("retry", n))
		return nil
	}
	rep, err := pl.Poll(ctx, p.PageID, false)
	writePollResult(t, rep)
	if rep.Paused == "" || err != nil {
		pl.log.Debug("poll done", slog.String("page_id", p.PageID), slog.Int64("slot", p.Slot),
			slog.Duration("took", rep.Duration), slog.Int("posts", rep.Posts), slog.Int("ads_posts", rep.AdsPosts), slog.Int("comment_reads", rep.CommentReads), slog.Int("read_to_end", rep.ReadToEnd), slog.Int("unreadable", rep.Unreadable),
			slog.Int("seen", rep.Seen), slog.Int("enqueued", rep.Enqueued()))
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrPollLeaseLost) {
		// Not retried: the poll that took the lease, or the next slot's,
		// reads again what this one had not saved.
		pl.log.Warn("poll stopped: its lease was lost; the next poll reads again what it had not saved",
			slog.String("page_id", p.PageID), slog.Int64("slot", p.Slot), slog.String("error", err.Error()))
		return nil
	}
	if ge := (*graph.Error)(nil); errors.As(err, &ge) {
		switch ge.Class {
		case graph.ClassThrottled, graph.ClassPageBroken:
			// The Page is paused; the next slot polls again.
			return nil
		case graph.ClassPermanent:
			pl.log.Error("poll failed", slog.String("page_id", p.PageID), slog.String("error", err.Error()))
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
	}
	// Transient Graph errors and Redis trouble: retried, and when the retries
	// are used up the slot is given up, not archived: the next slot polls
	// again, and an archive of polls would hide the replies that failed.
	n, _ := asynq.GetRetryCount(ctx)
	if m, ok := asynq.GetMaxRetry(ctx); ok && n >= m {
		pl.log.Warn("poll failed; the next slot polls again", slog.String("page_id", p.PageID), slog.Int64("slot", p.Slot),
			slog.Int("retries", n), slog.String("error", err.Error()))
		return nil
	}
	return err
}

// writePollResult writes what a poll did as its task's result, which the
// monitor shows beside the completed task: above all, a poll that did not
// run, or stopped, because its Page is paused (a token found broken, a
// policy block, Graph throttling), which would otherwise show as a poll
// completed with nothing to say.
func writePollResult(t *asynq.Task, rep PollReport) {
	rw := t.ResultWriter()
	if rw == nil {
		return
	}
	var s string
	switch {
	case rep.Busy:
		s = "not run: another poll of the Page was running"
	case rep.PausedBefore:
		s = "not run: page paused: " + rep.Paused
	default:
		s = fmt.Sprintf("posts %d, comment reads %d, conversations %d, seen %d, queued %d", rep.Posts, rep.CommentReads,
			rep.Conversations, rep.Seen, rep.Enqueued())
		if rep.Paused != "" {
			s = "stopped: page paused: " + rep.Paused + "; " + s
		}
		if rep.AdsPostsNotRead != "" {
			s += "; ads posts not read: " + rep.AdsPostsNotRead
		}
		if rep.ReelsNotRead != "" {
			s += "; reels not read: " + rep.ReelsNotRead
		}
	}
	_, _ = rw.Write([]byte(s))
}

// Stale reports whether t is a poll task of a scheduled slot whose Page's next
// slot was due by now: that one reads everything since the last poll.
func (pl *Poller) Stale(t *asynq.Task, now time.Time) bool {
	if t.Type() != tasks.TypePoll {
		return false
	}
	var p tasks.Poll
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return false
	}
	return pl.superseded(p, now)
}

// superseded reports whether a later slot of the poll's Page was due by now.
func (pl *Poller) superseded(p tasks.Poll, now time.Time) bool {
	sched, ok := pl.schedules[p.PageID]
	if !ok || p.Slot <= 0 {
		return false
	}
	return !sched.Next(time.Unix(p.Slot, 0)).After(now)
}

// handleItem reads one item a webhook delivery named and enqueues its reply
// if it is eligible.
func (pl *Poller) handleItem(ctx context.Context, t *asynq.Task) error {
	it, err := tasks.DecodeWebhookItem(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	page, ok := pl.pages[it.PageID]
	if !ok {
		// A Page just added to the config can reach the api role before
		// this worker restarts with it (a rolling update), and Meta does
		// not deliver again a change answered 200: the item is retried
		// with backoff, as a reply of a Page this worker lacks is, so a
		// worker with the new config reads it, and one archived meanwhile
		// is run again at such a worker's start (RunArchivedItemsOfPages).
		return fmt.Errorf("webhook item of page %s "+notConfigured+": %w", it.PageID, ErrUnknownPage)
	}
	if it.Kind == tasks.KindPost && !page.Replies(config.ReplyPosts) || it.Kind == tasks.KindComment && !page.Replies(config.ReplyComments) {
		return nil
	}
	log := pl.log.With(slog.String("page_id", it.PageID), slog.String("item", it.TaskID()))
	// A target the ledger has settled (sent, refused for good, removed or
	// hidden) needs no read: the item would be skipped after it. An unhide
	// queues an item for every comment shown again, sent or not (a
	// moderator showing old comments in bulk), and Meta delivers items again
	// after their TaskIDs are gone; each read takes a slot of the Page's
	// reads, which the new comments' items share. A ledger that does not
	// answer leaves it to the read and the intake after it. A hide mark
	// written while the Page had skip_hidden, turned off since, is not
	// settled: the intake drops it and queues the reply (and for a comment
	// the poll does not reach, this read is the only one).
	if e, err := pl.p.Ledger.Get(ctx, page.ID, tasks.Target{Kind: it.Kind, ID: it.ID}); err == nil && e.Done() && !tasks.StaleHideMark(page, e) {
		log.Debug("webhook item: target settled in the ledger, not read", slog.String("status", e.Status.String()), slog.String("reason", e.Reason))
		return nil
	}
	ctx = graph.WithPageID(ctx, it.PageID)
	if err := pl.itemRead(ctx, page, maxItemReadWait, false); err != nil {
		return err
	}
	var item intake.Item
	onPage := true
	if it.Kind == tasks.KindComment {
		cctx := ctx
		if page.SkipHidden {
			// A comment the Page hid at once (its moderation's keyword
			// filter, say) is read as hidden here.
			cctx = graph.WithHidden(ctx)
		}
		c, err := pl.p.Graph.Comment(cctx, page.AccessToken, it.ID)
		if err != nil {
			return pl.itemError(ctx, page.ID, err, log)
		}
		postID := it.PostID
		if postID == "" {
			// Told by the comment's id as the change spelt it (Meta's
			// older <page-id>_<post>_<comment> names the post's
			// profile), or, when it named the comment bare, as Graph
			// spells it.
			if postID = intake.CommentPostID(page.ID, it.ID); postID == "" {
				postID = intake.CommentPostID(page.ID, c.ID)
			}
		}
		if author, _, ok := strings.Cut(postID, "_"); ok && author != page.ID {
			// A comment on a post whose id names someone else: a post
			// elsewhere that tags the Page, which the feed and so its
			// webhook report. As in the poll, it and its comments are not
			// the Page's to answer, unless the Page wrote it (on another
			// Page's timeline): its post says which, read in a read slot
			// of its own, and not if the comment's answer paused the Page.
			// It may wait a read interval longer than the first: the
			// first took the slot before it, and on a Page that reads
			// less than one a second, a put-back for this one would
			// find the same two slots when it came back, for ever.
			if err := pl.itemRead(ctx, page, maxItemReadWait+LimitOf(page, 0).Interval, true); err != nil {
				return err
			}
			p, err := pl.p.Graph.Post(ctx, page.AccessToken, postID)
			if err != nil {
				return pl.itemError(ctx, page.ID, err, log)
			}
			onPage = intake.OnPage(page.ID, p)
		}
		item = intake.CommentItem(postID, c)
	} else {
		p, err := pl.p.Graph.Post(ctx, page.AccessToken, it.ID)
		if err != nil {
			return pl.itemError(ctx, page.ID, err, log)
		}
		onPage = intake.OnPage(page.ID, p)
		// Without from, it is a visitor's post whose privacy hides them, as
		// in the poll: Graph's can_reply_privately decides.
		item = intake.PostItem(p)
	}
	b := pl.in.NewBatch(page, tasks.SourceWebhook, false)
	var reason intake.Reason
	if onPage {
		reason, err = b.Add(ctx, item)
	} else {
		reason = intake.SkipNotOnPage
		b.Discard(reason)
	}
	if err == nil {
		err = b.Flush(ctx)
	}
	if err != nil {
		return err
	}
	// Why it gets no reply, or what its enqueue found.
	outcome := "skipped: " + string(reason)
	switch o := b.Report().Outcomes; {
	case reason != "":
	case o[tasks.Enqueued] > 0:
		outcome = "enqueued"
	case o[tasks.AlreadySent] > 0:
		outcome = "already replied"
	case o[tasks.AlreadyQueued] > 0:
		outcome = "already queued"
	default:
		outcome = "not enqueued"
	}
	log.Debug("webhook item handled", slog.String("outcome", outcome))
	return nil
}

// itemRead takes a slot of the Page's reads for one read of a webhook item,
// waiting for it when it is at most maxWait away, and returns the error that puts the item
// back when it is not, or when the Page is paused (checked after a wait, and
// always with recheck: a read before this one may have paused it).
func (pl *Poller) itemRead(ctx context.Context, page *config.Page, maxWait time.Duration, recheck bool) error {
	lim := LimitOf(page, 0)
	err := AwaitRead(ctx, ReadWait{
		Limit: lim,
		Take: func(ctx context.Context, _ bool) (time.Duration, error) {
			wait, err := pl.p.Ledger.TakeReadWithin(ctx, page.ID, "reads", lim, maxWait)
			if errors.Is(err, tasks.ErrReadLater) {
				// The Page's reads are booked far ahead (a burst of
				// deliveries for one Page): the item goes back until
				// about its slot instead of holding a worker slot that
				// other Pages' replies could use.
				return 0, &delayError{d: wait + spread(time.Second), reason: "page read rate used up"}
			}
			return wait, pausedPutBack(err)
		},
		Check: func(ctx context.Context) error {
			// Paused meanwhile: read nothing now.
			return pausedPutBack(checkPaused(ctx, pl.p.Ledger, page.ID))
		},
		CheckFirst: recheck,
	})
	if ended := (*ReadWaitEnded)(nil); errors.As(err, &ended) {
		return fmt.Errorf("webhook item: %w", err)
	}
	return err
}

// itemError turns a Graph error of a webhook item's read into the task's
// outcome: a throttled or broken Page, or one whose answer said when to call
// again (waitAsked), is paused and the item waits for it; an
// item Graph no longer has (deleted since the delivery, as spam often is) is
// done; another permanent error archives it (SkipRetry).
func (pl *Poller) itemError(ctx context.Context, page string, err error, log *slog.Logger) error {
	if c := graph.ClassOf(err); graph.ObjectGone(err) && c != graph.ClassThrottled && c != graph.ClassPageBroken {
		// Routine, not a failure: an archived task would raise the alarm
		// that watches for replies failed for good. Graph says the same
		// for an object deleted since and for one the token cannot reach
		// ("missing permissions"), which an operator must be able to see.
		log.Info("webhook item skipped: Graph no longer has it for the Page's token (deleted since, or out of its reach)", slog.String("error", err.Error()))
		pl.m.PollSkipped.WithLabelValues(page, string(intake.SkipGone)).Inc()
		return nil
	}
	if waitAsked(err) {
		// Graph (or a proxy in front of it) said when to call again, for
		// the Page's calls: the Page is paused until then, as a reply's
		// send so answered pauses it, and the item waits for it without
		// using a retry (a retry for each such answer could archive it
		// while Graph was away: a comment only the webhook brings would
		// get no reply). On its last run, where a put-back archives it
		// all the same, it uses a retry, no sooner than asked (retryDelay).
		d := PauseForError(pl.p.Ledger, pl.m, page, err, log)
		if lastRun(ctx) {
			return fmt.Errorf("webhook item: %w", err)
		}
		return &delayError{d: d + spread(d), reason: pausedFor(err)}
	}
	switch graph.ClassOf(err) {
	case graph.ClassThrottled, graph.ClassPageBroken:
		pl.pauseFor(page, err, log)
		d := defaultThrottlePause
		if graph.ClassOf(err) == graph.ClassPageBroken {
			d = brokenPagePause
		}
		return &delayError{d: d + spread(d), reason: putBackPaused + graph.ClassOf(err).String()}
	case graph.ClassPermanent:
		log.Info("webhook item cannot be read", slog.String("error", err.Error()))
		return fmt.Errorf("webhook item: %w: %w", err, asynq.SkipRetry)
	}
	return fmt.Errorf("webhook item: %w", err)
}
