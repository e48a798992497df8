package worker

import (
	"strconv"
	"testing"
	"time"
)

// TestOutageFirstPauseToItsSetter_audit22: the failure that sets an
// outage's first pause is told so with the pause, under the guard's lock.
// It was asked after (firstPause): a failure of another reply past that
// pause's end (a worker slot stalled longer than worker's OutagePause, as
// on a loaded CI host) set the run's second pause meanwhile, and the
// outage's first pause line went out without graph_base_url and its hint
// (and TestOutageNamesGraphBaseURL_audit22 found none).
func TestOutageFirstPauseToItsSetter_audit22(t *testing.T) {
	var g outageGuard
	at := time.Unix(1000, 0)
	var d time.Duration
	var set, first bool
	for i := 0; !set; i++ {
		if i > outageAfter+outageTargets {
			t.Fatal("no pause set")
		}
		d, set, first, _ = g.failed(at, 10*time.Second, strconv.Itoa(i%outageTargets))
	}
	if !first {
		t.Error("the run's first pause is not reported first")
	}
	// Another failure after it ended, before the first one's line.
	if _, set2, first2, _ := g.failed(at.Add(d), 10*time.Second, "a"); !set2 || first2 {
		t.Errorf("the run's second pause: set %t, first %t; want set, not first", set2, first2)
	}
	if !first {
		t.Error("the first pause's setter lost its answer")
	}
}
