package worker_test

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestPollReadAfterRedisAwayRetakes_audit17: when Redis comes back from a
// moment away (frozen, restarted), the Page's schedule has fallen behind the
// clock, so the reads that take new slots get the Page's burst at once and
// then its rate; a poll whose late pause check returned then reading in the
// slot it had kept was one read more than the Page's rate and burst allow in
// that second. A soak saw this as one 80001 on a poll's comments listing a
// second after a `DEBUG SLEEP 3`. The poll's read takes a new slot as every
// other reader's does, so the Page's reads stay within its rate and burst:
// here 7.5 a second and 2 at once above it (10 reads in any second: 3 at
// once, then one every 135 ms), against a Graph allowing exactly 10.
func TestPollReadAfterRedisAwayRetakes_audit17(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	h, srv := frozenReadsHarnessAt(t, 1713, 10)
	pages := pacedPollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 15, Per: 2 * time.Second}, 2
	pollAfterRedisAway(t, h, srv, pages, 16, 7171000)
}
