package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// Pause lengths when Graph gives none. A throttle without Graph's time, and
// a policy block, double while the Page's first calls after the pause are
// refused again, up to their longest: Meta counts the refused calls of a
// blocked Page too, and a Page probing every minute for hours keeps itself
// blocked.
const (
	defaultThrottlePause = time.Minute
	longestThrottlePause = 30 * time.Minute
	brokenPagePause      = 5 * time.Minute
	policyBlockPause     = time.Hour
	longestPolicyBlock   = 24 * time.Hour
)

// A page-broken answer (a broken token or permission, a policy block) pauses
// the Page and keeps the reply; Meta may still give such an answer about one
// reply (a recipient its send refuses with the Page's own id). So:
//   - the reply that got it goes back behindPutBacks after the pause's end,
//     behind the Page's replies put back for the pause (their spread is at
//     most 5 s), which find first whether the Page works again;
//   - once brokenAnswersOfOneReply of its page-broken answers have each come
//     after other replies of the Page were sent since its previous one
//     (tasks.Ledger.CountBrokenAnswer), the answer is taken as the reply's:
//     it is archived with its reason, and the Page is not paused again.
//
// Without this, the reply paused the Page again after every pause, forever
// (a reply queued through the API has no reply window that ends it), and
// each time the Page's other replies waited out another pause.
const (
	behindPutBacks          = 10 * time.Second
	brokenAnswersOfOneReply = 2
)

// handleReply sends one private reply: it reserves the target (ledger check,
// Page pause, rate and claim in one Redis round trip), waits for its send slot,
// settles a doubtful earlier attempt with Graph, sends, and records the outcome.
func (w *Worker) handleReply(ctx context.Context, t *asynq.Task) error {
	r, err := tasks.DecodeReply(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ps, ok := w.pages[r.PageID]
	if !ok {
		// A Page just added to the config can reach the scheduler or the API
		// before this worker restarts with it (a rolling update): the reply
		// is retried with backoff, not archived at once, so a worker with the
		// new config sends it. A Page removed for good uses up its retries.
		return w.failure(ctx, fmt.Errorf("page %s "+notConfigured, r.PageID))
	}
	log := &taskLog{base: w.log, r: &r}
	if ps.limit.Interval > 0 && !lastRun(ctx) {
		d, ok := w.enter(&w.replyShare, r.PageID, ps.limit.Interval, true)
		if !ok {
			return &delayError{d: d, reason: putBackShare}
		}
		defer w.leave(&w.replyShare, r.PageID)
	}

	token := tasks.NewToken()
	lease := 2*w.p.GraphTimeout + 5*time.Second
	lim := ps.limit
	if w.waiting(r.PageID, 0) >= w.maxWaiting {
		// This Page already holds its share of this worker's slots waiting for
		// send slots: take a slot only if one is free now, else go back to the
		// queue until the Page's next slot, so other Pages' replies keep
		// flowing. (Sent to the end of the Page's put-back schedule instead,
		// the replies that come due together on asynq's whole-second clock
		// and find the waiting slots full would go to the back of the line
		// each time, and a Page served by one worker would get half its rate.)
		lim.NoWait = true
	}
	res, err := w.p.Ledger.Reserve(ctx, r.PageID, r.Target, token, lease, lim)
	if err != nil {
		return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
	}
	switch res.Outcome {
	case tasks.ReserveDone:
		if tasks.StaleHideMark(ps.cfg, res.Entry) {
			// A hide mark written while the Page had skip_hidden, turned
			// off since: its hidden comments are answered. The mark is
			// dropped (a doubt kept as a doubt, settled with Graph before
			// any send, as the intake's read does) and the reply goes back
			// for a moment: completed here, a comment no poll reaches (a
			// Reel's without reels) got no reply at all.
			if _, err := w.p.Ledger.UnmarkHidden(ctx, r.PageID, r.Target.ID, time.Time{}); err != nil {
				return w.redisFailure(ctx, err, fmt.Errorf("reply %s: drop its hide mark (skip_hidden off): %w", r.Target, err))
			}
			return &delayError{d: time.Second, reason: "hide mark of skip_hidden, turned off since, dropped"}
		}
		if res.Entry.Status == tasks.StatusFailed && res.Entry.Reason == tasks.HiddenReason {
			// The Page hid the comment after its reply was queued (the
			// webhook's hide marked it, on a Page with skip_hidden): not
			// sent, and done, not archived: nothing failed.
			w.m.PollSkipped.WithLabelValues(r.PageID, string(intake.SkipHidden)).Inc()
			log.L().Info("reply not sent: the Page hid the comment")
			return nil
		}
		if res.Entry.Status == tasks.StatusFailed && res.Entry.Reason == tasks.RemovedReasonOf(r.Target.Kind) {
			// The comment or visitor's post was removed after its reply was
			// queued (the webhook's remove marked it): Graph would refuse
			// the send (code 100, subcode 33), so none is made, and the
			// task is done, not archived: nothing failed.
			w.m.PollSkipped.WithLabelValues(r.PageID, string(intake.SkipGone)).Inc()
			log.L().Info("reply not sent: the " + string(r.Target.Kind) + " was removed")
			return nil
		}
		if res.Entry.Status == tasks.StatusFailed && r.Target.Kind != tasks.KindMessage && graph.AppNotLiveFailure(res.Entry.Class, res.Entry.Reason) &&
			(r.Created <= 0 || time.Since(time.UnixMilli(r.Created)) <= intake.Window(ps.cfg, r.Target.Kind)) {
			// Failed because the app was not live for the person (Meta's
			// 10/2018028, a definite refusal: nothing was sent), run again
			// (from the monitor's archive, once the app is live): the
			// failed mark is dropped and the reply goes back for a moment,
			// to be claimed and sent. Archived again as failed for good,
			// it was lost for good. A second private reply to a comment
			// Graph refuses itself (10900); conversation replies, which
			// nothing refuses twice, keep their mark. Past its window it
			// keeps it too: the window's archive (pastWindow) records
			// nothing, and the refusal's record was lost. The entry's
			// class tells the refusal (failForGood keeps it); an entry of
			// an earlier version, without one, is read from its reason.
			if _, err := w.p.Ledger.DropFailedEntry(ctx, r.PageID, r.Target, res.Entry); err != nil {
				return w.redisFailure(ctx, err, fmt.Errorf("reply %s: drop its failed mark (app not live then): %w", r.Target, err))
			}
			log.L().Info("reply failed earlier because the app was not live for the person: tried again")
			return &delayError{d: time.Second, reason: "failed mark of an app not live then, dropped"}
		}
		if res.Entry.Status == tasks.StatusFailed {
			// Failed for good by an earlier run whose archive did not reach
			// Redis (a stall; asynq's recoverer then brought the task back):
			// archived again, with its reason, rather than completed, so the
			// monitor, the archived count and status show it as failed.
			log.L().Debug("target already failed for good", slog.String("reason", res.Entry.Reason))
			return fmt.Errorf("reply %s: failed for good earlier: %s: %w", r.Target, res.Entry.Reason, asynq.SkipRetry)
		}
		w.m.DuplicatesSkipped.WithLabelValues(r.PageID, "ledger").Inc()
		log.L().Debug("target already settled", slog.String("state", res.Entry.Status.String()))
		return nil
	case tasks.ReservePaused:
		return &delayError{d: res.Wait + spread(res.Wait), reason: putBackPaused + res.Reason}
	case tasks.ReserveLimited:
		w.m.RateLimited.WithLabelValues(r.PageID).Inc()
		return &delayError{d: res.Wait, reason: putBackRate}
	case tasks.ReserveBusy:
		return &delayError{d: res.Wait, reason: "target claimed by another worker"}
	case tasks.ReserveSettling:
		return &delayError{d: res.Wait, reason: putBackSettling}
	case tasks.ReserveGo:
	default:
		// Only ReserveGo holds a claim: an outcome added to Reserve and
		// not handled above must not go on to a send no claim covers
		// (admit would stop it only on a Page with a rate).
		return &delayError{d: time.Second + spread(time.Second), reason: fmt.Sprintf("unknown reservation outcome %d", res.Outcome)}
	}
	if err := w.replicas.Ack(ctx, r.PageID, r.Target, token); err != nil {
		// Not sending now: a failover could forget this claim, and a rerun
		// would then send again without asking Graph.
		w.giveBack(r, token, res.Doubtful, log)
		if errors.Is(err, tasks.ErrNotReplicated) {
			log.L().Warn("claim not on a replica yet; reply put back", slog.String("error", err.Error()))
			return &delayError{d: time.Second + spread(5*time.Second), reason: "claim not on a replica yet"}
		}
		return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
	}
	if err := w.spacePerson(ctx, ps, &r, token, res.Wait, res.Doubtful, lim, log); err != nil {
		return err
	}

	if res.Wait > 0 {
		w.waiting(r.PageID, 1)
		timer := time.NewTimer(res.Wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			w.waiting(r.PageID, -1)
			w.giveBack(r, token, res.Doubtful, log)
			return w.failure(ctx, fmt.Errorf("reply %s: waiting for send slot: %w", r.Target, ctx.Err()))
		case <-timer.C:
		}
		w.waiting(r.PageID, -1)
		if res.Doubtful {
			// The check is a Graph read: a Page paused while this reply
			// waited for its send slot is not read (admit checks again
			// before a send).
			if err := checkPaused(ctx, w.p.Ledger, r.PageID); err != nil {
				w.giveBack(r, token, true, log)
				if d, ok := pausedPutBack(err).(*delayError); ok {
					w.returnSendSlot(r.PageID, lim, log)
					return d
				}
				return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
			}
		}
	}
	// unsettled says an earlier attempt's reply may have reached the
	// person and the check could not tell (a visitor's post): this
	// attempt's send settles it, by Graph's refusal of a second reply.
	unsettled := false
	if res.Doubtful {
		done, err := w.settleDoubt(ctx, ps, &r)
		if errors.Is(err, errPostUnchecked) {
			unsettled, err = true, nil
		}
		if err == nil || done {
			graphAnswered(ps, log)
		}
		var later *readLaterError
		switch {
		case errors.Is(err, errPageAnswered):
			// No attempt got through, and the Page answered the person
			// meanwhile: nothing to send.
			w.returnSendSlot(r.PageID, lim, log)
			w.m.DuplicatesSkipped.WithLabelValues(r.PageID, "answered").Inc()
			log.L().Info("the Page answered the person's message already; not sent, recorded as sent")
			return nil
		case err != nil && done:
			// Graph has the reply but recording it failed (Redis trouble):
			// put back, without using a retry when Redis was away, never a
			// Graph error. The claim stays, so the next attempt asks Graph
			// again.
			return w.redisFailure(ctx, err, err)
		case errors.As(err, &later):
			// The check could not read the conversation now (its read
			// schedule is booked ahead, or the Page was paused): back to
			// the queue, the doubt kept, no retry used.
			w.giveBack(r, token, true, log)
			w.returnSendSlot(r.PageID, lim, log)
			return later.delay
		case errors.As(err, new(*readSlotError)):
			w.giveBack(r, token, true, log)
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
		case errors.Is(err, errUnsettled):
			// Never two replies: the person is taken as answered by it
			// (their messages written before it could have landed get no
			// reply), the claim stays as a failure with the reason, and
			// the task is archived for an operator to see. When the person
			// cannot be recorded, the doubt stays and the task comes back.
			if herr := w.holdUnsettledMessage(ctx, &r, err); herr != nil {
				w.giveBack(r, token, true, log)
				w.returnSendSlot(r.PageID, lim, log)
				return w.redisFailure(ctx, herr, fmt.Errorf("reply %s: %w", r.Target, herr))
			}
			w.m.RepliesFailed.WithLabelValues(r.PageID, "unsettled").Inc()
			return w.failForGood(ctx, &r, tasks.ClassUnsettled, err, "reply not sent again", log)
		case err != nil:
			// The check failed: unless Graph answered for good, the doubt
			// stays, so the next attempt checks again before it sends.
			return w.graphError(ctx, ps, &r, token, err, true, true, true, log)
		case done:
			// Sent, by an attempt whose answer was lost: counted as sent
			// (that attempt could not count it), not as a duplicate.
			w.countSent(&r)
			log.L().Info("earlier attempt had sent the reply")
			return nil
		}
		// No earlier attempt's reply landed. A hide that came while the
		// entry was in doubt left it as it was (the send might have
		// landed), and is kept in the comment's shown key only: the reply
		// is not sent to a comment the Page hid, as the mark would have
		// stopped it (a Redis round trip, on a doubt's path only). On a Page
		// without skip_hidden (turned off since that hide: the webhook
		// keeps hides only with it) the hide is not the Page's wish any
		// more, as a stale mark is not (tasks.StaleHideMark): the reply is
		// sent, not turned into a hide mark and completed unsent (a Page
		// that no longer replies to comments keeps it: tasks.HidesHold).
		var hidden bool
		var herr error
		if tasks.HidesHold(ps.cfg) {
			hidden, herr = w.p.Ledger.HiddenInDoubt(ctx, r.PageID, r.Target, token)
		}
		if herr != nil {
			w.giveBack(r, token, true, log)
			w.returnSendSlot(r.PageID, lim, log)
			return w.redisFailure(ctx, herr, fmt.Errorf("reply %s: %w", r.Target, herr))
		}
		if hidden {
			w.returnSendSlot(r.PageID, lim, log)
			w.m.PollSkipped.WithLabelValues(r.PageID, string(intake.SkipHidden)).Inc()
			log.L().Info("reply not sent: the Page hid the comment while an earlier attempt's outcome was unknown, and Graph has no reply from it")
			return nil
		}
	}

	// However long the reply waited (a pause, a backlog, retries), it is
	// not sent past its Page's reply window. Any doubt was settled above.
	if err := w.pastWindow(ctx, ps, &r, token, lim, unsettled, log); err != nil {
		return err
	}

	if !res.Doubtful && w.mayBeAnswered(&r) {
		// A conversation reply that waited (a pause, a backlog, retries):
		// someone at the Page may have answered the person in the inbox
		// meanwhile, and a second answer is one they did not ask for. (On
		// its last run, where any put-back archives it, a check that would
		// put it back for a read slot, or fails, lets it go unchecked, as
		// before this check; a paused Page still puts it back.)
		answer, err := w.checkAnswered(ctx, ps, &r, log)
		var later *readLaterError
		switch {
		case answer == nil && err != nil && lastRun(ctx) && lastRunSendsUnchecked(ctx, err):
			log.L().Info("could not check the conversation for an answer on the reply's last run; sending", slog.String("error", err.Error()))
		case answer != nil:
			w.returnSendSlot(r.PageID, lim, log)
			if err := w.recordAnswered(ctx, &r, answer); !errors.Is(err, errPageAnswered) {
				// Given back in doubt, not released: the person's record
				// may name this target answered already (PersonSent went
				// through), which keeps PersonClaim from seeing it, so the
				// next attempt must read the conversation before it sends
				// (a doubtful one does, whatever its run; this check
				// sends when its read fails).
				w.giveBack(r, token, true, log)
				return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
			}
			w.m.DuplicatesSkipped.WithLabelValues(r.PageID, "answered").Inc()
			log.L().Info("the Page answered the person's message while the reply waited; not sent, recorded as sent",
				slog.String("message_id", answer.ID))
			return nil
		case errors.As(err, &later):
			w.giveBack(r, token, false, log)
			w.returnSendSlot(r.PageID, lim, log)
			return later.delay
		case errors.As(err, new(*readSlotError)):
			w.giveBack(r, token, false, log)
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
		case err != nil:
			if PausesPage(err) {
				// The send would be refused too, or would call Graph
				// before the time it asked for: pause the Page, as any
				// call answered so does, and put the reply back.
				d := PauseForError(w.p.Ledger, w.m, r.PageID, err, log.L())
				w.giveBack(r, token, false, log)
				w.returnSendSlot(r.PageID, lim, log)
				return &delayError{d: d + spread(d), reason: pausedFor(err)}
			}
			// Any other failed read: the reply was due when it was queued,
			// and is sent (the check spares the person a second answer; it
			// guards no promise of SPEC's).
			log.L().Info("could not read the conversation to check for an answer; sending", slog.String("error", err.Error()))
		}
	}

	// A conversation reply is sent only while no other reply to the person is
	// on its way, and not at all when one reached them after they wrote this
	// message (tasks.PersonClaim); so is a comment's on a Page that sends one
	// reply per person, not at all when one reached them within the window.
	// From here on the person's claim is this attempt's until the reply is
	// sent, or released by personDone after an attempt that sent nothing;
	// after a send whose outcome is unknown it stays, and holds the person
	// while the target's entry is in doubt.
	who, person := personOf(ps, &r)
	releasePerson := false
	if person {
		if err := w.claimPerson(ctx, ps, &r, who, token, lim, res.Doubtful, log); err != nil {
			if errors.Is(err, errPersonAnswered) {
				return nil
			}
			return err
		}
		releasePerson = true
		defer func() {
			if releasePerson {
				w.personDone(r, who, token, log)
			}
		}()
	}

	// admitted is when the admission that renewed the claim last began: a
	// send that would leave more than Worker.admitFresh after it is
	// admitted again first (below, before the send).
	var admitted time.Time
	admitOrBack := func() error {
		var err error
		if admitted, err = w.admit(ctx, ps, &r, token, lease, res.Doubtful, log); err != nil {
			var d *delayError
			switch {
			case res.Doubtful:
				// admit gave the target back unknown (or found it another
				// attempt's): the person's claim stays with it, and holds
				// the person while the entry is in doubt, as the earlier
				// attempt's did. Released, it would let a reply to the
				// person's other message or comment go out while this
				// one's earlier attempt may have reached them (a visitor
				// post's check cannot tell).
				releasePerson = false
			case errors.As(err, &d) && d.reason == putBackClaimLost:
				// Another attempt holds the target now, and may have
				// claimed the person before this one took the claim over
				// (a person's claim names the target, not the attempt):
				// it stays, held by the target's entry, while that attempt
				// may be sending.
				releasePerson = false
			}
			return err
		}
		return nil
	}
	if ps.limit.Interval > 0 {
		if err := admitOrBack(); err != nil {
			return err
		}
	}

	// Again, as the last step before the send: the answered check (a read
	// slot up to 2 s away, then a Graph read up to graph.timeout) and the
	// send log's wait above take time, and a reply whose window ended
	// meanwhile went out after it.
	if err := w.pastWindow(ctx, ps, &r, token, lim, unsettled, log); err != nil {
		return err
	}

	if ps.limit.Interval > 0 && time.Since(admitted) > w.admitFresh {
		// The worker stalled between the admission and here (its process
		// stopped or its host frozen, possibly with Redis's answer to the
		// admission waiting in its socket): the claim the admission renewed
		// may have lapsed since, and asynq may have handed the task to
		// another worker (it does once this one's heartbeats stopped), which
		// found the claim lapsed, asked Graph, found nothing and sent. Sent
		// now, a conversation reply would be a second Messenger message
		// (nothing refuses it, as 10900 refuses a comment's). Admitted
		// again, the send goes out under a claim Redis has just confirmed
		// as this attempt's, with a lease that covers it, or not at all.
		log.L().Info("reply stalled between its admission and its send; admitted again before sending",
			slog.Duration("stalled", time.Since(admitted).Round(time.Millisecond)))
		if err := admitOrBack(); err != nil {
			return err
		}
		// And the window again: the second admission may have waited for
		// a send slot (up to 2 s), and the window's end with it. Only
		// here: without a second admission nothing waits before the send.
		if err := w.pastWindow(ctx, ps, &r, token, lim, unsettled, log); err != nil {
			return err
		}
	}

	if w.stopping.Err() != nil && !lastRun(ctx) {
		// The worker began to stop while this reply waited (its send
		// slot, a check): a send started now can be cut off when the
		// drain runs out, its outcome unknown, and the next attempt would
		// wait out the settle time and ask Graph first. Back to the queue
		// unsent, for the next worker (on its last run, where a put-back
		// archives it, it is sent). A doubtful reply keeps its doubt, and
		// the person's claim with it, as at admit.
		if res.Doubtful {
			releasePerson = false
		}
		w.returnSendSlot(r.PageID, lim, log)
		w.giveBack(r, token, res.Doubtful, log)
		return &delayError{d: time.Second + spread(time.Second), reason: putBackStopping}
	}

	var sent graph.SendResult
	if r.Target.Kind == tasks.KindMessage {
		sent, err = w.p.Graph.SendMessage(ctx, ps.cfg.AccessToken, r.PageID, r.PSID, r.Text)
	} else {
		sent, err = w.p.Graph.SendPrivateReply(ctx, ps.cfg.AccessToken, r.PageID, recipient(r.Target), r.Text)
	}
	if err != nil {
		if person && sendMayHaveLeft(err) {
			releasePerson = false
		}
		return w.graphError(ctx, ps, &r, token, err, false, res.Doubtful, unsettled || sendMayHaveLeft(err), log)
	}
	graphAnswered(ps, log)
	if person {
		// A record written again while Redis is away says when Graph took
		// the reply, not when Redis took the record: later, the person's
		// messages written meanwhile would read as answered by it.
		sentAt := time.Now()
		if err := w.recordSent(ctx, func(ctx context.Context) error {
			return w.p.Ledger.PersonSentAgo(ctx, r.PageID, who, r.Target, sent.MessageID, time.Since(sentAt), personTTL(ps, &r))
		}); err != nil {
			// The reply exists; the target's claim stays, so a rerun asks
			// Graph, finds it, and records it for the person then. The
			// person's claim stays meanwhile, held by the target's.
			releasePerson = false
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s sent, but recording it failed: %w", r.Target, err))
		}
		releasePerson = false
	}
	if err := w.recordSent(ctx, func(ctx context.Context) error {
		return w.p.Ledger.MarkSentBySend(ctx, r.PageID, r.Target, sent.MessageID)
	}); err != nil {
		// The reply exists; the claim stays, so a rerun asks Graph before
		// sending (unless Redis lost it: writeWhileAway's wait is for that).
		return w.redisFailure(ctx, err, fmt.Errorf("reply %s sent, but recording it failed: %w", r.Target, err))
	}
	w.countSent(&r)
	if w.log.Enabled(ctx, slog.LevelDebug) {
		log.L().Debug("reply sent", slog.String("message_id", sent.MessageID))
	}
	return nil
}

// pastWindow archives r's reply when its Page's reply window (max_age, or a
// conversation's 24 hours) has ended since the person wrote what it
// answers, giving back its send slot and its claim (the attempt's claim on
// the person, if any, is the caller's to release), and returns nil while it
// is open or the time is unknown: max_age may be shorter than Graph's own
// window, which Graph alone would not enforce.
//
// The task is archived with the reason, but the target is not recorded as
// failed: the window is the Page's setting, not Graph's answer, and a poll or
// full read under a wider max_age must still be able to queue it again (under
// the same one, the poll's own window check skips it first). The claim is
// released: the caller settled any doubt before, or could not (unsettled: a
// visitor's post, whose check is the send), and then the reply's person, on
// a Page that sends one reply per person, is taken as answered first
// (holdUnsettled); when that cannot be recorded the doubt is kept, and the
// task goes back to the queue.
func (w *Worker) pastWindow(ctx context.Context, ps *pageState, r *tasks.Reply, token string, lim tasks.Limit, unsettled bool, log *taskLog) error {
	if r.Created <= 0 {
		return nil
	}
	win := intake.Window(ps.cfg, r.Target.Kind)
	if time.Since(time.UnixMilli(r.Created)) <= win {
		return nil
	}
	w.returnSendSlot(r.PageID, lim, log)
	if unsettled {
		// The doubt was checked (after its settle time): its reply, if
		// any, had landed by now.
		if err := w.holdUnsettled(ctx, ps, r, time.Time{}); err != nil {
			w.giveBack(*r, token, true, log)
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
		}
	}
	w.release(*r, token, log)
	err := fmt.Errorf("outside the Page's reply window: written more than %s ago", win)
	w.m.RepliesFailed.WithLabelValues(r.PageID, "too_old").Inc()
	log.L().Info("reply not sent", slog.String("reason", err.Error()))
	return fmt.Errorf("reply %s: %w: %w", r.Target, err, asynq.SkipRetry)
}

// holdUnsettled takes r's person as answered by r's reply, when it may have
// reached them and nothing will ever tell: its target is failed for good, or
// let go past its window, while an attempt's outcome is unknown (docs/BEHAVIOUR.md:
// one reply per person; a conversation reply whose outcome cannot be
// settled).
// The person's record names no message (tasks.Ledger.PersonSent), and is
// kept for the reply window (a conversation's person: Messenger's), as for
// a reply Graph refuses as already sent. Never two replies wins over never
// missing one. A commenter's other comments within the window get no reply,
// as if that one had reached them. A conversation's person is recorded as
// answered at landed, the latest time the reply could have reached them (the
// zero time: now, in Redis's clock): a reply to a message they wrote before
// then is not sent, one to a message written after it gets its own, as it
// would either way. (A doubt's own entry holds them so while it lasts, only
// for messages written before its send could have landed; once the target
// is failed for good or let go, it holds no one, and without this record a
// reply to the person's earlier message went out beside the one that may
// have landed.)
func (w *Worker) holdUnsettled(ctx context.Context, ps *pageState, r *tasks.Reply, landed time.Time) error {
	who, ok := personOf(ps, r)
	if !ok {
		return nil
	}
	at := landed
	if who.Commenter {
		// Any reply within the window answers a commenter: its time does
		// not count.
		at = time.Time{}
	}
	if err := w.p.Ledger.PersonSent(ctx, r.PageID, who, r.Target, "", at, personTTL(ps, r)); err != nil {
		return fmt.Errorf("take the person of %s as answered, its reply's outcome unknown: %w", r.Target, err)
	}
	return nil
}

// holdIfDoubtRefused is holdUnsettled for a doubt that giveBack or
// markUnknown could not record because r's target was failed for good
// meanwhile: the webhook's remove took the place of the attempt's claim
// (a remove mark, unlike a hide mark, does not give way to a doubt, and no
// attempt will ask Graph about a removed comment). settle is the doubt's
// settle time (0: none), how long after now its send may still land. It
// reads the entry only for a reply whose person holdUnsettled would record.
func (w *Worker) holdIfDoubtRefused(ctx context.Context, r tasks.Reply, settle time.Duration, log *taskLog) {
	ps, ok := w.pages[r.PageID]
	if !ok {
		return
	}
	if _, ok := personOf(ps, &r); !ok {
		return
	}
	e, err := w.p.Ledger.Get(ctx, r.PageID, r.Target)
	if err == nil && e.Status == tasks.StatusFailed {
		err = w.holdUnsettled(ctx, ps, &r, landedBy(settle))
	}
	if err != nil {
		log.L().Warn("take the person as answered after a doubt the ledger refused", slog.String("error", err.Error()))
	}
}

// landedBy is the latest time a reply whose send may still be reaching Graph
// for settle could reach its person: settle from now, or the zero time (now,
// in Redis's clock) when it is done with (settle 0: a doubt whose settle
// time has passed, as it has when an attempt checks it).
func landedBy(settle time.Duration) time.Time {
	if settle <= 0 {
		return time.Time{}
	}
	return time.Now().Add(settle)
}

// failForGood records that r's reply will never be sent, for err (its text)
// and class (the API's error_class of it: the caller's verdict, such as
// tasks.ClassUnsettled, or graph.FailureClass of a refusal; never read from
// err alone, which may wrap an answer of another class), logs msg at debug,
// and archives the task with the reason (SkipRetry); when the record cannot
// be written, the task is put back or retried instead.
func (w *Worker) failForGood(ctx context.Context, r *tasks.Reply, class string, err error, msg string, log *taskLog) error {
	if merr := w.p.Ledger.MarkFailedClass(ctx, r.PageID, r.Target, class, err.Error()); merr != nil {
		return w.redisFailure(ctx, merr, fmt.Errorf("reply %s: %w, but recording it failed: %w", r.Target, err, merr))
	}
	// At debug: logFailure says it at WARN as "task archived", with the
	// same reason in its error, the task's id and its Page; two WARN lines
	// for one reply doubled the log of a caller that keeps asking for
	// replies Graph refuses.
	log.L().Debug(msg, slog.String("reason", err.Error()))
	return fmt.Errorf("reply %s: %w: %w", r.Target, err, asynq.SkipRetry)
}

// countSent counts r as sent, with the time it took from its enqueue.
func (w *Worker) countSent(r *tasks.Reply) {
	w.m.RepliesSent.WithLabelValues(r.PageID, string(r.Source)).Inc()
	if r.EnqueuedAt > 0 {
		w.m.SendLatency.WithLabelValues(r.PageID).Observe(time.Since(time.UnixMilli(r.EnqueuedAt)).Seconds())
	}
}

// personOf returns whose record r's reply claims (see tasks.PersonClaim),
// and false when it claims none: a conversation reply's person, or the
// writer of a comment or post on a Page that sends one reply per person
// (the poll and the webhook name the writer on every Page, for person_gap).
func personOf(ps *pageState, r *tasks.Reply) (tasks.Person, bool) {
	switch {
	case r.Target.Kind == tasks.KindMessage && r.PSID != "":
		return tasks.Person{ID: r.PSID}, true
	case r.Target.Kind != tasks.KindMessage && r.Person != "" && ps.cfg.OneReplyPerPerson:
		return tasks.Person{ID: r.Person, Commenter: true}, true
	}
	return tasks.Person{}, false
}

// spacePerson keeps r's reply at least the Page's person_gap after the last
// one booked for its person (tasks.Ledger.PersonGap), booking its send slot
// (slot from now) for them when it is. Every eligible comment gets its
// reply, but one person's many comments (a giveaway's "me! @friend") do not
// get theirs back to back in their one Messenger thread: Meta may rate limit
// a thread that gets too many messages, and the same text again and again is
// what its anti-spam looks for. A reply that must wait goes back to the
// queue until the person's time, holding no worker slot meanwhile, and gives
// back its claim and send slot as the other put-backs do. A reply whose
// person is unknown (the API's comments and posts) is not spaced, and costs
// no Redis call; neither does one on a Page whose gap is 0.
func (w *Worker) spacePerson(ctx context.Context, ps *pageState, r *tasks.Reply, token string, slot time.Duration, doubtful bool, lim tasks.Limit, log *taskLog) error {
	id := r.Person
	if r.Target.Kind == tasks.KindMessage {
		id = r.PSID
	}
	if id == "" || ps.cfg.PersonGap <= 0 || lastRun(ctx) {
		// On its last run a put-back would archive the reply (see lastRun):
		// it goes out unspaced instead.
		return nil
	}
	wait, err := w.p.Ledger.PersonGap(ctx, r.PageID, id, r.Target, slot, ps.cfg.PersonGap)
	if err != nil {
		w.giveBack(*r, token, doubtful, log)
		w.returnSendSlot(r.PageID, lim, log)
		return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
	}
	if wait <= 0 {
		return nil
	}
	d := wholeSecondAfter(wait + spread(wait))
	if r.Created > 0 {
		left := intake.Window(ps.cfg, r.Target.Kind) - time.Since(time.UnixMilli(r.Created))
		if d+gapWindowMargin >= left {
			// Back after the gap, it would be past the Page's reply window
			// and never sent: it waits as long as the window allows, then
			// goes out within the gap, as a reply close behind the person's
			// last one is better than none.
			room := left - gapWindowMargin - time.Second
			if room <= 0 {
				log.L().Info("reply sent within person_gap: waiting out the gap would take it past the Page's reply window",
					slog.Duration("gap_left", wait), slog.Duration("window_left", left))
				return nil
			}
			d = wholeSecondAfter(room)
		}
	}
	w.giveBack(*r, token, doubtful, log)
	w.returnSendSlot(r.PageID, lim, log)
	w.m.PersonGapWaits.WithLabelValues(r.PageID).Inc()
	return &delayError{d: d, reason: putBackPersonGap}
}

// gapWindowMargin is how much of its reply window a reply put back for
// person_gap must have left when it comes back: asynq brings a put-back back
// up to a few seconds late under load.
const gapWindowMargin = 5 * time.Second

// wholeSecondAfter returns d rounded up so that a task put back for it comes
// back no earlier than d from now: asynq keeps a put-back's time in whole
// seconds, dropping the fraction, and would bring it back up to a second
// early, only for the person's gap to put it back again.
func wholeSecondAfter(d time.Duration) time.Duration {
	now := time.Now()
	at := now.Add(d)
	if t := at.Truncate(time.Second); t.Before(at) {
		at = t.Add(time.Second)
	}
	return at.Sub(now)
}

// personTTL is how long the record of a reply that reached r's person is
// kept: Messenger's window for a conversation, the Page's reply window for a
// commenter.
func personTTL(ps *pageState, r *tasks.Reply) time.Duration {
	if r.Target.Kind == tasks.KindMessage {
		return tasks.PersonTTL
	}
	return intake.Window(ps.cfg, r.Target.Kind)
}

// claimPerson claims the person who r's reply goes to for this attempt
// (token; see tasks.PersonClaim). A reply whose other reply to the person is
// on its way goes back to the queue until that one is done (in doubt: until
// that reply's next attempt settles it); a conversation reply to a message
// written before a reply reached the person, or a commenter's reply when one
// reached them within the window, is answered, and recorded as sent with
// that reply's message id. Either way (a non-nil error) the target's claim
// (doubtful: marked so again) and the send slot are given back.
func (w *Worker) claimPerson(ctx context.Context, ps *pageState, r *tasks.Reply, who tasks.Person, token string, lim tasks.Limit, doubtful bool, log *taskLog) error {
	var created time.Time
	if r.Created > 0 {
		created = time.UnixMilli(r.Created)
	}
	pc, err := w.p.Ledger.PersonClaim(ctx, r.PageID, who, r.Target, token, created, intake.Window(ps.cfg, r.Target.Kind))
	if err != nil {
		w.giveBack(*r, token, doubtful, log)
		return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
	}
	if pc.Outcome == tasks.PersonAnswered && w.mayBeWrittenAfter(r, pc, created) {
		after, err := w.writtenAfterReply(ctx, ps, r, pc.MessageID)
		var later *readLaterError
		switch {
		case err == nil && after:
			// The person wrote this message after the reply recorded for
			// them reached them: it is a new message, with a reply of its
			// own (docs/BEHAVIOUR.md: a person who writes again after a
			// reply gets another). Claimed as written just after that reply: a
			// later one still answers it.
			log.L().Info("the person wrote this message after the reply recorded for them; answering it",
				slog.String("message_id", pc.MessageID))
			wroteAt := pc.At.Add(time.Millisecond)
			if pc, err = w.p.Ledger.PersonClaim(ctx, r.PageID, who, r.Target, token, wroteAt, intake.Window(ps.cfg, r.Target.Kind)); err != nil {
				w.giveBack(*r, token, doubtful, log)
				return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
			}
		case err == nil:
		case lastRun(ctx) && lastRunSendsUnchecked(ctx, err):
			// A put-back would archive it: taken as answered, as before
			// this check.
			log.L().Info("could not read the conversation to order the message and the person's last reply on the reply's last run", slog.String("error", err.Error()))
		case errors.As(err, &later):
			w.giveBack(*r, token, doubtful, log)
			w.returnSendSlot(r.PageID, lim, log)
			return later.delay
		case errors.As(err, new(*readSlotError)):
			w.giveBack(*r, token, doubtful, log)
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
		default:
			if PausesPage(err) {
				d := PauseForError(w.p.Ledger, w.m, r.PageID, err, log.L())
				w.giveBack(*r, token, doubtful, log)
				w.returnSendSlot(r.PageID, lim, log)
				return &delayError{d: d + spread(d), reason: pausedFor(err)}
			}
			// Any other failed read: taken as answered, as before this
			// check (never a second reply).
			log.L().Info("could not read the conversation to order the message and the person's last reply; taken as answered", slog.String("error", err.Error()))
		}
	}
	switch pc.Outcome {
	case tasks.PersonBusy:
		w.giveBack(*r, token, doubtful, log)
		w.returnSendSlot(r.PageID, lim, log)
		// A send under way ends within seconds, and the reply then finds the
		// person answered: look again soon. One in doubt is settled by its
		// own reply's next attempt, perhaps minutes away.
		d, reason := time.Second+spread(2*time.Second), "another reply to the person is on its way"
		if pc.InDoubt {
			d, reason = 30*time.Second+spread(10*time.Second), "another reply to the person may have reached them (its outcome unknown)"
		}
		return &delayError{d: d, reason: reason}
	case tasks.PersonAnswered:
		w.returnSendSlot(r.PageID, lim, log)
		// A reply Graph holds reached the person: recorded with recordSent,
		// as the send's own mark is, so a shutdown's canceled context or a
		// Redis restart does not leave this target to a second reply.
		if err := w.recordSent(ctx, func(ctx context.Context) error {
			return w.p.Ledger.MarkSent(ctx, r.PageID, r.Target, pc.MessageID)
		}); err != nil {
			w.giveBack(*r, token, doubtful, log)
			return w.redisFailure(ctx, err, fmt.Errorf("reply %s: person answered, but recording it failed: %w", r.Target, err))
		}
		w.m.DuplicatesSkipped.WithLabelValues(r.PageID, "person").Inc()
		log.L().Info("a reply reached the person already; recorded as sent", slog.String("message_id", pc.MessageID))
		return errPersonAnswered
	}
	return nil
}

// errPersonAnswered is claimPerson's answer for a reply that needs no send:
// the task is done.
var errPersonAnswered = errors.New("person answered")

// replyRecordLag is how long after a conversation reply reached its person
// its record can be made (tasks.Ledger.PersonSent, in Redis's clock), beyond
// the send's own answer (up to graph.timeout): the Redis call, and Graph's
// created_time being whole seconds (a message written in the second after
// the reply reads as written at its start).
const replyRecordLag = 3 * time.Second

// mayBeWrittenAfter reports whether the person's message of r, written at
// created, which PersonClaim found answered by the reply pc names, may have
// been written after that reply reached them all the same: the reply was
// recorded only a moment after created (within the send's answer and
// replyRecordLag), where Graph's times cannot order the two. Only the
// conversation's order can (writtenAfterReply).
func (w *Worker) mayBeWrittenAfter(r *tasks.Reply, pc tasks.PersonClaim, created time.Time) bool {
	return r.Target.Kind == tasks.KindMessage && r.ConversationID != "" && pc.MessageID != "" &&
		!created.IsZero() && !pc.At.IsZero() && pc.At.Sub(created) < w.p.GraphTimeout+replyRecordLag
}

// writtenAfterReply reads r's conversation, in a slot of its Page's
// conversation read schedule, and reports whether the person's message r
// answers is listed above (after) the Page's message mid, the reply recorded
// for the person: Graph lists a conversation's messages newest first, in the
// order they were written, where their whole-second times may tie. False
// when either is not on the newest page (never a second reply on a guess).
// Its errors are conversationReadSlot's and Graph's.
func (w *Worker) writtenAfterReply(ctx context.Context, ps *pageState, r *tasks.Reply, mid string) (bool, error) {
	if err := w.conversationReadSlot(ctx, ps, r); err != nil {
		return false, err
	}
	conv, err := w.p.Graph.Conversation(graph.WithPageID(ctx, r.PageID), ps.cfg.AccessToken, r.ConversationID)
	if err != nil {
		return false, err
	}
	log := &taskLog{base: w.log, r: r}
	graphAnswered(ps, log)
	above := false
	for _, m := range conv.Messages {
		switch m.ID {
		case r.Target.ID:
			above = true
		case mid:
			return above, nil
		}
	}
	return false, nil
}

// personDone releases an attempt's claim on its person after it sent
// nothing, even when the task's context is done, as release does.
func (w *Worker) personDone(r tasks.Reply, who tasks.Person, token string, log *taskLog) {
	ctx, cancel := w.recordCtx(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.p.Ledger.PersonRelease(ctx, r.PageID, who, r.Target, token); err != nil {
		log.L().Warn("release person", slog.String("error", err.Error()))
	}
}

// sendMayHaveLeft reports whether a failed send may have reached Graph (see
// mayHaveLeft).
func sendMayHaveLeft(err error) bool {
	var gerr *graph.Error
	errors.As(err, &gerr)
	return mayHaveLeft(gerr)
}

// mayHaveLeft reports whether a call that failed with gerr (nil: no Graph
// answer at all) may have reached Graph: its answer was lost, or it does not
// say nothing was done.
func mayHaveLeft(gerr *graph.Error) bool { return gerr == nil || gerr.Unknown }

func recipient(t tasks.Target) graph.Recipient {
	if t.Kind == tasks.KindPost {
		return graph.Recipient{PostID: t.ID}
	}
	return graph.Recipient{CommentID: t.ID}
}

// settleDoubt asks Graph whether an earlier attempt, whose answer was lost,
// sent the reply; if so it records it as sent.
func (w *Worker) settleDoubt(ctx context.Context, ps *pageState, r *tasks.Reply) (bool, error) {
	if r.Target.Kind == tasks.KindMessage {
		return w.settleMessageDoubt(ctx, ps, r)
	}
	// The check reads the comment or post, a call Meta counts with the
	// Page's feed, comments and webhook items (80001 past it): it takes a
	// slot of the Page's read schedule as those do. A worker killed
	// mid-send leaves its claims to lapse together, and their checks, run
	// at once beside the webhook items' paced reads, got the Page throttled.
	if err := w.readSlot(ctx, r, "reads", LimitOf(ps.cfg, 0), "page"); err != nil {
		return false, err
	}
	conv, err := w.p.Graph.PrivateReplyConversation(graph.WithPageID(ctx, r.PageID), ps.cfg.AccessToken, r.Target.ID)
	// Graph's usage headers may make any answer a throttle (graph.Client
	// classes it so): that is handled as one, whatever the code says.
	if c := graph.ClassOf(err); r.Target.Kind == tasks.KindPost && graph.NonexistingField(err, "private_reply_conversation") &&
		c != graph.ClassThrottled && c != graph.ClassPageBroken {
		// Meta documents private_reply_conversation on comments; a post may
		// lack it, and Graph then refuses the read with code 100. Archiving
		// the reply for that would miss it. Graph lets a post have one
		// private reply only: the reply is sent again, and Graph answers
		// 10900 ("already replied", recorded as sent) when the earlier
		// attempt went through.
		log := &taskLog{base: w.log, r: r}
		log.L().Info("post has no private_reply_conversation; sending again, Graph refuses a second reply")
		return false, errPostUnchecked
	}
	if err != nil {
		return false, err
	}
	if conv == "" {
		return false, nil
	}
	// Graph holds the reply: recorded with recordSent, as the send's own
	// mark is (a shutdown's canceled context, Redis away).
	if who, ok := personOf(ps, r); ok {
		// Before the target's mark: should this fail, the rerun finds the
		// reply again and records both.
		if err := w.recordSent(ctx, func(ctx context.Context) error {
			return w.p.Ledger.PersonSent(ctx, r.PageID, who, r.Target, "", time.Time{}, personTTL(ps, r))
		}); err != nil {
			return true, fmt.Errorf("record earlier reply to %s: %w", r.Target, err)
		}
	}
	if err := w.recordSent(ctx, func(ctx context.Context) error {
		return w.p.Ledger.MarkSent(ctx, r.PageID, r.Target, "")
	}); err != nil {
		return true, fmt.Errorf("record earlier reply to %s: %w", r.Target, err)
	}
	return true, nil
}

// errPostUnchecked is settleDoubt's answer for a visitor's post, which
// Graph cannot be asked about: no attempt is known to have got through, and
// the send settles the doubt (Graph refuses a second reply to a post).
var errPostUnchecked = errors.New("a post's private reply cannot be looked up")

// heldReadEarly is how long before its held conversation read slot a reply
// put back for it comes back: within heldReadWait, so it takes the slot,
// with time to wait for its send slot first.
const heldReadEarly = maxItemReadWait * 3 / 4

// heldReadWait is the longest a conversation reply's check waits for its
// read slot in a worker slot: maxItemReadWait, and a second more, as asynq
// keeps a put-back's time in whole seconds and may run it up to a second
// early. Without that second, a reply back early found its held slot just
// out of reach and was put back for less than a second, which asynq runs at
// once: four or five put-backs in a row, 100 ms apart, until the slot came
// within reach.
const heldReadWait = maxItemReadWait + time.Second

// readLaterError is a check that could not read Graph now (its read slot is
// too far ahead, or the Page is paused): the reply goes back to the queue
// with delay.
type readLaterError struct{ delay *delayError }

func (e *readLaterError) Error() string { return e.delay.Error() }

// readSlotError is a doubt check whose read slot could not be taken: Redis.
type readSlotError struct{ err error }

func (e *readSlotError) Error() string { return "take read slot: " + e.err.Error() }
func (e *readSlotError) Unwrap() error { return e.err }

// conversationReadSlot waits for a slot of r's Page's conversation read
// schedule, for a read of r's conversation by the worker (the doubt check,
// the answered check): a *readLaterError when the slot is too far ahead or
// the Page is paused, a *readSlotError when Redis fails.
func (w *Worker) conversationReadSlot(ctx context.Context, ps *pageState, r *tasks.Reply) error {
	// The check reads the conversation as the poll and the API do: in a slot
	// of the Page's conversation read schedule (Meta allows about 2 calls a
	// second there), not only in the send slot this reply holds, so a burst
	// of doubtful replies (after a Graph outage) does not read faster than
	// that.
	return w.readSlot(ctx, r, "reads:conversations", ConversationReadLimit(ps.cfg), "conversation")
}

// readSlot waits for a slot of r's Page's read schedule name (lim) for a
// read by the worker about r (what names the schedule in put-back reasons):
// a *readLaterError when the slot is too far ahead or the Page is paused, a
// *readSlotError when Redis fails. A slot too far ahead puts the reply back
// instead of holding a worker slot, and is held for it (TakeReadHeld): at a
// slow rate a poll walking a long listing books its next slot the moment it
// read one, a full interval ahead, so a reply that only came back for the
// slot it was told of would find it taken every time.
//
// A pause check answered late (Redis away for a moment) takes a new slot, as
// every reader's does (AwaitRead).
func (w *Worker) readSlot(ctx context.Context, r *tasks.Reply, name string, lim tasks.Limit, what string) error {
	// Paused, or the slot too far: back to the queue as a *readLaterError.
	later := func(err error) error {
		if d, ok := pausedPutBack(err).(*delayError); ok {
			return &readLaterError{d}
		}
		return &readSlotError{err}
	}
	err := AwaitRead(ctx, ReadWait{
		Limit: lim,
		Take: func(ctx context.Context, _ bool) (time.Duration, error) {
			wait, err := w.p.Ledger.TakeReadHeld(ctx, r.PageID, name, r.Target.String(), lim, heldReadWait, lim.Interval/10)
			switch {
			case errors.Is(err, tasks.ErrReadLater):
				// Back early enough to wait for its send slot
				// (Params.MaxWait) and still be in time for the held one.
				return 0, &readLaterError{&delayError{d: max(wait-heldReadEarly, 0), reason: what + " read rate used up; its slot is held"}}
			case err != nil:
				return 0, later(err)
			}
			return wait, nil
		},
		Check: func(ctx context.Context) error {
			if err := checkPaused(ctx, w.p.Ledger, r.PageID); err != nil {
				return later(err)
			}
			return nil
		},
	})
	if ended := (*ReadWaitEnded)(nil); errors.As(err, &ended) {
		// Stopping: back to the queue, no Graph error to count.
		return &readLaterError{&delayError{d: time.Second, reason: "stopped while waiting for a " + what + " read slot"}}
	}
	return err
}

// lastRunSendsUnchecked reports whether a reply on its last run whose
// answered check failed with err (checkAnswered's) is sent unchecked rather
// than put back, which would archive it unsent: all but a Page paused (by
// the ledger, or by Graph's answer to the read), which no send may go
// through either, and a worker stopping.
func lastRunSendsUnchecked(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var later *readLaterError
	if errors.As(err, &later) {
		return !strings.HasPrefix(later.delay.reason, putBackPaused)
	}
	var ge *graph.Error
	return !errors.As(err, &ge) || !PausesPage(err)
}

// answeredCheckAfter is how long after its enqueue a conversation reply is
// checked for an answer from the Page before it is sent (mayBeAnswered): a
// reply sent within it goes out on the read that queued it.
const answeredCheckAfter = time.Minute

// mayBeAnswered reports whether r is a conversation reply that waited long
// enough since its conversation was read (answeredCheckAfter, or an age
// unknown) for someone at the Page to have answered the person meanwhile.
func (w *Worker) mayBeAnswered(r *tasks.Reply) bool {
	if r.Target.Kind != tasks.KindMessage || r.ConversationID == "" || r.Created <= 0 {
		return false
	}
	return r.EnqueuedAt <= 0 || time.Since(time.UnixMilli(r.EnqueuedAt)) > answeredCheckAfter
}

// errPageAnswered: the Page answered the person's message of a conversation
// reply (pageAnswer) before the reply was sent; the target is recorded as
// sent with the answer's id, and the task is done.
var errPageAnswered = errors.New("the Page answered the person's message already")

// checkAnswered reads r's conversation, in a slot of its Page's conversation
// read schedule, and returns the Page's message that answered the person's
// message (r.Created) since, nil when none did. Its errors are
// conversationReadSlot's and Graph's.
func (w *Worker) checkAnswered(ctx context.Context, ps *pageState, r *tasks.Reply, log *taskLog) (*graph.Message, error) {
	if err := w.conversationReadSlot(ctx, ps, r); err != nil {
		return nil, err
	}
	conv, err := w.p.Graph.Conversation(graph.WithPageID(ctx, r.PageID), ps.cfg.AccessToken, r.ConversationID)
	if err != nil {
		return nil, err
	}
	graphAnswered(ps, log)
	return pageAnswer(r.PageID, conv.Messages, r.Created), nil
}

// pageAnswer returns the Page's message of msgs that answered the person's
// message written at createdMS (Unix ms): one written more than
// intake.InstantReplyWithin after it, as the poll counts an answer
// (Messenger's instant reply, greeting or away message come sooner), and
// not within intake.InstantReplyWithin after another message of the
// person's, which makes it the automatic answer to that one (the poll
// answers that message, and the person's record would take this one for a
// reply that reached them after it); nil when there is none, or createdMS
// is unknown.
func pageAnswer(pageID string, msgs []graph.Message, createdMS int64) *graph.Message {
	if createdMS <= 0 {
		return nil
	}
	created := time.UnixMilli(createdMS)
	for i := range msgs {
		if m := &msgs[i]; byPage(pageID, m) && m.CreatedTime.Sub(created) > intake.InstantReplyWithin && !instantReply(pageID, msgs, m) {
			return m
		}
	}
	return nil
}

// instantReply reports whether the Page's message m comes within
// intake.InstantReplyWithin after a message of msgs by the person (any not
// the Page's, as intake counts them).
func instantReply(pageID string, msgs []graph.Message, m *graph.Message) bool {
	for i := range msgs {
		p := &msgs[i]
		if byPage(pageID, p) || p.CreatedTime.IsZero() || p.CreatedTime.After(m.CreatedTime.Time) {
			continue
		}
		if m.CreatedTime.Sub(p.CreatedTime.Time) <= intake.InstantReplyWithin {
			return true
		}
	}
	return false
}

// byPage reports whether m is the Page's message.
func byPage(pageID string, m *graph.Message) bool { return m.From != nil && m.From.ID == pageID }

// recordAnswered records r's target as sent with the Page's answer a
// (RecordAnswered). It returns errPageAnswered, or the Redis error that kept
// it from recording.
func (w *Worker) recordAnswered(ctx context.Context, r *tasks.Reply, a *graph.Message) error {
	// The answer is in Graph: recorded with recordSent, as a reply the
	// worker sent is.
	if err := w.recordSent(ctx, func(ctx context.Context) error {
		return RecordAnswered(ctx, w.p.Ledger, r, a)
	}); err != nil {
		return err
	}
	return errPageAnswered
}

// RecordAnswered records r's target as sent with the Page's answer a, and a
// as a reply that reached r's person (r.PSID, when set) when it was written,
// so that the person's earlier messages are taken as answered too
// (tasks.PersonClaim). The person's record goes first: should the target's
// mark fail, recording again records both. The worker records so a reply
// whose conversation someone at the Page answered meanwhile, and the API a
// conversation reply asked for after such an answer.
func RecordAnswered(ctx context.Context, l *tasks.Ledger, r *tasks.Reply, a *graph.Message) error {
	if r.PSID != "" {
		if err := l.PersonSent(ctx, r.PageID, tasks.Person{ID: r.PSID}, r.Target, a.ID, a.CreatedTime.Time, tasks.PersonTTL); err != nil {
			return fmt.Errorf("record the Page's answer to %s: %w", r.Target, err)
		}
	}
	if err := l.MarkSent(ctx, r.PageID, r.Target, a.ID); err != nil {
		return fmt.Errorf("record the Page's answer to %s: %w", r.Target, err)
	}
	return nil
}

// errUnsettled is a conversation reply whose earlier attempt may have reached
// the person, where the conversation cannot tell: it is not sent again.
var errUnsettled = errors.New(tasks.UnsettledReason)

// unsettledError is errUnsettled (errors.Is) with the latest time the
// earlier attempt's reply could have reached the person: the oldest message
// of the conversation's newest page, which the reply is not on (the zero
// time: unknown, the conversation not read).
type unsettledError struct{ before time.Time }

func (e *unsettledError) Error() string        { return errUnsettled.Error() }
func (e *unsettledError) Is(target error) bool { return target == errUnsettled }

// holdUnsettledMessage takes r's person as answered by r's reply, whose
// outcome can never be known (err, an errUnsettled): recorded, with no
// message id, as a reply that reached them when it could have landed at the
// latest (the oldest message of the newest page read, Graph's time; now, in
// Redis's clock, when the conversation was not read). A reply to a message
// they wrote before that (one queued earlier, waiting) is then not sent, as
// it would be their second reply if that one got through; one to a message
// written after it gets its own, as it would either way. Without it the
// failed target held no one, and such a reply went out. Never two replies
// wins over never missing one, as for a commenter (holdUnsettled).
func (w *Worker) holdUnsettledMessage(ctx context.Context, r *tasks.Reply, err error) error {
	if r.PSID == "" {
		return nil
	}
	var ue *unsettledError
	var before time.Time
	if errors.As(err, &ue) {
		before = ue.before
	}
	if err := w.p.Ledger.PersonSent(ctx, r.PageID, tasks.Person{ID: r.PSID}, r.Target, "", before, tasks.PersonTTL); err != nil {
		return fmt.Errorf("take the person of %s as answered, its reply's outcome unknown: %w", r.Target, err)
	}
	return nil
}

// settleMessageDoubt does for a conversation reply what
// private_reply_conversation does for a comment: Messenger has no such field,
// but the conversation itself tells. Its messages come newest first, so a
// message from the Page with the reply's text, above the person's message
// that the reply answers (the target), is the earlier attempt; reaching the
// target first means no attempt got through. The text tells the earlier
// attempt from the Page's other messages, such as Messenger's automatic
// instant reply or away message, which would otherwise pass for it and leave
// the person unanswered. The texts an attempt may have carried are the
// reply's own (a task keeps its payload, and one that replaces an archived
// task whose outcome is in doubt keeps the archived one's text) and the
// first text queued for the target (tasks.Ledger.NoteText: a task queued
// anew after the archived one was deleted may carry another). Texts are
// compared with their runs of white space made one space, which Messenger
// may not keep as sent. When the newest messages hold
// neither (more than a page written since, or a task without its
// conversation), the outcome cannot be read, and the reply is not sent again:
// errUnsettled, which the caller archives.
func (w *Worker) settleMessageDoubt(ctx context.Context, ps *pageState, r *tasks.Reply) (bool, error) {
	if r.ConversationID == "" {
		return false, errUnsettled
	}
	if err := w.conversationReadSlot(ctx, ps, r); err != nil {
		return false, err
	}
	// The first text queued for the target (tasks.Ledger.NoteText): an
	// earlier attempt may have carried it, if a task with another text
	// replaced one whose outcome was in doubt.
	noted, err := w.p.Ledger.NotedText(ctx, r.PageID, r.Target)
	if err != nil {
		return false, &readSlotError{err}
	}
	conv, err := w.p.Graph.Conversation(graph.WithPageID(ctx, r.PageID), ps.cfg.AccessToken, r.ConversationID)
	if err != nil {
		return false, err
	}
	for i, m := range conv.Messages {
		if m.ID == r.Target.ID {
			// No attempt got through; the Page's messages above may still
			// hold someone's answer in the inbox.
			if a := pageAnswer(r.PageID, conv.Messages[:i], r.Created); a != nil {
				return true, w.recordAnswered(ctx, r, a)
			}
			return false, nil
		}
		if m.From != nil && m.From.ID == r.PageID && (intake.SameText(m.Message, r.Text) || noted != "" && tasks.TextDigest(m.Message) == noted) {
			if r.PSID != "" {
				// Before the target's mark: should this fail, the rerun
				// finds the reply again and records both.
				if err := w.recordSent(ctx, func(ctx context.Context) error {
					return w.p.Ledger.PersonSent(ctx, r.PageID, tasks.Person{ID: r.PSID}, r.Target, m.ID, m.CreatedTime.Time, tasks.PersonTTL)
				}); err != nil {
					return true, fmt.Errorf("record earlier reply to %s: %w", r.Target, err)
				}
			}
			if err := w.recordSent(ctx, func(ctx context.Context) error {
				return w.p.Ledger.MarkSent(ctx, r.PageID, r.Target, m.ID)
			}); err != nil {
				return true, fmt.Errorf("record earlier reply to %s: %w", r.Target, err)
			}
			return true, nil
		}
	}
	// Had the earlier attempt's reply landed, it would be listed below every
	// message of this page: it landed before the oldest of them, if at all.
	ue := &unsettledError{}
	for _, m := range conv.Messages {
		if t := m.CreatedTime.Time; !t.IsZero() && (ue.before.IsZero() || t.Before(ue.before)) {
			ue.before = t
		}
	}
	return false, ue
}

// graphError turns a Graph error into the task's outcome, by class.
//
// doubtful says the target's entry was doubtful before this attempt (an
// earlier attempt's outcome unknown) and err is the failed check of it: the
// doubt is then kept whatever err says about this call.
//
// earlier says an earlier attempt of r may have sent it (its ledger entry
// was in doubt): Graph's "already replied" is then that attempt's reply,
// counted as sent; otherwise a reply sent by someone else, a duplicate.
//
// reached says a reply to r may have reached its person and nothing but
// err's call would have told (a doubt's check, a post's doubt settled by
// the send, a send whose own outcome is unknown): a permanent answer ends
// it unsettled, and its person is taken as answered first (holdUnsettled).
func (w *Worker) graphError(ctx context.Context, ps *pageState, r *tasks.Reply, token string, err error, doubtful, earlier, reached bool, log *taskLog) error {
	var gerr *graph.Error
	class := graph.ClassTransient
	if errors.As(err, &gerr) {
		// Only Graph's own answer classes an error; anything else (which the
		// Graph client does not return) is retried with its outcome unknown,
		// never archived as permanent.
		class = gerr.Class
	}
	if class != graph.ClassTransient {
		// Graph answered about this call: whatever the run of failures
		// was, Graph is up.
		graphAnswered(ps, log)
	}
	// failClass is the class a failure for good keeps (the API's
	// error_class): Graph's (permanent, app_not_live), page_broken for a
	// Page-level answer taken as the reply's (the Page's owner can tell
	// why, not the person's refusal "permanent" says), unsettled below.
	failClass := graph.FailureClass(err)
	if class == graph.ClassPageBroken {
		n, cerr := w.p.Ledger.CountBrokenAnswer(ctx, r.PageID, r.Target)
		switch {
		case cerr != nil:
			// Not known to be the reply's: the Page is paused, as before.
			log.L().Warn("could not count the reply's page-broken answers", slog.String("error", cerr.Error()))
		case n >= brokenAnswersOfOneReply:
			class, failClass = graph.ClassPermanent, graph.ClassPageBroken.String()
			err = fmt.Errorf("page-broken answer %d to this reply, %d of them after other replies of the Page were sent: taken as the reply's, not the Page's: %w", n+1, n, err)
		}
	}
	if class != graph.ClassAlreadyReplied && class != graph.ClassThrottled {
		// Already replied is a success and throttling a pause (counted in
		// pagereply_page_pauses_total): SPEC counts neither as a failure.
		w.m.RepliesFailed.WithLabelValues(r.PageID, class.String()).Inc()
	}
	switch class {
	case graph.ClassAlreadyReplied:
		if earlier {
			w.countSent(r)
		} else {
			w.m.DuplicatesSkipped.WithLabelValues(r.PageID, "graph").Inc()
		}
		if who, ok := personOf(ps, r); ok && who.Commenter {
			// The person has a private reply for this comment, the earlier
			// attempt's or someone's in the Page's inbox: with one reply per
			// person, their other comments are answered by it.
			if perr := w.recordSent(ctx, func(ctx context.Context) error {
				return w.p.Ledger.PersonSent(ctx, r.PageID, who, r.Target, "", time.Time{}, personTTL(ps, r))
			}); perr != nil {
				return w.redisFailure(ctx, perr, fmt.Errorf("reply %s already exists, but recording it for the person failed: %w", r.Target, perr))
			}
		}
		if gerr.Usage.Throttled() {
			// Done, but the answer says the Page is at its limit: pause it
			// as for any other answer that says so.
			PauseForError(w.p.Ledger, w.m, r.PageID, &graph.Error{Class: graph.ClassThrottled, Endpoint: gerr.Endpoint, RetryAfter: gerr.RetryAfter,
				Message: "usage near the limit on an already-replied answer", Usage: gerr.Usage}, log.L())
		}
		// Graph holds the reply: its records go on as the send's own do
		// (recordSent) when the task's context ended or Redis is away.
		if merr := w.recordSent(ctx, func(ctx context.Context) error {
			return w.p.Ledger.MarkSent(ctx, r.PageID, r.Target, "")
		}); merr != nil {
			return w.redisFailure(ctx, merr, fmt.Errorf("reply %s already exists, but recording it failed: %w", r.Target, merr))
		}
		w.logAlreadyReplied(ctx, log)
		return nil
	case graph.ClassThrottled, graph.ClassPageBroken:
		d := PauseForError(w.p.Ledger, w.m, r.PageID, err, log.L())
		w.settle(*r, token, gerr, doubtful, log)
		back := d + spread(d)
		if class == graph.ClassPageBroken {
			back = d + behindPutBacks
		}
		return &delayError{d: back, reason: putBackPaused + class.String() + ": " + err.Error()}
	case graph.ClassPermanent:
		if reached {
			// A send of this attempt's that may have left may still land
			// within the send's settle time; an earlier attempt's, checked
			// after its settle time, had landed by now.
			settle := time.Duration(0)
			if !doubtful && mayHaveLeft(gerr) {
				settle = w.p.SendSettle
			}
			if herr := w.holdUnsettled(ctx, ps, r, landedBy(settle)); herr != nil {
				// Kept in doubt instead: the next attempt tries again.
				if !doubtful && mayHaveLeft(gerr) {
					w.markUnknown(*r, w.p.SendSettle, log)
				} else {
					w.giveBack(*r, token, true, log)
				}
				return w.redisFailure(ctx, herr, fmt.Errorf("reply %s: %w, and %w", r.Target, err, herr))
			}
			if failClass != graph.FailureAppNotLive {
				// Its person taken as answered: the reply may have reached
				// them, which "permanent" (Graph refused it, nothing went)
				// would deny. The app-not-live refusal keeps its class, which
				// a run again once the app is live reads (an earlier attempt
				// refused the same way sent nothing, and Graph refuses a
				// comment's second private reply itself).
				failClass = tasks.ClassUnsettled
			}
		}
		return w.failForGood(ctx, r, failClass, err, "reply cannot be sent", log)
	}
	w.settle(*r, token, gerr, doubtful, log)
	err = fmt.Errorf("reply %s: %w", r.Target, err)
	if d, ok := w.askedWait(ctx, r, err, log); ok {
		return d
	}
	if d, ok := w.outage(ctx, ps, r, err, log); ok {
		return d
	}
	return w.failure(ctx, err)
}

// settle leaves the ledger's entry of a reply whose Graph call failed ready
// for the next attempt: when the answer was lost, or Graph's answer does not
// say nothing was sent (gerr.Unknown, or no Graph answer at all), Graph may
// have acted, so the target is marked unknown and the next attempt checks
// before sending; so it is when the entry was doubtful already. Otherwise the
// claim is released. A throttled or page-broken answer can be unknown too (a
// 5xx whose usage headers say throttled).
//
// A send whose outcome is unknown may still be on its way through Graph:
// Graph can act on a request after the client gave up (a timeout, a
// connection lost after the request left), and an answer from an edge or
// gateway (a 502 or 504 page) or Graph's own "unknown error" (a 5xx, codes 1
// and 2) does not say the backend is done with it either. Its entry gets
// Params.SendSettle, and the next attempt, whatever brings it (a retry, a
// stopping worker's task handed to another, an enqueue after an archive),
// asks Graph only after that: a check made sooner could find nothing, send
// again, and have the late one land too, which for a conversation reply is a
// second message that nothing refuses. (A failed check, doubtful, sent
// nothing: its doubt is kept with no settle time.)
func (w *Worker) settle(r tasks.Reply, token string, gerr *graph.Error, doubtful bool, log *taskLog) {
	if !doubtful && mayHaveLeft(gerr) {
		w.markUnknown(r, w.p.SendSettle, log)
		return
	}
	w.giveBack(r, token, doubtful, log)
}

// giveBack hands a claimed target back for the next attempt. A target whose
// outcome is in doubt is marked unknown, so the next attempt checks Graph
// before it sends; releasing its claim would delete the entry and, with it,
// the only record of the doubt (only while the claim is still this
// attempt's: see tasks.Ledger.GiveBackUnknown). Any other claim is
// released. Like release it runs even when the task's context is done; if
// marking fails the claim stays until its lease ends, and an expired claim
// is doubtful too.
func (w *Worker) giveBack(r tasks.Reply, token string, doubtful bool, log *taskLog) {
	if !doubtful {
		w.release(r, token, log)
		return
	}
	ctx, cancel := w.recordCtx(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.p.Ledger.GiveBackUnknown(ctx, r.PageID, r.Target, token); err != nil {
		log.L().Warn("record unknown outcome", slog.String("error", err.Error()))
		return
	}
	w.holdIfDoubtRefused(ctx, r, 0, log)
}

// markUnknown marks r's target unknown, to be checked with Graph after settle.
func (w *Worker) markUnknown(r tasks.Reply, settle time.Duration, log *taskLog) {
	ctx, cancel := w.recordCtx(context.Background(), tasks.ServerRetryFor+5*time.Second)
	defer cancel()
	if err := writeWhileAway(ctx, func(ctx context.Context) error {
		return w.p.Ledger.MarkUnknown(ctx, r.PageID, r.Target, settle)
	}); err != nil {
		log.L().Warn("record unknown outcome", slog.String("error", err.Error()))
		return
	}
	w.holdIfDoubtRefused(ctx, r, settle, log)
}

// failure returns err as a failure that uses a retry, or archives the task when
// its retries are used up: a ranOutError, which replyDone counts. asynq's
// own limit sits tasks.ReplyRetryHeadroom above worker.max_retry, so that
// the worker decides, and a put-back never archives a reply that still has
// retries; when the task is at asynq's limit all the same (one queued by an
// older pagereply, one above), asynq archives it on this failure anyway.
func (w *Worker) failure(ctx context.Context, err error) error {
	if n, ok := asynq.GetRetryCount(ctx); ok && (n >= w.p.MaxRetry || lastRun(ctx)) {
		return &ranOutError{err: err, n: n}
	}
	return err
}

// ranOutError archives a reply whose retries are used up (asynq.SkipRetry).
type ranOutError struct {
	err error
	n   int // retries used
}

func (e *ranOutError) Error() string {
	return fmt.Sprintf("%v (after %d retries): %v", e.err, e.n, asynq.SkipRetry)
}

func (e *ranOutError) Unwrap() []error { return []error{e.err, asynq.SkipRetry} }

// replyDone is the reply handler's last step, on its outcome err. A failure
// that did not go through failure (a panic in the handler) is put through it
// now: asynq's own limit is far above worker.max_retry
// (tasks.ReplyRetryHeadroom), and such a failure would otherwise be retried
// up to that limit. A reply archived because its retries ran out on Graph's
// answers (a ranOutError whose last failure was Graph's transient refusal;
// not a permanent error, which records the target failed for good) is
// counted for its target (tasks.Ledger.CountRanOut).
// Past tasks.MaxReplacements, a poll, delivery or API call that finds the
// target again records it as failed for good instead of queuing a task with
// a full set of retries, whether or not the archived task is still there.
// When the count cannot be written, the task is archived all the same: an
// uncounted archive costs at most one more task of the target later.
func (w *Worker) replyDone(ctx context.Context, t *asynq.Task, err error) error {
	if err == nil || !IsFailure(err) {
		return err
	}
	var ro *ranOutError
	if !errors.As(err, &ro) {
		if errors.Is(err, asynq.SkipRetry) || errors.Is(err, asynq.RevokeTask) {
			return err
		}
		if err = w.failure(ctx, err); !errors.As(err, &ro) {
			return err
		}
	}
	var ge *graph.Error
	if !errors.As(ro.err, &ge) {
		// Not Graph's refusal: a Page this worker lacks (a rolling update,
		// whose replies each start runs again from the archive), Redis, a
		// network that did not reach Graph. The cap is for a reply Graph
		// keeps refusing; counting these would give up, after a few
		// restarts, a reply Graph was never asked to send.
		return err
	}
	r, derr := tasks.DecodeReply(t.Payload())
	if derr != nil {
		return err
	}
	cctx, cancel := w.recordCtx(ctx, 5*time.Second)
	defer cancel()
	if _, cerr := w.p.Ledger.CountRanOut(cctx, r.PageID, r.Target, err.Error()); cerr != nil {
		(&taskLog{base: w.log, r: &r}).L().Warn("count task out of retries", slog.String("error", cerr.Error()))
	}
	return err
}

// redisAwaySteps is how far up the backoff (Params.BackoffBase doubled that
// many times) a reply waits when pagereply's own Redis is away: about 4 s
// with the default base.
const redisAwaySteps = 2

// writeWhileAway runs write, the ledger's record of a reply Graph has just
// accepted (or of a send whose answer was lost), and while Redis is away
// (tasks.RedisAway: a restart, a failover, a pause, full) runs it again for
// up to tasks.ServerRetryFor, as the worker's asynq server waits out such an
// outage, or until ctx ends. Only this attempt knows the reply exists (or
// may): given up at once, the record was left to the target's claim, whose
// next attempt asks Graph before sending; but a Redis that comes back
// without its data (no persistence: no AOF, no RDB) has no claim, and the
// reply went out a second time (a second Messenger message: only a
// comment's or post's is refused by Graph, 10900).
func writeWhileAway(ctx context.Context, write func(context.Context) error) error {
	err := write(ctx)
	if err == nil || !tasks.RedisAway(err) {
		return err
	}
	until := time.Now().Add(tasks.ServerRetryFor)
	for wait := tasks.ServerRetryMinWait; time.Now().Before(until); wait = min(2*wait, tasks.ServerRetryMaxWait) {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		if err = write(ctx); err == nil || !tasks.RedisAway(err) {
			return err
		}
	}
	return err
}

// recordSent runs write, a record of a reply Graph has accepted, with ctx
// while it lasts; when ctx has ended (asynq put the task back at shutdown,
// or lost its lease: the reply exists all the same) or Redis is away, it
// goes on as writeWhileAway with recordCtx, which outlasts ctx. A write
// that lands at once, the common case, costs no context of its own.
func (w *Worker) recordSent(ctx context.Context, write func(context.Context) error) error {
	if ctx.Err() == nil {
		err := write(ctx)
		if err == nil || ctx.Err() == nil && !tasks.RedisAway(err) {
			return err
		}
	}
	rctx, cancel := w.recordCtx(ctx, tasks.ServerRetryFor+5*time.Second)
	defer cancel()
	return writeWhileAway(rctx, write)
}

// redisFailure is failure for err, whose cause is an error of one of the
// handler's own Redis calls (the ledger, the limiter, the replica wait). When
// that Redis could not be reached, or was full (tasks.RedisAway) the reply is
// not failing: it goes back on the queue after a backoff without using a
// retry, so an outage, a Cluster shard failing over or a Redis at its
// maxmemory never archives a reply that was not sent, whatever
// worker.max_retry says. asynq's own writes wait out the
// outage in the meantime (tasks.NewServerRedisClient).
func (w *Worker) redisFailure(ctx context.Context, cause, err error) error {
	if tasks.RedisAway(cause) {
		why := "redis unavailable: "
		if tasks.RedisFull(cause) {
			why = "redis full (maxmemory): "
		}
		return &delayError{d: Backoff(redisAwaySteps, w.p.BackoffBase, w.p.BackoffMax), reason: why + err.Error()}
	}
	return w.failure(ctx, err)
}

// returnSendSlot gives back the send slot a reservation of page booked with
// lim, for a reply going back to the queue unsent.
func (w *Worker) returnSendSlot(page string, lim tasks.Limit, log *taskLog) {
	ctx, cancel := w.recordCtx(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.p.Ledger.ReturnSendSlot(ctx, page, lim); err != nil {
		w.logRedisAway(ctx, log, err, "return send slot")
	}
}

// logRedisAway logs msg, a task's Redis call that failed, at WARN; when
// Redis is away (tasks.RedisAway) only the first of such lines in
// logspace.Period, the others at debug: every reply in flight gives back its
// claim and send slot at once, a WARN each that says one thing.
func (w *Worker) logRedisAway(ctx context.Context, log *taskLog, err error, msg string) {
	if !tasks.RedisAway(err) {
		log.L().Warn(msg, slog.String("error", err.Error()))
		return
	}
	lvl, repeated := w.redisAwayLog.Level(time.Now(), slog.LevelWarn)
	attrs := []any{slog.String("error", err.Error())}
	if lvl != slog.LevelDebug {
		attrs = append(attrs, slog.String("hint", "Redis is away: every reply in flight fails alike, their lines are at debug for 10s"))
		if repeated > 0 {
			attrs = append(attrs, slog.Int("repeated", repeated))
		}
	}
	log.L().Log(ctx, lvl, msg, attrs...)
}

// logAlreadyReplied says at INFO that Graph refused a reply as already
// replied and it was recorded as sent: the first in logspace.Period, the
// others at debug, counted by the next at INFO ("repeated") and each in
// pagereply_duplicates_skipped_total{where="graph"}. After Redis lost its
// data every answered comment the poll finds again ends so, a line each.
func (w *Worker) logAlreadyReplied(ctx context.Context, log *taskLog) {
	lvl, repeated := w.alreadyRepliedLog.Level(time.Now(), slog.LevelInfo)
	var attrs []any
	if lvl != slog.LevelDebug && repeated > 0 {
		attrs = append(attrs, slog.Int("repeated", repeated),
			slog.String("hint", "many replies Graph already had: a webhook and a poll meeting, or Redis lost its ledger (deploy/README.md, Redis)"))
	}
	log.L().Log(ctx, lvl, "graph says already replied; recorded as sent", attrs...)
}

func (w *Worker) release(r tasks.Reply, token string, log *taskLog) {
	// Release even when the task's context is done: the claim would otherwise
	// block the next attempt until its lease ends.
	ctx, cancel := w.recordCtx(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.p.Ledger.Release(ctx, r.PageID, r.Target, token); err != nil {
		w.logRedisAway(ctx, log, err, "release claim")
	}
}

// PauseForError pauses a Page after a throttled or page-broken Graph error,
// or a transient one that said when to call again (waitAsked, a graph_down
// pause) — for the time Graph gives to regain access, else a default — counts and logs
// it, and returns the pause. The reply handler, the poll and the API's
// conversation reads use it; log carries page's page_id.
func PauseForError(l *tasks.Ledger, m *metrics.Metrics, page string, err error, log *slog.Logger) time.Duration {
	kind, d, longest := pauseOf(err)
	reason := kind + ": " + err.Error()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if kind == tasks.PauseThrottled && graph.AppThrottled(err) {
		// The app is at its limit, not only this Page: every Page it
		// serves stops, or the others would push it further over.
		return pauseApp(ctx, l, m, page, d, longest, "the app is at its limit: "+err.Error(), log)
	}
	if set := pausePagesFor(ctx, l, m, []string{page}, page, kind, d, longest, reason, log); set > 0 {
		d = set
	}
	return d
}

// pauseOf is the pause a throttled or page-broken Graph error, or a
// transient one that said when to call again, calls for: its
// kind, its length, and the longest it doubles to while the block goes on
// (0: it does not double).
func pauseOf(err error) (kind string, d, longest time.Duration) {
	kind, d, longest = tasks.PauseThrottled, defaultThrottlePause, longestThrottlePause
	ge := (*graph.Error)(nil)
	errors.As(err, &ge)
	switch {
	case graph.PolicyBlocked(err):
		// A block of the Page, not of its token (368, 2022, and code 10's
		// messaging restriction, 1893063): hours, doubling while it goes
		// on, and a new token does not lift it (LiftStaleBrokenPause lifts
		// page_broken pauses only).
		kind, d, longest = tasks.PausePolicyBlock, max(policyBlockPause, ge.RetryAfter), longestPolicyBlock
	case graph.ClassOf(err) == graph.ClassPageBroken:
		// At least brokenPagePause, longer when Graph says so; fixed by
		// the operator, so no doubling.
		kind, d, longest = tasks.PausePageBroken, brokenPagePause, 0
		if ge != nil {
			d = max(d, ge.RetryAfter)
		}
	case waitAsked(err):
		// A transient answer that said when to call again (a 503 with
		// Retry-After, from Graph or a proxy in front of it): Graph is
		// away for the Page until then, not throttling it. Its time, no
		// doubling.
		kind, d, longest = tasks.PauseGraphDown, ge.RetryAfter, 0
	case ge != nil && ge.RetryAfter > 0:
		// Graph's own time: no doubling.
		d, longest = ge.RetryAfter, 0
	}
	return kind, d, longest
}

// PauseKindOf is the kind of pause (tasks.PauseThrottled, PauseGraphDown,
// ...) PauseForError sets for err, one that PausesPage.
func PauseKindOf(err error) string {
	kind, _, _ := pauseOf(err)
	return kind
}

// pausedFor is the reason of a task put back because err paused its Page
// (PauseForError): err's class (graph_down for a transient answer that said
// when to call again, as its pause) and err.
func pausedFor(err error) string {
	kind := graph.ClassOf(err).String()
	if waitAsked(err) {
		kind = tasks.PauseGraphDown
	}
	return putBackPaused + kind + ": " + err.Error()
}

// PausesPage reports whether err is a Graph answer that pauses the Page
// (PauseForError) rather than failing the call alone: throttled, a broken
// Page, or a transient answer that said when to call again (waitAsked). The
// worker's calls and the API's conversation reads (pagereply enqueue's too)
// use it alike.
func PausesPage(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && (ge.Class == graph.ClassThrottled || ge.Class == graph.ClassPageBroken || waitAsked(err))
}

// pauseApp pauses every Page of the app (tasks.LedgerOptions.AppPages) after
// an answer to page said the app is at its limit: page for d, the time that
// answer gave, and the others for the default throttle pause at most. A
// regain time in the answer may be page's own block (its business use case
// usage, up to a day), and the app's own limit is a rolling window: once a
// pause ends, the next answer's X-App-Usage says whether it still holds.
// When Graph gave no time (longest is not 0), the app's pause doubles up to
// longest while the block goes on (tasks.Ledger.AppPauseLength: one record
// for the app, whichever Page's call is refused). Each other Page's pause is
// a little longer than that (up to half as long again, at random), so that
// when it ends the Pages do not all call Graph at once: the first to call
// finds whether the app is still at its limit, and its answer pauses the
// others again. It returns page's pause.
func pauseApp(ctx context.Context, l *tasks.Ledger, m *metrics.Metrics, page string, d, longest time.Duration, reason string, log *slog.Logger) time.Duration {
	others := min(d, defaultThrottlePause)
	if longest > 0 {
		e, err := l.AppPauseLength(ctx, others, longest)
		if err != nil {
			log.Error("app pause length", slog.String("error", err.Error()))
		}
		others = e
		d = max(d, e)
	}
	// One request per Page of the app, sent in a few pipelines: an agency's
	// thousands of Pages, one round trip each, outlasted the caller's
	// deadline and left the later Pages calling Graph at the app's limit.
	reqs := []tasks.PauseRequest{{Page: page, D: d, Reason: tasks.PauseThrottled + ": " + reason}}
	seen := tasks.PauseThrottled + ": " + reason + " (seen on page " + page + ")"
	for _, p := range l.AppPages(page) {
		if p == page {
			continue
		}
		od := others + time.Duration(rand.Int64N(int64(others/2)+1))
		reqs = append(reqs, tasks.PauseRequest{Page: p, D: od, Reason: seen})
	}
	pauseRequests(ctx, l, m, reqs, page, tasks.PauseThrottled, log)
	return d
}

// pausePages pauses pages for d with reason, then counts and logs each pause
// that was set or lengthened. log is the logger of the call whose answer
// said so, about the Page origin (it carries origin's page_id); the pauses of
// other Pages are logged with theirs.
func pausePages(ctx context.Context, l *tasks.Ledger, m *metrics.Metrics, pages []string, origin, kind string, d time.Duration, reason string, log *slog.Logger) {
	pausePagesFor(ctx, l, m, pages, origin, kind, d, 0, reason, log)
}

// pausePagesFor is pausePages with escalating pauses (tasks.Ledger.
// PauseEscalating) when longest is not 0. It returns the last pause set.
func pausePagesFor(ctx context.Context, l *tasks.Ledger, m *metrics.Metrics, pages []string, origin, kind string, d, longest time.Duration, reason string, log *slog.Logger) time.Duration {
	reqs := make([]tasks.PauseRequest, len(pages))
	for i, p := range pages {
		reqs[i] = tasks.PauseRequest{Page: p, D: d, Longest: longest, Reason: reason}
	}
	return pauseRequests(ctx, l, m, reqs, origin, kind, log)
}

// pauseRequests sets the pauses of reqs (tasks.Ledger.PauseMany), then counts
// and logs each one that was set or lengthened, as pausePages. It returns the
// last pause set.
func pauseRequests(ctx context.Context, l *tasks.Ledger, m *metrics.Metrics, reqs []tasks.PauseRequest, origin, kind string, log *slog.Logger) time.Duration {
	lvl := slog.LevelWarn
	if kind == tasks.PausePageBroken || kind == tasks.PausePolicyBlock {
		lvl = slog.LevelError
	}
	// Past a few Pages (the app's limit pausing an agency's thousands),
	// the other Pages' pauses and failures are summed up in one line each,
	// their own lines at DEBUG: a line per Page flooded the log at the
	// moment an operator reads it.
	many := len(reqs) > pauseLinesMax
	var last time.Duration
	var others, failed int
	var shortest, longest time.Duration
	var firstErr error
	var reason string
	for i, res := range l.PauseMany(ctx, reqs) {
		p := reqs[i].Page
		if res.Err != nil {
			if many && p != origin {
				failed++
				if firstErr == nil {
					firstErr = res.Err
				}
				log.Debug("pause page", slog.String("paused_page_id", p), slog.String("error", res.Err.Error()))
				continue
			}
			log.Error("pause page", slog.String("paused_page_id", p), slog.String("error", res.Err.Error()))
			continue
		}
		if res.Set > 0 {
			last = res.Set
			m.PagePauses.WithLabelValues(p, kind).Inc()
			pl := log
			if p != origin {
				pl = log.With(slog.String("paused_page_id", p))
			}
			if many && p != origin {
				if others == 0 || res.Set < shortest {
					shortest = res.Set
				}
				longest = max(longest, res.Set)
				others++
				reason = reqs[i].Reason
				pl.Debug("page paused", slog.String("reason", reqs[i].Reason), slog.Duration("for", res.Set))
				continue
			}
			attrs := []any{slog.String("reason", reqs[i].Reason), slog.Duration("for", res.Set)}
			if h := pauseHint(kind); h != "" {
				attrs = append(attrs, slog.String("hint", h))
			}
			pl.Log(ctx, lvl, "page paused", attrs...)
		}
	}
	if others > 0 {
		log.Log(ctx, lvl, "pages paused", slog.Int("pages", others), slog.String("reason", reason),
			slog.Duration("shortest", shortest), slog.Duration("longest", longest))
	}
	if failed > 0 {
		log.Error("pause pages", slog.Int("pages", failed), slog.String("error", firstErr.Error()))
	}
	return last
}

// pauseHint is what the operator can do about a pause of kind, for its
// log line: a broken token or a block by Meta needs a person; a throttle
// ends by itself.
func pauseHint(kind string) string {
	switch kind {
	case tasks.PausePageBroken:
		return "give the Page a working access_token in the config and restart (a new token lifts the pause at start); once fixed on Meta's side with the same token, pagereply resume --page ID"
	case tasks.PausePolicyBlock:
		return "look at the Page in Meta Business Suite and lower its rate; once Meta lifts the block, pagereply resume --page ID"
	}
	return ""
}

// pauseLinesMax is the most Pages whose pauses pauseRequests logs a line
// each for; past it, the Pages other than the one whose answer called for
// the pauses are logged in one line.
const pauseLinesMax = 10

// spread returns a random extra delay of up to a tenth of d (at most 5s), so
// tasks put back together do not all come back at once.
func spread(d time.Duration) time.Duration {
	m := d / 10
	if m > 5*time.Second {
		m = 5 * time.Second
	}
	if m <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(m)))
}

// share counts, per Page, the slots of this worker its tasks of one kind
// (replies, webhook items) hold, and when the ones held back return.
type share struct {
	busy      map[string]int
	heldUntil map[string]time.Time
}

func newShare() share {
	return share{busy: map[string]int{}, heldUntil: map[string]time.Time{}}
}

// enter counts a slot of this worker as held by one of page's tasks, unless
// page's tasks of that kind hold their share already: maxWaiting slots,
// every slot but a tenth. A Page whose sends take long (its Graph calls slow,
// or hanging until the timeout) stays under its rate, so the limiter never
// puts its replies back, and its backlog would otherwise take every slot and
// hold back every other Page's replies queued behind it; a burst of one
// Page's webhook items, each waiting for the Page's read slot, the same. For
// replies (waitingExempt), a Page with any slot waiting for a send slot is at
// its rate, not slow: it is let in, and held back by the rate with lim.NoWait
// (handleReply). Holding it too would cap a lone Page at about maxWaiting
// sends a second whenever its sends take some tens of milliseconds: its held
// replies come back in whole-second batches (asynq's clock), of which only
// the free slots' worth get in.
// A task held back goes back to the queue, without using a retry, the
// Page's held tasks returning one interval apart (its rate), after those held
// before; leave releases the slot.
func (w *Worker) enter(s *share, page string, interval time.Duration, waitingExempt bool) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.busy[page] >= w.maxWaiting && (!waitingExempt || w.wait[page] == 0) {
		now := time.Now()
		at := s.heldUntil[page]
		if at.Before(now) {
			at = now
		}
		at = at.Add(interval)
		s.heldUntil[page] = at
		return max(at.Sub(now), minHold), false
	}
	s.busy[page]++
	return 0, true
}

// minHold is the least a task held back by its Page's share waits: at a high
// rate its place in the schedule can be microseconds away.
const minHold = 100 * time.Millisecond

// lastRun reports whether asynq archives the task whatever it returns but
// nil: its retry count is at its max (asynq v0.26 archives such a task even
// for a put-back that uses no retry). A reply task's max is
// tasks.ReplyRetryHeadroom above worker.max_retry, which the worker archives
// at itself, so a reply reaches it only when its worker was killed that
// many times, or when it was queued by an older pagereply (max_retry + 1).
// A reply run again from the archive (by RunArchivedOfPages, or from the
// monitor) keeps its count: the share cap lets it in rather than have its
// put-back archive it again.
func lastRun(ctx context.Context) bool {
	n, _ := asynq.GetRetryCount(ctx)
	m, ok := asynq.GetMaxRetry(ctx)
	return ok && n >= m
}

func (w *Worker) leave(s *share, page string) {
	w.mu.Lock()
	s.busy[page]--
	w.mu.Unlock()
}

// waiting adds delta to the number of this worker's slots that page holds while
// waiting for a send slot, and returns the new number.
func (w *Worker) waiting(page string, delta int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wait[page] += delta
	return w.wait[page]
}

// putBackClaimLost is admit's put-back of a reply whose target's claim ran
// out while it waited, and another attempt took the target, or whose target
// the webhook marked meanwhile (hidden, removed).
const putBackClaimLost = "claim lost while waiting for a send slot"

// admit is the last gate before a send on a rate-limited Page: it waits while
// the Page's send log is full (see admitOf: sends that left late bunch up,
// and arrive at Graph closer together than they left), and puts the task
// back if the Page was paused meanwhile — Meta lengthens a block that is
// ignored. Admission renews the claim for lease: however long the reply
// waited, its send goes out under a claim that is still its own, or not at
// all.
func (w *Worker) admit(ctx context.Context, ps *pageState, r *tasks.Reply, token string, lease time.Duration, doubtful bool, log *taskLog) (time.Time, error) {
	for {
		began := time.Now()
		a, err := w.p.Ledger.Admit(ctx, r.PageID, r.Target, token, lease, ps.admitMax, ps.admitWindow)
		if err != nil {
			w.giveBack(*r, token, doubtful, log)
			return began, w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
		}
		if a.Lost {
			// The lease ran out while this reply waited and the target's
			// entry changed: another attempt claimed it (and may be sending
			// now) or settled it. Not sending, and not touching the entry,
			// which is no longer this attempt's; the rerun's reservation
			// reads it.
			// A mark of the webhook's (the Page hid the comment, or it was
			// removed) takes a claim's place too: routine, said at INFO;
			// the rerun's reservation reads the mark and settles the reply.
			if e, gerr := w.p.Ledger.Get(ctx, r.PageID, r.Target); gerr == nil && e.Status == tasks.StatusFailed {
				log.L().Info("target marked while the reply waited for a send slot; not sent, put back to settle it", slog.String("reason", e.Reason))
				return began, &delayError{d: time.Second, reason: putBackClaimLost}
			}
			log.L().Warn("claim lost while waiting for a send slot; reply put back")
			return began, &delayError{d: time.Second + spread(5*time.Second), reason: putBackClaimLost}
		}
		if a.Paused > 0 {
			// A doubtful reply keeps its doubt: the check that let it come
			// this far may not see every earlier reply (a visitor post's
			// has no conversation to read), and the entry, unknown, holds
			// the person meanwhile. The next attempt checks again.
			w.giveBack(*r, token, doubtful, log)
			return began, &delayError{d: a.Paused + spread(a.Paused), reason: putBackPaused + a.Reason}
		}
		if a.Wait <= 0 {
			if a.Lapsed || a.Extended {
				// The claim had run out and was taken again by this
				// renewal: like a new claim, it must reach a replica
				// before the send, or a failover could bring back the
				// lapsed one, which another attempt may take. So must a
				// renewal that moved the lease on by more than a second
				// (the reply waited here, or for a slow doubt check):
				// the replica's older lease would end before this send's
				// outcome can be known and its settle time has passed.
				if err := w.replicas.Ack(ctx, r.PageID, r.Target, token); err != nil {
					w.giveBack(*r, token, doubtful, log)
					if errors.Is(err, tasks.ErrNotReplicated) {
						return began, &delayError{d: time.Second + spread(5*time.Second), reason: "renewed claim not on a replica yet"}
					}
					return began, w.redisFailure(ctx, err, fmt.Errorf("reply %s: %w", r.Target, err))
				}
			}
			return began, nil
		}
		timer := time.NewTimer(a.Wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			w.giveBack(*r, token, doubtful, log)
			return began, w.failure(ctx, fmt.Errorf("reply %s: waiting for send slot: %w", r.Target, ctx.Err()))
		case <-timer.C:
		}
	}
}

// taskLog is a reply task's logger, with the Page and target as attributes,
// made only when something is logged: most tasks log nothing, and a logger
// with attributes costs a reply about what its ledger check does.
type taskLog struct {
	base *slog.Logger
	r    *tasks.Reply
	l    *slog.Logger
}

// L returns the logger.
func (t *taskLog) L() *slog.Logger {
	if t.l == nil {
		t.l = t.base.With(slog.String("page_id", t.r.PageID), slog.String("target", t.r.Target.String()))
	}
	return t.l
}
