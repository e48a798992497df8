package api_test

import (
	"context"
	"sync"
	"time"

	"github.com/pagereply/pagereply/tasks"
)

// fuzzMark is one call FuzzWebhook's recordingMarks took.
type fuzzMark struct {
	verb, page string
	t          tasks.Target
	at         time.Time
}

// recordingMarks is a HiddenMarks that keeps the calls it took, in order
// (the webhook writes one target's marks in the delivery's order).
type recordingMarks struct {
	mu    sync.Mutex
	calls []fuzzMark
}

func (m *recordingMarks) add(c fuzzMark) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, c)
	return true, nil
}

func (m *recordingMarks) MarkHidden(_ context.Context, page, id string, at time.Time) (bool, error) {
	return m.add(fuzzMark{"hide", page, tasks.Target{Kind: tasks.KindComment, ID: id}, at})
}

func (m *recordingMarks) UnmarkHidden(_ context.Context, page, id string, at time.Time) (bool, error) {
	return m.add(fuzzMark{"unhide", page, tasks.Target{Kind: tasks.KindComment, ID: id}, at})
}

func (m *recordingMarks) MarkRemoved(_ context.Context, page string, t tasks.Target) (bool, error) {
	return m.add(fuzzMark{"remove", page, t, time.Time{}})
}

// lastMarks is each target's last mark of a delivery (by Page and target),
// and whether its last unhide is followed only by hides older than it.
func lastMarks(calls []fuzzMark) (last map[fuzzMark]string, shown map[fuzzMark]bool) {
	last, shown = map[fuzzMark]string{}, map[fuzzMark]bool{}
	unhideAt := map[fuzzMark]time.Time{}
	for _, c := range calls {
		k := fuzzMark{page: c.page, t: c.t}
		last[k] = c.verb
		switch {
		case c.verb == "unhide":
			shown[k], unhideAt[k] = true, c.at
		case c.verb == "hide" && !c.at.IsZero() && c.at.Before(unhideAt[k]):
			// Older than the unhide: changes nothing.
		default:
			shown[k] = false
		}
	}
	return last, shown
}
