package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/tasks"
)

// TestPauseHintGraphDown_audit22: a graph_down pause is worded for what it
// is, not as a throttle ("once Meta has ended a block sooner"): Graph asked
// to wait (a 503 with Retry-After), so the pause ends by itself at the time
// Graph gave; or Graph did not answer, so it ends by itself and the calls
// are tried again. pagereply resume lifts either sooner. A throttle's and a
// broken token's words are as they were.
func TestPauseHintGraphDown_audit22(t *testing.T) {
	const page = "123"
	resume := "pagereply resume -c FILE --page " + page + " lifts it"
	for _, tc := range []struct {
		reason string
		want   []string
	}{
		{tasks.PauseGraphDown + ": graph: feed: Service temporarily unavailable [code 2, http 503, class transient, retry after 3s, fbtrace Ak1]",
			[]string{"Graph asked to wait: the pause ends by itself at the time Graph gave (pagereply status shows how long it has left); " + resume + " sooner"}},
		{tasks.PauseGraphDown + ": no answer from Graph to 5 or more calls in a row (last: dial tcp 127.0.0.1:1: connect: connection refused)",
			[]string{"Graph did not answer the Page's calls: the pause ends by itself", "once Graph answers again, " + resume + " sooner"}},
		{tasks.PauseThrottled + ": (#32) Page request limit reached", []string{"the pause ends by itself", "once Meta has ended a block sooner, " + resume + " now"}},
		{tasks.PausePageBroken + ": (#190) token expired", []string{"a new access_token", resume + " now"}},
	} {
		h := pauseHint(page, tc.reason)
		for _, w := range tc.want {
			if !strings.Contains(h, w) {
				t.Errorf("pauseHint for %q: %q, want it to say %q", tc.reason, h, w)
			}
		}
		if tasks.PauseKind(tc.reason) == tasks.PauseGraphDown && strings.Contains(h, "Meta has ended a block") {
			t.Errorf("pauseHint for %q: %q, worded as a throttle", tc.reason, h)
		}
	}
}
