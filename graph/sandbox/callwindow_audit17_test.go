package sandbox

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSendCallsBoundedOverAnHour_audit17: a sandbox left running for hours
// (pagereply sandbox --grow) kept the time of every POST /messages call of a
// Page, to say max_send_calls_in_1s. Without Options.LogCalls it must keep
// no more than the calls of the last second, an hour of calls on a fake
// clock long, and still say the busiest second.
func TestSendCallsBoundedOverAnHour_audit17(t *testing.T) {
	sb := New(Options{Pages: 1, Seed: 17})
	page := sb.Pages()[0].ID
	rng := rand.New(rand.NewPCG(17, 1))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := at.Add(time.Hour)
	var last []time.Time // the calls of the last second, as a check
	n, busiest := 0, 0
	for at.Before(end) {
		gap := time.Duration(rng.IntN(100)) * time.Millisecond // ~20 calls a second
		if rng.IntN(500) == 0 {
			gap = 0 // the odd burst of calls at the same instant
		}
		at = at.Add(gap)
		sb.rec.logSend(page, at)
		n++
		last = append(last, at)
		for at.Sub(last[0]) >= time.Second {
			last = last[1:]
		}
		busiest = max(busiest, len(last))
		sb.rec.mu.Lock()
		kept, logged := len(sb.rec.sendCalls[page].ts), len(sb.rec.callLog[page])
		sb.rec.mu.Unlock()
		if kept > len(last) || logged != 0 {
			t.Fatalf("after %d calls: %d call times kept and %d logged, the last second holding %d", n, kept, logged, len(last))
		}
	}
	if got, _ := sb.SendPeak(page); got != busiest || sb.MaxCallsIn(page, time.Second) != busiest {
		t.Fatalf("SendPeak %d, MaxCallsIn %d, want %d", got, sb.MaxCallsIn(page, time.Second), busiest)
	}
	if got := sb.CallCount(page); got != n {
		t.Fatalf("CallCount %d, want %d", got, n)
	}
	if log := sb.CallLog(page); log != nil {
		t.Fatalf("CallLog kept %d times without LogCalls", len(log))
	}
}

// TestSendPeakMatchesMaxIn_audit17: the peak kept as the calls come is what
// MaxIn over the full log says, count and first call, on random sequences
// (bursts, equal times, gaps of exactly a second); with calls counted out of
// order it may miss a late call but never says more than MaxIn.
func TestSendPeakMatchesMaxIn_audit17(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 2))
		sb := New(Options{Pages: 1, Seed: 17, LogCalls: true})
		page := sb.Pages()[0].ID
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var times []time.Time
		for range 1 + rng.IntN(300) {
			switch rng.IntN(10) {
			case 0:
				at = at.Add(time.Second)
			case 1:
				at = at.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
			case 2:
			default:
				at = at.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
			}
			times = append(times, at)
		}
		shuffled := seed%2 == 1
		if shuffled { // out of order by up to 300 ms, as lock waits would
			for i := range times {
				j := i + rng.IntN(4)
				if j < len(times) && times[j].Sub(times[i]) < 300*time.Millisecond {
					times[i], times[j] = times[j], times[i]
				}
			}
		}
		for _, ts := range times {
			sb.rec.logSend(page, ts)
		}
		log := sb.CallLog(page)
		if !slices.Equal(log, times) {
			t.Fatalf("seed %d: CallLog differs from the calls", seed)
		}
		slices.SortFunc(log, func(a, b time.Time) int { return a.Compare(b) })
		want, wantFrom := MaxIn(log, time.Second)
		got, from := sb.SendPeak(page)
		if shuffled {
			if got > want || got < 1 {
				t.Fatalf("seed %d (out of order): SendPeak %d, MaxIn %d", seed, got, want)
			}
			continue
		}
		if got != want || !from.Equal(wantFrom) || sb.MaxCallsIn(page, time.Second) != want {
			t.Fatalf("seed %d: SendPeak %d from %s, MaxCallsIn %d; MaxIn %d from %s", seed, got, from, sb.MaxCallsIn(page, time.Second), want, wantFrom)
		}
		if got := sb.MaxCallsIn(page, 2*time.Second); got != func() int { n, _ := MaxIn(log, 2*time.Second); return n }() {
			t.Fatalf("seed %d: MaxCallsIn over 2s %d, not MaxIn's", seed, got)
		}
	}
}
