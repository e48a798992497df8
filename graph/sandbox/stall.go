package sandbox

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// A sandbox records a call's time when its handler runs. When the process
// serving it stalls (an overloaded machine, a long pause of its runtime),
// calls that reached it at their pace during the stall are handled, and
// counted, together when it runs again: a test counting calls per second
// would blame the client for its own process. A StallWatch tells such a
// stall from a burst of calls: a goroutine on a short ticker that notes each
// tick that came much later than the ticker's period.

// Default period and threshold of the stall watch that Options.WatchStalls
// starts.
const (
	StallTick = 10 * time.Millisecond
	StallLate = 50 * time.Millisecond
)

// maxStalls bounds the stalls a StallWatch keeps; past it the oldest are
// forgotten (StallWatch.Forgotten counts them).
const maxStalls = 4096

// Stall is a time the process did not run the stall watch's goroutine: it
// ran at Start and not again before End, more than the ticker's period and
// the threshold later.
type Stall struct {
	Start, End time.Time
}

// Len is how long the stall lasted, as its watch saw it.
func (st Stall) Len() time.Duration { return st.End.Sub(st.Start) }

func (st Stall) String() string {
	return fmt.Sprintf("%s from %s", st.Len().Round(time.Millisecond), st.Start.Format("15:04:05.000"))
}

// StallWatch notes the stalls of the process it runs in. Its methods are
// safe for concurrent use.
type StallWatch struct {
	tick, late time.Duration

	mu        sync.Mutex
	stalls    []Stall // in time order; a ring of maxStalls once full
	first     int     // index of the oldest in stalls once full
	forgotten int

	stop chan struct{}
	done chan struct{}
}

// NewStallWatch returns a watch, not started, whose ticker has the period
// tick and which notes a tick that came more than tick+late after the one
// before it.
func NewStallWatch(tick, late time.Duration) *StallWatch {
	return &StallWatch{tick: tick, late: late}
}

// Start starts the watch's goroutine; Stop stops it.
func (w *StallWatch) Start() {
	tk := time.NewTicker(w.tick)
	w.start(tk.C, tk.Stop, time.Now)
}

// start runs the watch on ticks, reading the time with now: a fake clock and
// ticker for tests. The goroutine ends on Stop or when ticks is closed.
func (w *StallWatch) start(ticks <-chan time.Time, stopTicks func(), now func() time.Time) {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		defer stopTicks()
		prev := now()
		for {
			select {
			case <-w.stop:
				return
			case _, ok := <-ticks:
				if !ok {
					return
				}
				at := now()
				w.saw(prev, at)
				prev = at
			}
		}
	}()
}

// Stop stops the watch and waits for its goroutine; the stalls seen stay.
// It is a no-op on a watch not started or already stopped.
func (w *StallWatch) Stop() {
	if w == nil || w.stop == nil {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// saw notes a tick at at, the previous one at prev: a stall when it came
// more than the period and the threshold after it. A stall that begins where
// the last one ended (ticks late several times in a row) extends it.
func (w *StallWatch) saw(prev, at time.Time) {
	if at.Sub(prev) <= w.tick+w.late {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.stalls); n > 0 {
		last := &w.stalls[(w.first+n-1)%n]
		if !prev.After(last.End) {
			last.End = at
			return
		}
	}
	st := Stall{Start: prev, End: at}
	if len(w.stalls) < maxStalls {
		w.stalls = append(w.stalls, st)
		return
	}
	w.stalls[w.first] = st
	w.first = (w.first + 1) % maxStalls
	w.forgotten++
}

// Stalls returns the stalls seen that overlap [from, to], in time order. On
// a nil watch, none.
func (w *StallWatch) Stalls(from, to time.Time) []Stall {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Stall
	for i := range w.stalls {
		st := w.stalls[(w.first+i)%len(w.stalls)]
		if !st.End.Before(from) && !st.Start.After(to) {
			out = append(out, st)
		}
	}
	return out
}

// StalledIn returns the total length of the stalls that overlap [from, to],
// each counted whole.
func (w *StallWatch) StalledIn(from, to time.Time) time.Duration {
	var d time.Duration
	for _, st := range w.Stalls(from, to) {
		d += st.Len()
	}
	return d
}

// Forgotten returns how many stalls were forgotten to keep the watch's
// memory bounded.
func (w *StallWatch) Forgotten() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.forgotten
}

// WindowCheck is the window of calls CheckWindows found: the one most over
// its allowance, or with none over, the busiest.
type WindowCheck struct {
	// From is the window's first call (zero with no calls); the window is
	// [From, From+Len).
	From  time.Time
	Len   time.Duration
	Calls int
	// Allowed is the calls the window may hold: the base allowance, and
	// rate × the stalls' length, rounded up, for the stalls of the process
	// that overlap the window or the rest of the Len before its last call.
	Allowed int
	// Base is the allowance with no stall.
	Base    int
	Stalled time.Duration
	Stalls  []Stall
}

// Over reports whether the window holds more calls than allowed.
func (c WindowCheck) Over() bool { return c.Calls > c.Allowed }

// String tells the window for a failure message or a report.
func (c WindowCheck) String() string {
	if c.Calls == 0 {
		return "no calls"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls in %s from %s, allowed %d", c.Calls, c.Len, c.From.Format("15:04:05.000"), c.Allowed)
	if len(c.Stalls) == 0 {
		b.WriteString(" (no stall of the sandbox's process seen)")
		return b.String()
	}
	parts := make([]string, len(c.Stalls))
	for i, st := range c.Stalls {
		parts[i] = st.String()
	}
	fmt.Fprintf(&b, " (%d, and %d for the sandbox's process stalled %s: %s)",
		c.Base, c.Allowed-c.Base, c.Stalled.Round(time.Millisecond), strings.Join(parts, ", "))
	return b.String()
}

// CheckWindows measures the sorted call times ts against a limit: any window
// of length d may hold base calls, and, when the process counting them
// stalled (stalls, nil for none: disjoint stalls overlapping [from, to], as
// StallWatch.Stalls returns them), rate (per second) × the stalls' length
// more, rounded up. A stall counts for a window when it overlaps the length
// d up to the window's last call: calls that came at their pace during it
// were counted when it ended, inside the window or just before it. A window
// with no stall gets no more than base. It returns the window most over its
// allowance (the earliest of the busiest such), or with none over, the
// busiest (as MaxIn finds it).
func CheckWindows(ts []time.Time, d time.Duration, base int, rate float64, stalls func(from, to time.Time) []Stall) WindowCheck {
	best := WindowCheck{Len: d, Allowed: base, Base: base}
	if len(ts) == 0 {
		return best
	}
	var all []Stall
	if stalls != nil {
		all = stalls(ts[0].Add(-d), ts[len(ts)-1])
		sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	}
	// The stalls are disjoint and in time order, and so are the windows'
	// spans: those overlapping a span are all[a:b], both moving forward.
	var worst WindowCheck
	worstExcess := 0
	lo, a, b := 0, 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= d {
			lo++
		}
		c := WindowCheck{From: ts[lo], Len: d, Calls: hi - lo + 1, Base: base}
		from, to := ts[hi].Add(-d), ts[hi]
		for a < len(all) && all[a].End.Before(from) {
			a++
		}
		for b < len(all) && !all[b].Start.After(to) {
			b++
		}
		for _, st := range all[a:max(a, b)] {
			c.Stalls = append(c.Stalls, st)
			c.Stalled += st.Len()
		}
		c.Allowed = base + int(math.Ceil(rate*float64(c.Stalled)/float64(time.Second)))
		if ex := c.Calls - c.Allowed; ex > 0 && (ex > worstExcess || ex == worstExcess && c.Calls > worst.Calls) {
			worst, worstExcess = c, ex
		}
		if c.Calls > best.Calls {
			best = c
		}
	}
	if worstExcess > 0 {
		return worst
	}
	return best
}
