// Package intake owns the step from a Graph item (a comment, a visitor's post,
// a conversation) to a reply task: the eligibility rules of SPEC.md, the reply
// text from the Page's rules, the ledger check and the enqueue. The poll handler
// and the webhook share it, so both apply the same rules and the same dedup.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// Reason is why an item gets no reply; the values are the reason labels of
// metrics.PollSkipped.
type Reason string

// Skip reasons.
const (
	// SkipOwn: the Page wrote it (or, in a conversation, the Page wrote last).
	SkipOwn Reason = "own"
	// SkipCannotReply: can_reply_privately is false, or nobody to answer
	// (in a conversation: no one person, or a message by someone else).
	SkipCannotReply Reason = "cannot_reply"
	// SkipTooOld: outside the reply window.
	SkipTooOld Reason = "too_old"
	// SkipNoRule: no rule matched and the Page has no default_text.
	SkipNoRule Reason = "no_rule"
	// SkipAlreadyReplied: the ledger has it sent or failed for good.
	SkipAlreadyReplied Reason = "already_replied"
	// SkipRenderError: the Page's template failed on this item.
	SkipRenderError Reason = "render_error"
	// SkipGone: a webhook delivery named it, and Graph no longer has it for
	// the Page's token (deleted since, or out of the token's reach); or its
	// reply was queued and the webhook's remove marked the comment or post
	// before the reply was sent (tasks.RemovedReasonOf).
	SkipGone Reason = "gone"
	// SkipNotOnPage: a post of the Page's feed that is not on the Page: a
	// public post elsewhere that tags the Page, which the feed lists too.
	// Neither its author nor its commenters wrote to the Page; its comments
	// are not read.
	SkipNotOnPage Reason = "not_on_page"
	// SkipMalformed: its reply would fail tasks.Reply.Validate (an id of a
	// shape the tasks do not take): it cannot be queued, and must not keep
	// the other items of its batch from theirs. Or Graph listed it in a
	// shape that cannot be read (graph.WithSkippedItems), or listed a
	// comment without its id (a token that cannot moderate the Page): the
	// listing's other items are read.
	SkipMalformed Reason = "malformed"
	// SkipHidden: a comment the Page hid (Graph's is_hidden), on a Page with
	// skip_hidden: read so by the poll or a webhook item, or marked so in
	// the ledger by the webhook's hide before its reply was sent.
	SkipHidden Reason = "hidden"
	// SkipSamePerson: a dry run's only, on a Page with one_reply_per_person:
	// the person has a reply listed already, or one reached them within the
	// window; the worker would record this one as sent with it.
	SkipSamePerson Reason = "same_person"
)

// OnPage reports whether p, a post of the Page pageID's feed, is on the Page.
// Graph names a post "<profile>_<post>" after the profile it was posted on:
// the Page's own posts and visitors' posts on the Page start with the Page's
// id, a post elsewhere that tags the Page with its author's. Only a clear
// other profile is left out: a post the Page wrote, or with an id of another
// shape, is taken for the Page's.
func OnPage(pageID string, p graph.Post) bool {
	prefix, _, ok := strings.Cut(p.ID, "_")
	return !ok || prefix == pageID || p.From != nil && p.From.ID == pageID
}

// MessagingWindow is how long after a person's last message a Page may answer
// in a conversation; a Page's max_age shortens it, never lengthens it.
const MessagingWindow = 24 * time.Hour

// DefaultMaxAge is the reply window of a Page whose MaxAge is unset.
const DefaultMaxAge = 168 * time.Hour

// Item is one thing that may get a reply, in the shape the rules need.
type Item struct {
	Target tasks.Target
	// PSID and ConversationID are set for KindMessage targets.
	PSID           string
	ConversationID string
	// From is who wrote it; zero when Graph did not say.
	From              graph.User
	Message           string
	PostID            string
	CommentID         string
	Created           time.Time
	CanReplyPrivately bool
	// Hidden: the Page hid the comment (Graph's is_hidden, read only for a
	// Page with skip_hidden).
	Hidden bool
	// ShownAt is when the poll's listing read that listed the comment
	// shown (Graph's is_hidden false, read for a Page with skip_hidden)
	// began; zero for any other item (a webhook's, the API's, a Page
	// without skip_hidden, a comment listed hidden). Such a comment that
	// holds the webhook's hide mark in the ledger was shown again by an
	// unhide the webhook missed: Flush drops the mark and queues its reply
	// (tasks.Ledger.UnhideListed, not for a hide of the last
	// tasks.ListedUnhideMargin).
	ShownAt time.Time
	// InstantAfter holds the texts of the Page's messages within
	// InstantReplyWithin after a person's message (KindMessage): taken for
	// Messenger's instant replies, unless one is the text this reply would
	// carry, which means pagereply answered the message itself.
	InstantAfter []string
}

// CommentItem returns the item of a comment on postID ("" when unknown).
func CommentItem(postID string, c graph.Comment) Item {
	it := Item{
		Target:            tasks.Target{Kind: tasks.KindComment, ID: c.ID},
		Message:           c.Message,
		PostID:            postID,
		CommentID:         c.ID,
		Created:           c.CreatedTime.Time,
		CanReplyPrivately: c.CanReplyPrivately,
		Hidden:            c.IsHidden,
	}
	if c.From != nil {
		it.From = *c.From
	}
	return it
}

// CommentPostID returns the id of the post a comment of the Page pageID is
// on, as its id tells it, for a comment whose post nobody named (a webhook
// change without post_id): the Page's id and the first part of
// <post>_<comment> (post ids are <page-id>_<post>), the first two parts of
// Meta's older <page-id>_<post>_<comment>; "" for a bare <comment>, or an
// id of another shape.
func CommentPostID(pageID, commentID string) string {
	parts := strings.Split(commentID, "_")
	for _, p := range parts {
		if p == "" {
			return ""
		}
	}
	switch len(parts) {
	case 2:
		return pageID + "_" + parts[0]
	case 3:
		return parts[0] + "_" + parts[1]
	}
	return ""
}

// PostItem returns the item of a post on the Page's feed (a visitor's post
// when its from is not the Page).
func PostItem(p graph.Post) Item {
	it := Item{
		Target:            tasks.Target{Kind: tasks.KindPost, ID: p.ID},
		Message:           p.Message,
		PostID:            p.ID,
		Created:           p.CreatedTime.Time,
		CanReplyPrivately: p.CanReplyPrivately,
	}
	if p.From != nil {
		it.From = *p.From
	}
	return it
}

// InstantReplyWithin is how soon after a person's message a Page message is
// taken for Messenger's own (an instant reply, a greeting, an away message,
// sent the moment the person writes) rather than the Page answering them.
const InstantReplyWithin = 10 * time.Second

// ConversationItem returns the item of a conversation of pageID: the
// person's latest message, with the person's PSID; SkipOwn when the Page
// answered it (a Page message more than InstantReplyWithin after it), or the
// person wrote nothing; SkipCannotReply when it names no person, more than
// one (a group thread: a reply to one would answer another's message), or
// holds no message, or when the person's latest message is by someone else
// than the person. A message without from counts as the person's, as the API
// counts it: both must pick the same message. ConversationItemWhy says why in
// words.
func ConversationItem(pageID string, c graph.Conversation) (Item, Reason) {
	it, reason, _ := ConversationItemWhy(pageID, c)
	return it, reason
}

// Why a conversation gets no reply, in ConversationItemWhy's words.
const (
	WhyPageAnswered = "the Page answered the person's latest message (a message from the Page after it)"
	WhyNoPersonMsg  = "the conversation has no recent message from the person to answer"
	WhyNoPerson     = "the conversation has no participant besides the Page"
	WhyGroup        = "the conversation has more than one participant besides the Page (a group thread): only one-to-one conversations get a reply"
	WhyOtherWriter  = "the latest message is from someone who is not the conversation's participant: its writer cannot be answered"
	WhyNoMessageID  = "Graph gave no id for the person's latest message"
)

// ConversationItemWhy is ConversationItem, with why the conversation gets no
// reply in words (one of the Why constants) when it gets none.
func ConversationItemWhy(pageID string, c graph.Conversation) (Item, Reason, string) {
	person, why := ConversationPerson(pageID, c.Participants)
	if why != "" {
		return Item{}, SkipCannotReply, why
	}
	if len(c.Messages) == 0 {
		return Item{}, SkipCannotReply, WhyNoPersonMsg
	}
	last := PersonLatest(pageID, c.Messages)
	if last == nil {
		return Item{}, SkipOwn, WhyNoPersonMsg
	}
	if last.ID == "" {
		return Item{}, SkipCannotReply, WhyNoMessageID
	}
	if last.From != nil && last.From.ID != "" && last.From.ID != person.ID {
		// The reply would go to the participant, answering a message they
		// did not write.
		return Item{}, SkipCannotReply, WhyOtherWriter
	}
	if PageAnswer(pageID, c.Messages, last) != nil {
		return Item{}, SkipOwn, WhyPageAnswered
	}
	var instant []string
	li := 0 // last's place in the listing
	for i := range c.Messages {
		if &c.Messages[i] == last {
			li = i
		}
	}
	// Without the message's time nothing tells an answer from an instant
	// reply; the window check (Check, the API's) refuses such a message.
	for i := 0; i < len(c.Messages) && !last.CreatedTime.IsZero(); i++ {
		m := &c.Messages[i]
		// Graph's times are whole seconds: a Page message of the same
		// second listed below the person's (Graph lists them newest
		// first) came before it. Taken for one right after it, the
		// reply it was (pagereply's, to the person's previous message)
		// made the poll skip the person's new message as answered.
		if !byPage(pageID, m) || m.CreatedTime.Before(last.CreatedTime.Time) || m.CreatedTime.Equal(last.CreatedTime.Time) && i > li {
			continue
		}
		instant = append(instant, m.Message)
	}
	if last.From != nil && last.From.Name != "" && person.Name == "" {
		person.Name = last.From.Name
	}
	return Item{
		Target:            tasks.Target{Kind: tasks.KindMessage, ID: last.ID},
		PSID:              person.ID,
		ConversationID:    c.ID,
		From:              person,
		Message:           last.Message,
		Created:           last.CreatedTime.Time,
		CanReplyPrivately: true,
		InstantAfter:      instant,
	}, "", ""
}

// PageAnswer returns the Page's answer to the person's message last among
// msgs (listed newest first, as Graph lists them): the newest Page message
// more than InstantReplyWithin after it (one sooner is Messenger's instant
// reply), or nil. A message without its time has none.
func PageAnswer(pageID string, msgs []graph.Message, last *graph.Message) *graph.Message {
	if last == nil || last.CreatedTime.IsZero() {
		return nil
	}
	for i := range msgs {
		if m := &msgs[i]; byPage(pageID, m) && m.CreatedTime.Sub(last.CreatedTime.Time) > InstantReplyWithin {
			return m
		}
	}
	return nil
}

// ConversationPerson returns the person of a Page's conversation: its one
// participant that is not the Page (participants without an id aside, one
// listed twice counted once), or why there is none (WhyNoPerson, WhyGroup).
func ConversationPerson(pageID string, participants []graph.User) (graph.User, string) {
	var person graph.User
	for _, u := range participants {
		switch {
		case u.ID == "" || u.ID == pageID:
		case person.ID == "":
			person = u
		case u.ID != person.ID:
			return graph.User{}, WhyGroup
		}
	}
	if person.ID == "" {
		return graph.User{}, WhyNoPerson
	}
	return person, ""
}

// PersonLatest returns the person's latest message of msgs (in any order), a
// message without from counting as the person's; nil when the Page wrote
// them all. The poll and the API answer this message, so that one person's
// message is one target whichever path finds it.
func PersonLatest(pageID string, msgs []graph.Message) *graph.Message {
	var last *graph.Message
	for i := range msgs {
		if m := &msgs[i]; !byPage(pageID, m) && (last == nil || m.CreatedTime.After(last.CreatedTime.Time)) {
			last = m
		}
	}
	return last
}

func byPage(pageID string, m *graph.Message) bool { return m.From != nil && m.From.ID == pageID }

// SameText reports whether two message texts are equal but for white space:
// its runs count as one space, and none at either end (Messenger may not keep
// white space as sent).
func SameText(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// Window returns the reply window of kind for page: its max_age (168h when
// unset) for comments and posts, at most MessagingWindow for messages.
func Window(page *config.Page, kind tasks.Kind) time.Duration {
	w := page.MaxAge
	if w <= 0 || w > DefaultMaxAge {
		w = DefaultMaxAge
	}
	if kind == tasks.KindMessage && w > MessagingWindow {
		w = MessagingWindow
	}
	return w
}

// Check applies every rule but the ledger's to it at now and returns the
// reply text, or the reason it gets none (with the render error, if any).
func Check(page *config.Page, it Item, now time.Time) (string, Reason, error) {
	if it.From.ID != "" && it.From.ID == page.ID {
		return "", SkipOwn, nil
	}
	if it.Hidden && page.SkipHidden {
		return "", SkipHidden, nil
	}
	if !it.CanReplyPrivately {
		return "", SkipCannotReply, nil
	}
	if it.Created.IsZero() || now.Sub(it.Created) > Window(page, it.Target.Kind) {
		return "", SkipTooOld, nil
	}
	text, ok, err := page.Render(config.TemplateData{
		Name:      it.From.Name,
		UserID:    it.From.ID,
		Message:   it.Message,
		PageID:    page.ID,
		PostID:    it.PostID,
		CommentID: it.CommentID,
	})
	switch {
	case err != nil:
		return "", SkipRenderError, err
	case !ok:
		return "", SkipNoRule, nil
	}
	return text, "", nil
}

// Would is a reply a dry run would enqueue.
type Would struct {
	Target   tasks.Target
	FromID   string
	FromName string
	Text     string
	// Task is the state of the target's reply task when one is in asynq
	// already (pending, retry, archived, ...): a real poll would not
	// enqueue it again. Empty when none (or the Enqueuer has no Inspector).
	Task string
}

// Report counts what a batch did. Replies lists the would-be replies of a dry
// run only: a real run keeps counts, so its memory does not grow with the
// number of items.
type Report struct {
	Seen     int
	Skipped  map[Reason]int
	Outcomes map[tasks.Outcome]int
	Replies  []Would
}

// Enqueued returns the number of reply tasks the batch queued.
func (r *Report) Enqueued() int { return r.Outcomes[tasks.Enqueued] }

// Intake turns items into reply tasks. Its fields are set before use.
type Intake struct {
	// Ledger is read in dry runs (real runs read it through Enqueuer).
	Ledger *tasks.Ledger
	// Enqueuer queues the replies.
	Enqueuer *tasks.Enqueuer
	// Metrics; if nil, nothing is counted.
	Metrics *metrics.Metrics
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Now is the clock of the reply windows; if nil, time.Now.
	Now func() time.Time
}

// BatchSize is how many replies a Batch holds before it enqueues them.
const BatchSize = 100

// Batch collects the replies of one Page from one source and enqueues them
// BatchSize at a time (one ledger read per batch). It is not safe for
// concurrent use.
type Batch struct {
	in      *Intake
	page    *config.Page
	source  tasks.Source
	dryRun  bool
	now     time.Time
	pending []tasks.Reply
	listed  []time.Time     // ShownAt of pending's items; nil while all are zero
	froms   []graph.User    // authors of pending, for dry-run reports
	persons map[string]bool // dry run: the people listed, one_reply_per_person
	report  Report
}

// NewBatch starts a batch for page. With dryRun it enqueues nothing and
// writes nothing to Redis: Flush reads the ledger and lists the replies.
func (in *Intake) NewBatch(page *config.Page, source tasks.Source, dryRun bool) *Batch {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	return &Batch{in: in, page: page, source: source, dryRun: dryRun, now: now(),
		report: Report{Skipped: map[Reason]int{}, Outcomes: map[tasks.Outcome]int{}}}
}

// Report returns the counts so far (complete after Flush).
func (b *Batch) Report() *Report { return &b.report }

func (b *Batch) log() *slog.Logger {
	if b.in.Logger != nil {
		return b.in.Logger
	}
	return slog.Default()
}

// Skip counts an item that gets no reply for reason.
func (b *Batch) Skip(reason Reason) {
	b.report.Skipped[reason]++
	if m := b.in.Metrics; m != nil {
		m.PollSkipped.WithLabelValues(b.page.ID, string(reason)).Inc()
	}
}

// Discard counts an item seen and skipped for reason before it became an
// Item (a conversation ConversationItem refused).
func (b *Batch) Discard(reason Reason) {
	b.report.Seen++
	if m := b.in.Metrics; m != nil {
		m.CommentsSeen.WithLabelValues(b.page.ID).Inc()
	}
	b.Skip(reason)
}

// Add checks it and queues its reply for the next Flush, flushing when
// BatchSize replies are pending. It returns the reason when it gets no reply
// ("" when it may).
func (b *Batch) Add(ctx context.Context, it Item) (Reason, error) {
	b.report.Seen++
	if m := b.in.Metrics; m != nil {
		m.CommentsSeen.WithLabelValues(b.page.ID).Inc()
	}
	text, reason, err := Check(b.page, it, b.now)
	if err != nil {
		b.log().Warn("reply text cannot be rendered", slog.String("page_id", b.page.ID),
			slog.String("target", it.Target.String()), slog.String("error", err.Error()))
	}
	if reason == "" && slices.ContainsFunc(it.InstantAfter, func(m string) bool { return SameText(m, text) }) {
		// The Page's message right after the person's is this very reply:
		// pagereply sent it, and its ledger entry is gone (Redis lost its
		// data). Messenger, unlike Graph for comments, would take a second.
		reason = SkipOwn
	}
	if reason != "" {
		b.Skip(reason)
		return reason, nil
	}
	r := tasks.Reply{
		PageID: b.page.ID, Target: it.Target, PSID: it.PSID, ConversationID: it.ConversationID,
		Text: text, Source: b.source, Created: unixMilli(it.Created),
	}
	if it.Target.Kind != tasks.KindMessage {
		// Whoever wrote it, whatever the Page's settings: the worker spaces
		// one person's replies (person_gap) and, on a Page that sends one
		// reply per person, sends them one.
		r.Person = it.From.ID
	}
	if err := r.Validate(); err != nil {
		// Graph's data, not ours: counted and skipped, as the enqueue
		// would refuse it, and the batch goes on.
		b.log().Warn("reply cannot be queued: malformed item", slog.String("page_id", b.page.ID),
			slog.String("kind", string(it.Target.Kind)), slog.String("id", clipID(it.Target.ID)), slog.String("error", err.Error()))
		b.Skip(SkipMalformed)
		return SkipMalformed, nil
	}
	b.pending = append(b.pending, r)
	if shown := it.Target.Kind == tasks.KindComment && b.page.SkipHidden && !it.Hidden && !it.ShownAt.IsZero(); shown || b.listed != nil {
		if b.listed == nil {
			b.listed = make([]time.Time, len(b.pending)-1, cap(b.pending))
		}
		var at time.Time
		if shown {
			at = it.ShownAt
		}
		b.listed = append(b.listed, at)
	}
	if b.dryRun {
		b.froms = append(b.froms, it.From)
	}
	if len(b.pending) >= BatchSize {
		return "", b.Flush(ctx)
	}
	return "", nil
}

// clipID keeps an id from Graph short in logs: a malformed one can be of any
// length.
func clipID(id string) string {
	const max = 64
	if len(id) <= max {
		return id
	}
	i := max
	for i > 0 && !utf8.RuneStart(id[i]) {
		i--
	}
	return id[:i] + "…"
}

// unixMilli is t in Unix milliseconds, 0 for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// staleHideMark reports whether e is the webhook's hide mark
// (tasks.HiddenReason) on a Page without skip_hidden (tasks.StaleHideMark):
// written while the Page had it, it is not the Page's wish any more (its
// hidden comments are answered), and must not keep the comment's reply from
// being queued (Flush's tasks.Enqueuer.EnqueueManyOn drops it).
func (b *Batch) staleHideMark(e tasks.Entry) bool { return tasks.StaleHideMark(b.page, e) }

// Pending returns the number of replies not yet flushed.
func (b *Batch) Pending() int { return len(b.pending) }

// Flush enqueues the pending replies (in a dry run: checks them against the
// ledger and lists them). Replies the ledger has settled count as
// SkipAlreadyReplied, but a comment a poll's listing showed whose hide mark
// the listing undoes (Item.ShownAt: the mark dropped and the reply queued,
// or in a dry run listed). On error the pending replies are dropped: the caller
// must not record them as handled.
func (b *Batch) Flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	defer func() { b.pending, b.froms, b.listed = b.pending[:0], b.froms[:0], nil }()
	if b.dryRun {
		ts := make([]tasks.Target, len(b.pending))
		for i := range b.pending {
			ts[i] = b.pending[i].Target
		}
		entries, err := b.in.Ledger.GetMany(ctx, b.page.ID, ts)
		if err != nil {
			return fmt.Errorf("intake: page %s: %w", b.page.ID, err)
		}
		for i, r := range b.pending {
			if entries[i].Done() && !b.staleHideMark(entries[i]) {
				// As the enqueue would: a hide mark of a comment its
				// listing shows is dropped when its hide is old enough.
				unhide := false
				if b.listed != nil && !b.listed[i].IsZero() && r.Target.Kind == tasks.KindComment && tasks.HeldHideMark(b.page, entries[i]) {
					var err error
					if unhide, err = b.in.Ledger.UnhideListed(ctx, b.page.ID, r.Target.ID, b.listed[i], true); err != nil {
						return fmt.Errorf("intake: page %s: %w", b.page.ID, err)
					}
				}
				if !unhide {
					b.Skip(SkipAlreadyReplied)
					continue
				}
			}
			if b.page.OneReplyPerPerson && r.Person != "" && r.Target.Kind != tasks.KindMessage {
				// The worker sends a person one reply, and records their
				// other comments as sent with it: list one.
				answered := b.persons[r.Person]
				if !answered {
					var err error
					if answered, err = b.in.Ledger.PersonAnswered(ctx, b.page.ID, tasks.Person{ID: r.Person, Commenter: true}); err != nil {
						return fmt.Errorf("intake: page %s: %w", b.page.ID, err)
					}
				}
				if answered {
					b.Skip(SkipSamePerson)
					continue
				}
				if b.persons == nil {
					b.persons = map[string]bool{}
				}
				b.persons[r.Person] = true
			}
			wr := Would{Target: r.Target, FromID: b.froms[i].ID, FromName: b.froms[i].Name, Text: r.Text}
			if e := b.in.Enqueuer; e != nil && e.Inspector != nil {
				ti, err := e.Inspector.GetTaskInfo(tasks.QueueReplies, r.Target.String())
				switch {
				case err == nil:
					wr.Task = ti.State.String()
				case !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
					return fmt.Errorf("intake: page %s: read task %s: %w", b.page.ID, r.Target, err)
				}
			}
			b.report.Replies = append(b.report.Replies, wr)
		}
		return nil
	}
	outs, err := b.in.Enqueuer.EnqueueManyListed(ctx, b.page, b.pending, b.listed)
	for _, o := range outs {
		switch o {
		case tasks.AlreadySent, tasks.AlreadyFailed:
			b.Skip(SkipAlreadyReplied)
		case tasks.Invalid:
			// Add keeps such replies out; counted the same if one gets by.
			b.Skip(SkipMalformed)
			continue
		default:
			b.report.Outcomes[o]++
		}
		if m := b.in.Metrics; m != nil {
			m.Enqueued.WithLabelValues(b.page.ID, string(b.source), string(o)).Inc()
		}
	}
	if err != nil {
		return fmt.Errorf("intake: page %s: %w", b.page.ID, err)
	}
	return nil
}
