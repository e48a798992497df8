package sandbox

import (
	"strings"
	"testing"
	"time"
)

var stallT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return stallT0.Add(time.Duration(n) * time.Millisecond) }

// TestStallWatchBookkeeping_audit18: a tick more than the period and the
// threshold after the one before it is a stall from the earlier tick to it;
// one on time, or late by the threshold exactly, is none; stalls in a row
// make one; Stalls returns those overlapping [from, to] (ends included);
// the watch keeps at most maxStalls, forgetting the oldest.
func TestStallWatchBookkeeping_audit18(t *testing.T) {
	w := NewStallWatch(5*time.Millisecond, 50*time.Millisecond)
	w.saw(ms(0), ms(5))
	w.saw(ms(5), ms(60)) // late by the threshold exactly
	if got := w.Stalls(ms(0), ms(1000)); len(got) != 0 {
		t.Fatalf("stalls %v for ticks late by the threshold at most", got)
	}
	w.saw(ms(60), ms(200))  // 140 ms
	w.saw(ms(200), ms(300)) // late again: the same stall
	w.saw(ms(300), ms(305))
	w.saw(ms(1000), ms(1100))
	want := []Stall{{ms(60), ms(300)}, {ms(1000), ms(1100)}}
	if got := w.Stalls(ms(0), ms(2000)); !equalStalls(got, want) {
		t.Fatalf("stalls %v, want %v", got, want)
	}
	for _, c := range []struct {
		from, to int
		want     []Stall
	}{
		{0, 59, nil},
		{0, 60, want[:1]},
		{300, 999, want[:1]},
		{301, 999, nil},
		{301, 1000, want[1:]},
		{250, 1050, want},
	} {
		if got := w.Stalls(ms(c.from), ms(c.to)); !equalStalls(got, c.want) {
			t.Errorf("Stalls(%d ms, %d ms) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if d := w.StalledIn(ms(0), ms(2000)); d != 340*time.Millisecond {
		t.Errorf("StalledIn = %s, want 340ms", d)
	}

	w = NewStallWatch(5*time.Millisecond, 50*time.Millisecond)
	for i := range maxStalls + 3 {
		w.saw(ms(1000*i), ms(1000*i+100))
	}
	got := w.Stalls(ms(0), ms(1000*(maxStalls+3)))
	if len(got) != maxStalls || w.Forgotten() != 3 {
		t.Fatalf("%d stalls kept, %d forgotten; want %d and 3", len(got), w.Forgotten(), maxStalls)
	}
	for i, st := range got {
		if want := (Stall{ms(1000 * (i + 3)), ms(1000*(i+3) + 100)}); st != want {
			t.Fatalf("stall %d: %v, want %v (oldest forgotten, order kept)", i, st, want)
		}
	}
	// A late tick right after the ring wrapped still extends the newest.
	w.saw(ms(1000*(maxStalls+2)+100), ms(1000*(maxStalls+2)+400))
	if got := w.Stalls(ms(1000*(maxStalls+2)), ms(1000*(maxStalls+3))); len(got) != 1 || got[0].Len() != 400*time.Millisecond {
		t.Errorf("newest stall after a late tick in a row: %v, want one of 400ms", got)
	}
}

func equalStalls(a, b []Stall) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) {
			return false
		}
	}
	return true
}

// TestStallWatchFakeTicker_audit18: the watch's goroutine reads the clock
// at each tick it receives and notes the late ones; Stop ends it.
func TestStallWatchFakeTicker_audit18(t *testing.T) {
	times := []int{0, 5, 10, 15, 215, 220, 225}
	i := 0
	now := func() time.Time { // called by the watch's goroutine only
		at := ms(times[i])
		i++
		return at
	}
	ticks := make(chan time.Time) // unbuffered: a send returns once received
	stopped := false
	w := NewStallWatch(5*time.Millisecond, 50*time.Millisecond)
	w.start(ticks, func() { stopped = true }, now)
	for range times[1:] {
		ticks <- time.Time{}
	}
	w.Stop()
	if !stopped {
		t.Error("Stop left the ticker running")
	}
	want := []Stall{{ms(15), ms(215)}}
	if got := w.Stalls(ms(0), ms(1000)); !equalStalls(got, want) {
		t.Errorf("stalls %v, want %v", got, want)
	}
	w.Stop() // twice: no-op
	(*StallWatch)(nil).Stop()
	NewStallWatch(time.Millisecond, time.Millisecond).Stop() // never started

	// A real one, started and stopped with a sandbox.
	sb := New(Options{WatchStalls: true})
	if sb.stalls == nil {
		t.Fatal("Options.WatchStalls started no watch")
	}
	sb.Close()
	sb.Close()
	New(Options{}).Close()
}

// TestCheckWindows_audit18: a window of calls with no stall around it may
// hold the base allowance and no more, wherever the process stalled
// otherwise; a stall overlapping the second up to the window's last call
// adds rate × its length, rounded up; the window reported is the one most
// over its allowance, else the busiest.
func TestCheckWindows_audit18(t *testing.T) {
	at := func(msecs ...int) []time.Time {
		var ts []time.Time
		for _, m := range msecs {
			ts = append(ts, ms(m))
		}
		return ts
	}
	burst := func(from, n, step int) []int {
		var out []int
		for i := range n {
			out = append(out, from+i*step)
		}
		return out
	}
	fixed := func(st ...Stall) func(from, to time.Time) []Stall {
		return func(from, to time.Time) []Stall {
			var out []Stall
			for _, s := range st {
				if !s.End.Before(from) && !s.Start.After(to) {
					out = append(out, s)
				}
			}
			return out
		}
	}
	// 6 calls within 100 ms from 5000 ms; 3 more a second apart before.
	calls := at(append([]int{1000, 2000, 3000}, burst(5000, 6, 20)...)...)
	for _, c := range []struct {
		name    string
		stalls  func(from, to time.Time) []Stall
		over    bool
		allowed int
		from    time.Time
	}{
		{"no watch", nil, true, 4, ms(5000)},
		{"no stall", fixed(), true, 4, ms(5000)},
		{"a stall elsewhere", fixed(Stall{ms(1500), ms(1900)}), true, 4, ms(5000)},
		{"a stall more than a second before the last call", fixed(Stall{ms(3000), ms(4099)}), true, 4, ms(5000)},
		// 100 ms at 10/s: 1 more, not enough for 6.
		{"a short stall just before", fixed(Stall{ms(4800), ms(4900)}), true, 5, ms(5000)},
		// 150 ms at 10/s: 1.5, 2 more.
		{"a stall ending in the window", fixed(Stall{ms(4900), ms(5050)}), false, 6, ms(5000)},
		{"a stall within the second before the last call", fixed(Stall{ms(4000), ms(4150)}), false, 6, ms(5000)},
		{"two stalls", fixed(Stall{ms(4200), ms(4300)}, Stall{ms(4900), ms(4960)}), false, 6, ms(5000)},
	} {
		got := CheckWindows(calls, time.Second, 4, 10, c.stalls)
		if got.Over() != c.over || got.Allowed != c.allowed || got.Calls != 6 || !got.From.Equal(c.from) || got.Base != 4 {
			t.Errorf("%s: %+v, want 6 calls from %s allowed %d (over %v)", c.name, got, c.from, c.allowed, c.over)
		}
		if msg := got.String(); len(got.Stalls) == 0 != strings.Contains(msg, "no stall") {
			t.Errorf("%s: %q does not tell its stalls %v", c.name, msg, got.Stalls)
		}
	}

	// A stall excuses its own window, not another one: the busier window
	// after the stall passes, the one with no stall is reported over.
	calls = at(append(burst(1000, 6, 20), burst(5000, 5, 20)...)...)
	got := CheckWindows(calls, time.Second, 4, 10, fixed(Stall{ms(700), ms(1000)}))
	if !got.Over() || !got.From.Equal(ms(5000)) || got.Calls != 5 || got.Allowed != 4 || got.Stalled != 0 {
		t.Errorf("a stall before another window: %+v, want the 5 calls from 5000 ms over 4", got)
	}
	if msg := got.String(); !strings.Contains(msg, "5 calls in 1s from 00:00:05.000, allowed 4") {
		t.Errorf("message %q", msg)
	}
	// None over: the busiest, as MaxIn finds it, with its stall.
	got = CheckWindows(calls, time.Second, 6, 10, fixed(Stall{ms(700), ms(1000)}))
	if n, from := MaxIn(calls, time.Second); got.Over() || got.Calls != n || !got.From.Equal(from) || got.Allowed != 9 {
		t.Errorf("none over: %+v, want the busiest, %d from %s, allowed 6+3", got, n, from)
	}
	if msg := got.String(); !strings.Contains(msg, "allowed 9 (6, and 3 for the sandbox's process stalled 300ms: 300ms from 00:00:00.700)") {
		t.Errorf("message %q does not tell the stall", msg)
	}
	if got := CheckWindows(nil, time.Second, 4, 10, nil); got.Over() || got.Calls != 0 || got.String() != "no calls" {
		t.Errorf("no calls: %+v", got)
	}
}
