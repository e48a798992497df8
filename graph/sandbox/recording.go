package sandbox

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Send is one successful send, as the sandbox recorded it.
type Send struct {
	PageID string
	// Kind is KindComment, KindPost or KindConversation.
	Kind string
	// Target is the comment or post id of a private reply, the person's PSID for
	// a conversation reply.
	Target         string
	RecipientID    string
	ConversationID string
	Text           string
	MessageID      string
	Time           time.Time
	// Dropped is true when the answer was lost on purpose (Faults.DropRate).
	Dropped bool
}

// Endpoint names of Calls.
const (
	EndpointFeed          = "feed"
	EndpointAdsPosts      = "ads_posts"   // GET /{page-id}/ads_posts
	EndpointReels         = "video_reels" // GET /{page-id}/video_reels
	EndpointComments      = "comments"
	EndpointObject        = "object"
	EndpointMessages      = "messages"
	EndpointConversations = "conversations"
	EndpointThread        = "thread" // GET /{conversation-id}/messages
	EndpointUnknown       = "unknown"
)

// recorder keeps what happened, for tests.
type recorder struct {
	mu             sync.Mutex
	sends          sendLog
	perTarget      map[string]int
	alreadyReplied int
	refused        []Refusal
	notLive        []Refusal // sends refused as the app is not live (2018028)
	calls          map[string]int
	logCalls       bool                   // Options.LogCalls; set by New only
	callLog        map[string][]time.Time // per Page, POST /messages arrivals, with logCalls
	sendCalls      map[string]*callWindow // per Page, POST /messages count, last second and peak
	tokensInURL    int
	failures       int // injected 500s
	throttled      map[string]int
	logReads       bool              // Options.LogReads; set by New only
	reads          map[string][]Read // per Page, with logReads
}

func (rc *recorder) init() {
	rc.perTarget = map[string]int{}
	rc.calls = map[string]int{}
	rc.callLog = map[string][]time.Time{}
	rc.sendCalls = map[string]*callWindow{}
	rc.throttled = map[string]int{}
	rc.reads = map[string][]Read{}
}

func (rc *recorder) call(endpoint string, tokenInURL bool) {
	rc.mu.Lock()
	rc.calls[endpoint]++
	if tokenInURL {
		rc.tokensInURL++
	}
	rc.mu.Unlock()
}

func (rc *recorder) logSend(pageID string, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	w := rc.sendCalls[pageID]
	if w == nil {
		w = &callWindow{}
		rc.sendCalls[pageID] = w
	}
	w.add(at)
	if rc.logCalls {
		rc.callLog[pageID] = append(rc.callLog[pageID], at)
	}
}

// callWindow counts calls (a Page's POST /messages, SendPeak; its reads of
// one rate limit type let through, ReadPeaks) without keeping them all:
// the times of those of the last second (the second before the latest
// call), sorted, and the peak, the most calls any one-second window held
// and the first call of the first such window, as MaxIn over every call
// would say it. It keeps at most the calls of one second, so a sandbox that
// runs for hours holds no history.
type callWindow struct {
	ts     []time.Time // calls after the latest one's time minus a second, sorted
	n      int         // every call counted
	peak   int
	peakAt time.Time
}

// add counts a call at at. Calls are counted nearly in time order (a call's
// time is taken before it waits for the sandbox's lock); one counted a
// second or more after a later one only counts in the window it starts, so
// the peak may miss it, never overstate.
func (w *callWindow) add(at time.Time) {
	w.n++
	if k := len(w.ts); k > 0 && w.ts[k-1].Sub(at) >= time.Second {
		// Older than every kept call by a second: the window it starts
		// holds it and the kept calls within a second of it.
		n := 1 + sort.Search(k, func(i int) bool { return w.ts[i].Sub(at) >= time.Second })
		w.raise(n, at)
		return
	}
	i := sort.Search(len(w.ts), func(i int) bool { return w.ts[i].After(at) })
	w.ts = slices.Insert(w.ts, i, at)
	newest := w.ts[len(w.ts)-1]
	drop := 0
	for newest.Sub(w.ts[drop]) >= time.Second {
		drop++
	}
	if drop > 0 {
		w.ts = append(w.ts[:0], w.ts[drop:]...)
	}
	// Every kept call is within a second of the first kept one, and every
	// call not kept is before it: the window it starts holds just them.
	w.raise(len(w.ts), w.ts[0])
}

// peakCount is w's peak; 0 for no window (no call counted).
func (w *callWindow) peakCount() int {
	if w == nil {
		return 0
	}
	return w.peak
}

func (w *callWindow) raise(n int, from time.Time) {
	if n > w.peak || n == w.peak && from.Before(w.peakAt) {
		w.peak, w.peakAt = n, from
	}
}

func (rc *recorder) send(sd Send) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.perTarget[sd.Kind+":"+sd.Target]++
	return rc.sends.add(sd)
}

// sendLog holds the sends in fixed-size chunks: a log of 100,000 sends is
// never copied to grow.
type sendLog struct {
	chunks [][]Send
	n      int
}

const sendChunk = 1024

func (l *sendLog) add(sd Send) int {
	if l.n%sendChunk == 0 {
		l.chunks = append(l.chunks, make([]Send, 0, sendChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, sd)
	l.n++
	return l.n - 1
}

func (l *sendLog) at(i int) *Send { return &l.chunks[i/sendChunk][i%sendChunk] }

func (l *sendLog) all() []Send {
	out := make([]Send, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return out
}

func (rc *recorder) markDropped(i int) {
	rc.mu.Lock()
	rc.sends.at(i).Dropped = true
	rc.mu.Unlock()
}

func (rc *recorder) add(n *int) {
	rc.mu.Lock()
	*n++
	rc.mu.Unlock()
}

// refuse records a send refused as already replied (10900).
func (rc *recorder) refuse(rf Refusal) {
	rc.mu.Lock()
	rc.alreadyReplied++
	rc.refused = append(rc.refused, rf)
	rc.mu.Unlock()
}

// refuseNotLive records a send refused as the app is not live for the
// person (10/2018028).
func (rc *recorder) refuseNotLive(rf Refusal) {
	rc.mu.Lock()
	rc.notLive = append(rc.notLive, rf)
	rc.mu.Unlock()
}

// read records a read of a Page (Options.LogReads).
func (rc *recorder) read(rd Read) {
	rc.mu.Lock()
	rc.reads[rd.PageID] = append(rc.reads[rd.PageID], rd)
	rc.mu.Unlock()
}

func (rc *recorder) throttle(pageID string) {
	rc.mu.Lock()
	rc.throttled[pageID]++
	rc.mu.Unlock()
}

// Sends returns every successful send, in the order they happened.
func (s *Sandbox) Sends() []Send {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.sends.all()
}

// SendCount returns how many successful sends went to a target: a comment id, a
// post id, or a PSID for conversation replies.
func (s *Sandbox) SendCount(target string) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.perTarget[KindComment+":"+target] + s.rec.perTarget[KindPost+":"+target] + s.rec.perTarget[KindConversation+":"+target]
}

// Duplicates returns the number of comments and posts that got more than one
// private reply. Code 10900 makes this impossible through the API, so anything
// but 0 is a sandbox bug; what a client tried twice shows in AlreadyRepliedCount.
// Conversation replies are not counted: a person may get several.
func (s *Sandbox) Duplicates() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	n := 0
	for k, c := range s.rec.perTarget {
		if c > 1 && !strings.HasPrefix(k, KindConversation+":") {
			n++
		}
	}
	return n
}

// AlreadyRepliedCount returns how many sends were refused with code 10900.
func (s *Sandbox) AlreadyRepliedCount() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.alreadyReplied
}

// Refusal is a send refused: in the name of which Page, to what, and when.
type Refusal struct {
	PageID string
	// Kind is KindComment, KindPost or KindConversation.
	Kind string
	// Target is the comment or post id of a private reply, the person's PSID
	// for a conversation reply, as in Send.
	Target string
	Time   time.Time
}

// AlreadyReplied returns the sends refused with code 10900, in order, for a
// test to show what led to each.
func (s *Sandbox) AlreadyReplied() []Refusal {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Refusal(nil), s.rec.refused...)
}

// AppNotLiveRefusals returns the sends refused because the app is not live
// for the person (Options.AppNotLive: code 10, subcode 2018028), in order.
func (s *Sandbox) AppNotLiveRefusals() []Refusal {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Refusal(nil), s.rec.notLive...)
}

// Read is one read of a Page (a GET of its feed, a post's comments, an
// object, its conversations or a conversation's messages) that reached its
// rate limit, as Options.LogReads records it.
type Read struct {
	// Time is when the sandbox counted the read (after any injected
	// latency), the instant its rate limit saw.
	Time   time.Time
	PageID string
	// Type is the rate limit type the read counts under, as
	// X-Business-Use-Case-Usage names it: UsageTypePages (refused with
	// 80001) or UsageTypeMessenger (80006).
	Type string
	// Endpoint is EndpointFeed, EndpointComments, EndpointConversations, ...
	Endpoint string
	// Refused is true when the read was answered as throttled; Forced when
	// by Throttle rather than by the Page's own reads (Options.ReadRate) or
	// sends.
	Refused, Forced bool
}

// Reads returns the reads of a Page recorded with Options.LogReads, in the
// order they were counted; nil without it.
func (s *Sandbox) Reads(pageID string) []Read {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Read(nil), s.rec.reads[pageID]...)
}

// MaxReadsIn returns the largest number of reads of a Page of one rate limit
// type (UsageTypePages or UsageTypeMessenger) that fell inside any window of
// length d, refused ones included, and the time of the first read of the
// first such window (zero when there is none). With Options.ReadRate r, a
// Page is refused once MaxReadsIn(page, typ, time.Second) would pass r: it
// tells whether a throttle came from the Page's own burst of reads. It needs
// Options.LogReads (else 0).
func (s *Sandbox) MaxReadsIn(pageID, typ string, d time.Duration) (int, time.Time) {
	var log []time.Time
	for _, rd := range s.Reads(pageID) {
		if rd.Type == typ {
			log = append(log, rd.Time)
		}
	}
	sort.Slice(log, func(i, j int) bool { return log[i].Before(log[j]) })
	return MaxIn(log, d)
}

// MaxIn returns the largest number of the times ts (sorted, earliest first)
// that fall inside any window of length d (a time d or more after the
// window's first is outside it), and the first time of the first such
// window (zero when ts is empty).
func MaxIn(ts []time.Time, d time.Duration) (int, time.Time) {
	best, lo := 0, 0
	var from time.Time
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= d {
			lo++
		}
		if hi-lo+1 > best {
			best, from = hi-lo+1, ts[lo]
		}
	}
	return best, from
}

// Calls returns the number of requests per endpoint (EndpointFeed, ...), failed
// ones included.
func (s *Sandbox) Calls() map[string]int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return maps.Clone(s.rec.calls)
}

// CallLog returns the arrival times of every POST /{page-id}/messages for a
// Page, refused ones included, in order. It needs Options.LogCalls (else
// nil).
func (s *Sandbox) CallLog(pageID string) []time.Time {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]time.Time(nil), s.rec.callLog[pageID]...)
}

// CallCount returns how many POST /{page-id}/messages calls a Page got,
// refused ones included, with or without Options.LogCalls.
func (s *Sandbox) CallCount(pageID string) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if w := s.rec.sendCalls[pageID]; w != nil {
		return w.n
	}
	return 0
}

// SendPeak returns the largest number of POST /{page-id}/messages calls for
// a Page, refused ones included, that fell inside any one-second window, and
// the time of the first call of the first such window (zero when there is
// none), as MaxIn over CallLog would say it. It is kept as the calls come,
// without Options.LogCalls.
func (s *Sandbox) SendPeak(pageID string) (int, time.Time) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if w := s.rec.sendCalls[pageID]; w != nil {
		return w.peak, w.peakAt
	}
	return 0, time.Time{}
}

// MaxCallsIn returns the largest number of POST /messages calls for a Page that
// fell inside any window of length d: with a rate of r per second and a burst
// of b, MaxCallsIn(page, time.Second) must not exceed r+b. For d of one
// second it is SendPeak's, always kept; any other d is counted over CallLog,
// so it needs Options.LogCalls (else 0).
func (s *Sandbox) MaxCallsIn(pageID string, d time.Duration) int {
	if d == time.Second {
		best, _ := s.SendPeak(pageID)
		return best
	}
	log := s.CallLog(pageID)
	sort.Slice(log, func(i, j int) bool { return log[i].Before(log[j]) })
	best, _ := MaxIn(log, d)
	return best
}

// Stalls returns the stalls of the process serving the sandbox that
// overlap [from, to], as its stall watch saw them (Options.WatchStalls;
// none without it).
func (s *Sandbox) Stalls(from, to time.Time) []Stall { return s.stalls.Stalls(from, to) }

// StalledIn returns the total length of the stalls of the process serving
// the sandbox that overlap [from, to] (StallWatch.StalledIn; 0 without
// Options.WatchStalls).
func (s *Sandbox) StalledIn(from, to time.Time) time.Duration { return s.stalls.StalledIn(from, to) }

// CheckSends measures a Page's POST /{page-id}/messages calls (CallLog,
// refused ones included) against a limit, with CheckWindows: any window of
// length d may hold base calls, and rate (per second) × the length of the
// stalls of the sandbox's process (Stalls) around it more. With a rate of r
// per second and a burst of b, CheckSends(page, time.Second, r+b, r) must
// not be Over. It needs Options.LogCalls (else no calls), and
// Options.WatchStalls to allow for stalls (else none is).
func (s *Sandbox) CheckSends(pageID string, d time.Duration, base int, rate float64) WindowCheck {
	log := s.CallLog(pageID)
	sort.Slice(log, func(i, j int) bool { return log[i].Before(log[j]) })
	return CheckWindows(log, d, base, rate, s.Stalls)
}

// TokensInURL returns how many requests carried access_token in their URL.
// Graph accepts it, but pagereply must never send one there.
func (s *Sandbox) TokensInURL() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.tokensInURL
}

// InjectedFailures returns how many requests got an injected transient error.
func (s *Sandbox) InjectedFailures() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return s.rec.failures
}

// DroppedAnswers returns how many sends were recorded but had their answer lost.
func (s *Sandbox) DroppedAnswers() int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	n := 0
	for _, c := range s.rec.sends.chunks {
		for _, sd := range c {
			if sd.Dropped {
				n++
			}
		}
	}
	return n
}

// ThrottledCount returns how many calls for a Page were refused as throttled,
// whatever the code (80001 for a Page read, 80006 for a send or a conversation
// read); for "", across all Pages.
func (s *Sandbox) ThrottledCount(pageID string) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if pageID != "" {
		return s.rec.throttled[pageID]
	}
	n := 0
	for _, c := range s.rec.throttled {
		n += c
	}
	return n
}

// ResetStats forgets the recorded calls, call logs and counts, send and read
// peaks (SendPeak, ReadPeaks), read logs, refusals and counters, but not the sends nor which targets were replied to.
func (s *Sandbox) ResetStats() {
	s.thr.mu.Lock()
	s.thr.peak = map[bucKey]*callWindow{}
	s.thr.mu.Unlock()
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.alreadyReplied, s.rec.tokensInURL, s.rec.failures = 0, 0, 0
	s.rec.refused, s.rec.notLive = nil, nil
	s.rec.reads = map[string][]Read{}
	s.rec.calls = map[string]int{}
	s.rec.callLog = map[string][]time.Time{}
	s.rec.sendCalls = map[string]*callWindow{}
	s.rec.throttled = map[string]int{}
}
