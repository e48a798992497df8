package worker

import (
	"errors"
	"testing"

	"github.com/pagereply/pagereply/tasks"
)

// TestOutagePause_audit22: OutagePause tells an outage's graph_down pause
// (the reason the worker writes) from Graph's asking to wait, also
// graph_down, and from any other kind, so pagereply poll and enqueue word
// each for what it is.
func TestOutagePause_audit22(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   bool
	}{
		{tasks.PauseGraphDown + ": " + outageReason(errors.New("dial tcp 127.0.0.1:1: connect: connection refused")), true},
		{tasks.PauseGraphDown + ": graph: feed: Service temporarily unavailable [code 2, http 503, class transient, retry after 3s, fbtrace Ak1]", false},
		{tasks.PauseThrottled + ": " + outageReason(errors.New("x")), false},
		{"", false},
	} {
		if got := OutagePause(tc.reason); got != tc.want {
			t.Errorf("OutagePause(%q) = %t, want %t", tc.reason, got, tc.want)
		}
	}
}
