package sandbox

import (
	"slices"
	"testing"
	"time"
)

// TestSendPeakLateCall_audit18: a call counted a second or more before the
// newest kept one (its time taken before a long wait for the sandbox's
// lock) is not kept, but the window it starts is counted, so SendPeak says
// what MaxIn over the whole log says (count and first call). No other test
// sends a call that late: the branch went untested.
//   - 1.94 s late: the window it starts holds as many calls as the busiest
//     one so far and starts before it;
//   - exactly a second late: it takes the late branch too (the window it
//     starts holds the kept calls less than a second after it); kills the
//     branch's ">= time.Second" turned into ">", which the first case
//     leaves alive.
func TestSendPeakLateCall_audit18(t *testing.T) {
	for _, tc := range []struct {
		name string
		late int // ms after t0 of the call counted last
	}{{"1.94 s late", 100}, {"exactly a second late", 1040}} {
		t.Run(tc.name, func(t *testing.T) {
			sb := New(Options{Pages: 1, Seed: 18, LogCalls: true})
			page := sb.Pages()[0].ID
			t0 := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
			ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
			for _, at := range []time.Time{ms(1050), ms(1060), ms(1070), ms(2040), ms(tc.late)} {
				sb.rec.logSend(page, at)
			}
			log := sb.CallLog(page)
			slices.SortFunc(log, func(a, b time.Time) int { return a.Compare(b) })
			want, wantFrom := MaxIn(log, time.Second)
			if got, from := sb.SendPeak(page); got != want || !from.Equal(wantFrom) {
				t.Errorf("SendPeak %d from %s; MaxIn says %d from %s", got, from.Format(time.StampMilli), want, wantFrom.Format(time.StampMilli))
			}
			if n := sb.CallCount(page); n != 5 {
				t.Errorf("CallCount %d, want 5", n)
			}
		})
	}
}
