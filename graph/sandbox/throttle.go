package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// throttle enforces each Page's send rate and the blocks that follow.
type throttle struct {
	mu     sync.Mutex
	rate   float64
	block  time.Duration
	sends  map[string][]time.Time // per Page, sends inside the current window
	until  map[string]time.Time   // per Page, end of a block on sends
	forced map[string]time.Time   // per Page, end of a block on every call (Throttle)

	// Read throttling (Options.ReadRate), off when readRate is 0.
	readRate float64
	reads    map[bucKey][]time.Time // per Page and rate limit type, reads inside the current window
	peak     map[bucKey]*callWindow // per Page and rate limit type, the reads let through: last second and peak (ReadPeaks)
	bucUntil map[bucKey]time.Time   // per Page and rate limit type, end of a block on its calls

	// headers holds the usage header values already written (setUsage).
	headersMu sync.RWMutex
	headers   map[usageKey]*[2][]string
}

// bucKey names one of a Page's rate limits: its Page ID and the type
// (usagePages, usageMessenger) of X-Business-Use-Case-Usage.
type bucKey struct{ pageID, typ string }

func (t *throttle) init(rate, readRate float64, block time.Duration) {
	t.rate, t.readRate, t.block = rate, readRate, block
	t.reads = map[bucKey][]time.Time{}
	t.peak = map[bucKey]*callWindow{}
	t.bucUntil = map[bucKey]time.Time{}
	t.sends = map[string][]time.Time{}
	t.until = map[string]time.Time{}
	t.forced = map[string]time.Time{}
	t.headers = map[usageKey]*[2][]string{}
}

// SetSendRate changes the per-Page send rate (sends per second; 0 unlimited).
func (s *Sandbox) SetSendRate(perSecond float64) {
	s.thr.mu.Lock()
	s.thr.rate = perSecond
	s.thr.mu.Unlock()
}

// Throttle blocks a Page for d: every call with its token is refused, as Meta
// refuses a Page over its rate limit, with the code of the limit the call falls
// under: 80001 for reads of the Page's feed, comments and objects (Pages API),
// 80006 for sends and reads of its conversations (Messenger Platform), and an
// X-Business-Use-Case-Usage entry of that type ("pages" or "messenger") giving
// the time to regain access.
func (s *Sandbox) Throttle(pageID string, d time.Duration) {
	s.thr.mu.Lock()
	s.thr.forced[pageID] = s.now().Add(d)
	s.thr.mu.Unlock()
}

// forcedBlock returns how long the Page stays blocked by Throttle, 0 if not.
func (t *throttle) forcedBlock(pageID string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.forced[pageID]; ok && now.Before(u) {
		return u.Sub(now)
	}
	return 0
}

// allowRead counts one read of a Page under its rate limit type typ and
// returns 0 when it is allowed, else how long the Page's calls of that type
// stay blocked. Without Options.ReadRate it always allows. With it, a Page
// past ReadRate reads a second of one type is blocked for ThrottleBlock on
// every call of that type, reads and sends, and a block that a send started
// refuses the reads of its type too, as Meta's Business Use Case limits
// count a Page's calls of one type together.
func (t *throttle) allowRead(pageID, typ string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.readRate <= 0 {
		return 0
	}
	k := bucKey{pageID, typ}
	if u, ok := t.bucUntil[k]; ok && now.Before(u) {
		return u.Sub(now)
	}
	if typ == usageMessenger {
		if u, ok := t.until[pageID]; ok && now.Before(u) {
			return u.Sub(now)
		}
	}
	var over bool
	if t.reads[k], over = countCall(t.reads[k], t.readRate, now); over {
		t.bucUntil[k] = now.Add(t.block)
		return t.block
	}
	w := t.peak[k]
	if w == nil {
		w = &callWindow{}
		t.peak[k] = w
	}
	w.add(now)
	return 0
}

// ReadPeaks returns, with Options.ReadRate, the most reads of the Page that
// its read throttle let through inside any one second, per rate limit type
// (UsageTypePages, UsageTypeMessenger, both present; refused reads do not
// count). It is counted as SendPeak counts send calls (callWindow: the last
// second's reads and the peak, not a log, unlike Options.LogReads and
// MaxReadsIn), so a sandbox that runs for hours can say it. Without ReadRate
// it returns nil. ResetStats forgets them.
func (s *Sandbox) ReadPeaks(pageID string) map[string]int {
	s.thr.mu.Lock()
	defer s.thr.mu.Unlock()
	if s.thr.readRate <= 0 {
		return nil
	}
	return map[string]int{
		usagePages:     s.thr.peak[bucKey{pageID, usagePages}].peakCount(),
		usageMessenger: s.thr.peak[bucKey{pageID, usageMessenger}].peakCount(),
	}
}

// countCall counts a call at now against rate calls a second, over a sliding
// one-second window (one call per 1/rate seconds for a rate below 1), given
// the times ts of the calls counted before: it returns the times to keep and
// whether the call went past the rate (then none are kept: the block that
// follows starts a new window).
func countCall(ts []time.Time, rate float64, now time.Time) ([]time.Time, bool) {
	window, max := time.Second, int(math.Floor(rate))
	if rate < 1 {
		window, max = time.Duration(float64(time.Second)/rate), 1
	}
	drop := 0
	for drop < len(ts) && now.Sub(ts[drop]) >= window {
		drop++
	}
	ts = append(ts[:0], ts[drop:]...)
	if len(ts) >= max {
		return ts[:0], true
	}
	return append(ts, now), false
}

// allowSend counts one send for the Page and returns 0 when it is within the
// rate, else how long the Page stays blocked. Going past the rate starts a block;
// sends refused during a block do not count toward the window.
func (t *throttle) allowSend(pageID string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.until[pageID]; ok && now.Before(u) {
		return u.Sub(now)
	}
	if u, ok := t.bucUntil[bucKey{pageID, usageMessenger}]; ok && now.Before(u) {
		return u.Sub(now) // reads of conversations went past ReadRate
	}
	if t.rate <= 0 {
		return 0
	}
	var over bool
	if t.sends[pageID], over = countCall(t.sends[pageID], t.rate, now); over {
		t.until[pageID] = now.Add(t.block)
		return t.block
	}
	return 0
}

// usage reports how much of the send rate the Page used in the last window, as a
// percentage kept low: only a refusal says 100.
func (t *throttle) usage(pageID string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 {
		return 1
	}
	n := 0
	for _, at := range t.sends[pageID] {
		if now.Sub(at) < time.Second {
			n++
		}
	}
	return min(50, 1+int(float64(n)*100/math.Max(t.rate, 1)/2))
}

// setUsage writes Meta's usage headers: X-App-Usage, and X-Business-Use-Case-Usage
// for the Page when known. regain > 0 reports a block, rounded up to minutes as
// Meta does. The Page's figures go in X-Business-Use-Case-Usage, where Meta
// reports a Page token's calls; X-App-Usage is the app's own usage across all
// its Pages, which the sandbox does not limit, so it stays at 1 %: a figure
// there at the limit would stop every Page of the app.
func (t *throttle) setUsage(h http.Header, pageID, typ string, percent int, regain time.Duration) {
	minutes := 0
	if regain > 0 {
		minutes = int(math.Ceil(regain.Minutes()))
	}
	k := usageKey{pageID: pageID, typ: typ, percent: percent, minutes: minutes}
	t.headersMu.RLock()
	u := t.headers[k]
	t.headersMu.RUnlock()
	if u == nil {
		u = usageValues(k)
		t.headersMu.Lock()
		if len(t.headers) < maxUsageCached {
			t.headers[k] = u
		}
		t.headersMu.Unlock()
	}
	h["X-App-Usage"] = u[0]
	if pageID != "" {
		h["X-Business-Use-Case-Usage"] = u[1]
	}
}

// usageKey names one set of usage header values. There are few (a Page's
// figures are 0 to 100 percent), so they are built once and shared between
// answers; nothing modifies header values in place.
type usageKey struct {
	pageID, typ      string
	percent, minutes int
}

// maxUsageCached bounds a sandbox's cache of them (thousands of Pages would fill it).
const maxUsageCached = 4096

// appUsage is the sandbox's X-App-Usage: the app itself is never near a limit.
var appUsage = []string{`{"call_count":1,"total_cputime":1,"total_time":1}`}

func usageValues(k usageKey) *[2][]string {
	p := strconv.Itoa(k.percent)
	var u [2][]string
	u[0] = appUsage
	if k.pageID != "" {
		u[1] = []string{`{"` + k.pageID + `":[{"type":"` + k.typ + `","call_count":` + p +
			`,"total_cputime":` + strconv.Itoa(max(1, k.percent/4)) + `,"total_time":` + strconv.Itoa(max(1, k.percent/3)) +
			`,"estimated_time_to_regain_access":` + strconv.Itoa(k.minutes) + `}]}`}
	}
	return &u
}
