package sandbox

import (
	"slices"
	"testing"
	"time"
)

// TestSendPeakLateCallEdge_audit18: a call counted exactly a second before
// the newest kept one takes callWindow's late branch too (the window it
// starts holds the kept calls less than a second after it), so SendPeak
// says what MaxIn says, the first call included. Kills the late branch's
// ">= time.Second" turned into ">", which TestSendPeakLateCall_audit18
// (a call 1.94 s late) leaves alive.
func TestSendPeakLateCallEdge_audit18(t *testing.T) {
	sb := New(Options{Pages: 1, Seed: 18, LogCalls: true})
	page := sb.Pages()[0].ID
	t0 := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, at := range []time.Time{ms(1050), ms(1060), ms(1070), ms(2040), ms(1040)} {
		sb.rec.logSend(page, at)
	}
	log := sb.CallLog(page)
	slices.SortFunc(log, func(a, b time.Time) int { return a.Compare(b) })
	want, wantFrom := MaxIn(log, time.Second)
	if got, from := sb.SendPeak(page); got != want || !from.Equal(wantFrom) {
		t.Errorf("SendPeak %d from %s; MaxIn says %d from %s", got, from.Format(time.StampMilli), want, wantFrom.Format(time.StampMilli))
	}
}
