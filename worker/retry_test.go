package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

func TestIsFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"delay", &delayError{d: time.Second, reason: "paused"}, false},
		{"wrapped delay", fmt.Errorf("x: %w", &delayError{d: time.Second}), false},
		{"transient", errors.New("graph: 500"), true},
		{"skip retry", fmt.Errorf("bad: %w", asynq.SkipRetry), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsFailure(tc.err); got != tc.want {
				t.Fatalf("IsFailure(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for n := 0; n < 10; n++ {
		want := base << n
		if want > max {
			want = max
		}
		for i := 0; i < 50; i++ {
			d := Backoff(n, base, max)
			if d < want/2 || d > want*3/2 {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want*3/2)
			}
		}
	}
	// Jitter: retries of many tasks spread out.
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		seen[Backoff(3, base, max)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("Backoff has little jitter: %d distinct values of 20", len(seen))
	}
}

func TestRetryDelayHonoursDelayErrors(t *testing.T) {
	w := New(Params{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	if d := w.retryDelay(0, &delayError{d: 42 * time.Second}, nil); d != 42*time.Second {
		t.Fatalf("delay = %s, want 42s", d)
	}
	if d := w.retryDelay(5, errors.New("x"), nil); d > 2*time.Millisecond {
		t.Fatalf("backoff = %s, want about 1ms", d)
	}
}

func TestLimitOf(t *testing.T) {
	p := &config.Page{Rate: config.Rate{N: 50, Per: time.Second}, Burst: 3}
	l := LimitOf(p, time.Second)
	if l.Interval < 20*time.Millisecond || l.Interval > 21*time.Millisecond || l.Burst != 3 || l.MaxWait != time.Second {
		t.Fatalf("LimitOf = %+v", l)
	}
	if l := LimitOf(&config.Page{}, time.Second); l.Interval != 0 {
		t.Fatalf("no rate: %+v, want no limit", l)
	}
}

// TestOutageGuard: the run of transient failures that makes an outage, the
// pauses it sets (doubling, capped), and Graph's answer ending it.
func TestOutageGuard(t *testing.T) {
	var g outageGuard
	now := time.Unix(1_800_000_000, 0)
	base := 10 * time.Second
	// One or two replies failing again and again are not an outage, however
	// long the run.
	for i := 0; i < 3*outageAfter; i++ {
		if _, _, _, outage := g.failed(now, base, []string{"a", "b"}[i%2]); outage {
			t.Fatalf("failure %d of two replies is an outage", i+1)
		}
	}
	if g.answered() {
		t.Fatal("a run that paused nothing ended as an outage")
	}
	targets := func(i int) string { return strconv.Itoa(i % outageTargets) }
	for i := 1; i < outageAfter; i++ {
		if _, _, _, outage := g.failed(now, base, targets(i)); outage {
			t.Fatalf("failure %d of a run is an outage, want one from %d on", i, outageAfter)
		}
	}
	d, set, _, outage := g.failed(now, base, targets(0))
	if !outage || !set || d != base {
		t.Fatalf("failure %d: %s %v %v, want a new pause of %s", outageAfter, d, set, outage, base)
	}
	// Another failure during that pause (a reply already in flight): the
	// rest of it, no new pause.
	if d, set, _, outage := g.failed(now.Add(4*time.Second), base, "a"); !outage || set || d != 6*time.Second {
		t.Fatalf("failure during the pause: %s %v %v, want the 6s left of it", d, set, outage)
	}
	// Each pause the run goes on after doubles, up to maxOutagePause.
	at, want := now, base
	for i := 0; i < 8; i++ {
		at = at.Add(d)
		want = min(want*2, maxOutagePause)
		if d, set, _, outage = g.failed(at, base, "a"); !outage || !set || d != want {
			t.Fatalf("pause %d: %s %v %v, want a new pause of %s", i+2, d, set, outage, want)
		}
	}
	// An answer from Graph ends the run, once: the next failures are ordinary.
	if !g.answered() {
		t.Fatal("the answer that ended a run of pauses did not end an outage")
	}
	if g.answered() {
		t.Fatal("a second answer ended the outage again")
	}
	if _, _, _, outage := g.failed(at, base, "a"); outage {
		t.Fatal("a failure right after Graph answered is an outage")
	}
}

// TestOutageLenienceEndsWithTheReplyWindow: in an outage, a reply queued
// longer ago than the reply window uses its retries (Graph would refuse it
// anyway), so a reply cannot go round for ever; a younger one does not.
func TestOutageLenienceEndsWithTheReplyWindow(t *testing.T) {
	w := New(Params{OutagePause: time.Minute})
	ps := &pageState{}
	for i := 0; i < outageAfter; i++ {
		ps.outage.failed(time.Now(), time.Minute, strconv.Itoa(i)) // the pause is set: w.outage writes none
	}
	young := &tasks.Reply{PageID: "1", EnqueuedAt: time.Now().Add(-time.Hour).UnixMilli()}
	log := &taskLog{base: w.log, r: young}
	if d, ok := w.outage(context.Background(), ps, young, errors.New("graph: 500"), log); !ok || d == nil || IsFailure(d) {
		t.Fatalf("young reply in an outage: %v %v, want a put-back", d, ok)
	}
	old := &tasks.Reply{PageID: "1", EnqueuedAt: time.Now().Add(-outageLenience - time.Hour).UnixMilli()}
	if _, ok := w.outage(context.Background(), ps, old, errors.New("graph: 500"), log); ok {
		t.Fatal("reply older than the reply window put back without using a retry")
	}
	// An answer Graph gave about one message (1200) says Graph is up.
	if _, ok := w.outage(context.Background(), ps, young, &graph.Error{Code: 1200, Class: graph.ClassTransient}, log); ok {
		t.Fatal("Graph's 1200 counted toward an outage")
	}
	if _, ok := w.outage(context.Background(), ps, young, errors.New("graph: 500"), log); ok {
		t.Fatal("the run went on after Graph answered")
	}
	// A call cut off by the worker stopping says nothing of Graph, even in
	// an outage.
	for i := 0; i < outageAfter; i++ {
		ps.outage.failed(time.Now(), time.Minute, strconv.Itoa(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := w.outage(ctx, ps, young, context.Canceled, log); ok {
		t.Fatal("a canceled call counted toward an outage")
	}
}
