package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestReadPeaks_audit17: with Options.ReadRate, ReadPeaks gives per Page and
// rate limit type the most reads the read throttle counted inside one
// second: a refused read does not count, the types and Pages are counted
// apart, ResetStats forgets them, and what it keeps does not grow with the
// reads (a sandbox runs for hours). Without ReadRate it is nil.
func TestReadPeaks_audit17(t *testing.T) {
	f := newFixture(t, Options{ReadRate: 3, ThrottleBlock: time.Second})
	comments := "/v25.0/" + f.pagePost + "/comments"
	feed := "/v25.0/" + f.p.ID + "/feed"
	convs := "/v25.0/" + f.p.ID + "/conversations"
	read := func(path string, want int) {
		t.Helper()
		if a := f.get(path, f.p.Token); a.status != want {
			t.Fatalf("%s: %d %s, want %d", path, a.status, a.raw, want)
		}
	}
	wantPeaks := func(what string, pageID string, pages, messenger int) {
		t.Helper()
		got := f.sb.ReadPeaks(pageID)
		if len(got) != 2 || got[UsageTypePages] != pages || got[UsageTypeMessenger] != messenger {
			t.Errorf("%s: ReadPeaks %v, want pages %d, messenger %d", what, got, pages, messenger)
		}
	}
	wantPeaks("before any read", f.p.ID, 0, 0)
	read(comments, http.StatusOK)
	f.clk.Add(100 * time.Millisecond)
	read(feed, http.StatusOK)
	wantPeaks("two reads in a second", f.p.ID, 2, 0)
	// A second later the window is empty: three reads fill it, a fourth is
	// refused (80001) and does not count.
	f.clk.Add(1100 * time.Millisecond)
	for range 3 {
		read(comments, http.StatusOK)
		f.clk.Add(100 * time.Millisecond)
	}
	read(feed, http.StatusBadRequest)
	read(convs, http.StatusOK)
	wantPeaks("three reads, one refused, a conversations read", f.p.ID, 3, 1)
	wantPeaks("the other Page", f.other.ID, 0, 0)

	// Hours of reads, one a second past the block: the peak stays the
	// window's, and the throttle keeps one window a Page and type.
	f.clk.Add(time.Minute)
	for range 3600 {
		read(feed, http.StatusOK)
		f.clk.Add(time.Second)
	}
	wantPeaks("an hour of one read a second", f.p.ID, 3, 1)
	f.sb.thr.mu.Lock()
	kept, peaks := len(f.sb.thr.reads[bucKey{f.p.ID, usagePages}]), len(f.sb.thr.peak)
	f.sb.thr.mu.Unlock()
	if kept > 3 || peaks > 2 {
		t.Errorf("after an hour: %d reads kept in the window, %d peaks, want at most 3 and 2", kept, peaks)
	}
	f.sb.ResetStats()
	wantPeaks("after ResetStats", f.p.ID, 0, 0)

	g := newFixture(t, Options{})
	g.get("/v25.0/"+g.pagePost+"/comments", g.p.Token)
	if got := g.sb.ReadPeaks(g.p.ID); got != nil {
		t.Errorf("without ReadRate: ReadPeaks %v, want nil", got)
	}
}
