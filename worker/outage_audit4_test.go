package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestOutageGuardFreshRunAfterAnswer: once Graph answered, an outage that
// starts later is a new one: its first pause is the base again (not the
// doubled pause the last run had reached), set now even within the last
// run's pause, and an answer to a run that paused nothing ends no outage.
func TestOutageGuardFreshRunAfterAnswer(t *testing.T) {
	var g outageGuard
	at := time.Unix(1_800_000_000, 0)
	base := 10 * time.Second
	run := func() (time.Duration, bool, bool) {
		var d time.Duration
		var set, outage bool
		for i := range outageAfter {
			d, set, _, outage = g.failed(at, base, strconv.Itoa(i%outageTargets))
		}
		return d, set, outage
	}
	run()
	for range 3 { // pauses of 20s, 40s, 80s
		at = at.Add(time.Second)
		g.until = time.Time{} // each one's end reached
		g.failed(at, base, "a")
	}
	if !g.answered() {
		t.Fatal("the answer after a run of pauses ended no outage")
	}
	// Still within the last run's 80s pause.
	if d, set, outage := run(); !outage || !set || d != base {
		t.Fatalf("a new run after Graph answered: %s %v %v, want a new pause of %s", d, set, outage, base)
	}
	if !g.answered() {
		t.Fatal("the answer after the new run's pause ended no outage")
	}
	g.failed(at, base, "a")
	if g.answered() {
		t.Fatal("an answer after one failure, with no pause set since the last answer, ended an outage")
	}
}

// TestGraphAnsweredLogsOutageEnd: the answer that ends an outage this
// process paused the Page for is logged once ("outage over"); the answers
// after it, and one ending a run that paused nothing, are not.
func TestGraphAnsweredLogsOutageEnd(t *testing.T) {
	var buf bytes.Buffer
	log := &taskLog{base: slog.New(slog.NewTextHandler(&buf, nil)), r: &tasks.Reply{PageID: "1"}}
	ps := &pageState{}
	ps.outage.failed(time.Now(), time.Minute, "a")
	graphAnswered(ps, log)
	if buf.Len() != 0 {
		t.Fatalf("the end of a run that paused nothing logged: %s", buf.String())
	}
	for i := range outageAfter {
		ps.outage.failed(time.Now(), time.Minute, strconv.Itoa(i%outageTargets))
	}
	graphAnswered(ps, log)
	graphAnswered(ps, log)
	if n := strings.Count(buf.String(), "outage over"); n != 1 {
		t.Fatalf("%d lines saying the outage is over, want 1: %s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "kind="+tasks.PauseGraphDown) || !strings.Contains(buf.String(), "page_id=1") {
		t.Errorf("outage end logged without its kind and Page: %s", buf.String())
	}
}

// TestOutagePausesPageInRedis: the failure that makes a run an outage
// pauses the Page in Redis as graph_down for the whole new pause, with the
// reason, and puts its reply back for at least that long (plus a spread, so
// that the Page's replies do not all come back at once); the failures
// before it pause nothing, and one during the pause sets no new one.
func TestOutagePausesPageInRedis(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	t.Cleanup(l.Close)
	const pause = time.Minute
	w := New(Params{Ledger: l, OutagePause: pause})
	ps := &pageState{}
	ctx := context.Background()
	fail := func(i int) (*delayError, bool) {
		r := &tasks.Reply{PageID: "1", Target: tasks.Target{Kind: tasks.KindComment, ID: strconv.Itoa(i % outageTargets)}, EnqueuedAt: time.Now().UnixMilli()}
		return w.outage(ctx, ps, r, errors.New("graph: 503 Service Unavailable"), &taskLog{base: w.log, r: r})
	}
	for i := range outageAfter - 1 {
		if d, ok := fail(i); ok {
			t.Fatalf("failure %d put back as an outage: %v", i+1, d)
		}
		if left, reason, err := l.Paused(ctx, "1"); err != nil || left > 0 {
			t.Fatalf("failure %d: Page paused %s %q %v, want not yet", i+1, left, reason, err)
		}
	}
	d, ok := fail(outageAfter)
	if !ok || d == nil || IsFailure(d) {
		t.Fatalf("failure %d: %v %v, want a put-back for the outage", outageAfter, d, ok)
	}
	left, reason, err := l.Paused(ctx, "1")
	if err != nil || tasks.PauseKind(reason) != tasks.PauseGraphDown || !strings.Contains(reason, "graph: 503") {
		t.Fatalf("Page paused %s %q %v, want a %s pause with the last failure", left, reason, err, tasks.PauseGraphDown)
	}
	// The pause is the new one's whole length (Redis keeps whole
	// milliseconds), and the reply waits it out.
	if left < pause-5*time.Second || left > pause {
		t.Errorf("Page paused for %s, want the outage pause of %s", left, pause)
	}
	if d.d <= pause {
		t.Errorf("reply put back for %s, want the pause of %s and a spread", d.d, pause)
	}
	// A failure during the pause writes no new one.
	if err := l.Resume(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if d, ok := fail(0); !ok || d.d > pause+pause/10 {
		t.Fatalf("failure during the pause: %v %v, want put back for the rest of it", d, ok)
	}
	if left, reason, err := l.Paused(ctx, "1"); err != nil || left > 0 {
		t.Errorf("a failure during the pause paused the Page again: %s %q %v", left, reason, err)
	}
}

// TestOutageStartsAtFiveFailuresOfThreeReplies: the run that makes an
// outage is 5 failures in a row of at least 3 replies, as the doc says (a
// Graph outage shows at once on a busy Page; a quiet Page's one or two
// replies failing is not one).
func TestOutageStartsAtFiveFailuresOfThreeReplies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		targets []string
		outage  bool
	}{
		{[]string{"a", "b", "c", "a"}, false},
		{[]string{"a", "b", "a", "b", "a", "b"}, false},
		{[]string{"a", "b", "c", "a", "b"}, true},
	} {
		var g outageGuard
		var outage bool
		for _, target := range tc.targets {
			_, _, _, outage = g.failed(now, time.Minute, target)
		}
		if outage != tc.outage {
			t.Errorf("failures of %v: outage %v, want %v", tc.targets, outage, tc.outage)
		}
	}
}

// TestOutageLenienceIsSevenDays: the lenience ends with Meta's 7-day reply
// window, not later: a reply queued 7 days and an hour ago uses its retries
// in an outage (Graph would refuse it anyway), so it cannot go round for a
// further day.
func TestOutageLenienceIsSevenDays(t *testing.T) {
	w := New(Params{OutagePause: time.Minute})
	ps := &pageState{}
	for i := range outageAfter {
		ps.outage.failed(time.Now(), time.Minute, strconv.Itoa(i%outageTargets)) // the pause is set: w.outage writes none
	}
	r := &tasks.Reply{PageID: "1", EnqueuedAt: time.Now().Add(-7*24*time.Hour - time.Hour).UnixMilli()}
	if d, ok := w.outage(context.Background(), ps, r, errors.New("graph: 500"), &taskLog{base: w.log, r: r}); ok {
		t.Fatalf("reply queued 7 days and an hour ago put back without using a retry: %v", d)
	}
}

// TestAskedWaitLenienceIsSevenDays_audit22: a wait Graph asked for (503 with
// Retry-After) pauses the Page whatever the reply's age, and puts a reply
// queued an hour ago back without using a retry, for the pause; one queued 7
// days and an hour ago uses its retry, as in an outage (pastLenience).
func TestAskedWaitLenienceIsSevenDays_audit22(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	t.Cleanup(l.Close)
	w := New(Params{Ledger: l})
	ctx := context.Background()
	asked := &graph.Error{HTTPStatus: 503, Code: 2, Class: graph.ClassTransient, RetryAfter: time.Minute}
	for _, c := range []struct {
		page    string
		queued  time.Duration
		putBack bool
	}{{"1", time.Hour, true}, {"2", 7*24*time.Hour + time.Hour, false}} {
		r := &tasks.Reply{PageID: c.page, Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, EnqueuedAt: time.Now().Add(-c.queued).UnixMilli()}
		d, ok := w.askedWait(ctx, r, fmt.Errorf("reply %s: %w", r.Target, asked), &taskLog{base: w.log, r: r})
		if ok != c.putBack || ok && d.d < time.Minute-time.Second {
			t.Errorf("reply queued %s ago: put back %v (%v), want %v for about a minute", c.queued, ok, d, c.putBack)
		}
		if left, _, err := l.Paused(ctx, c.page); err != nil || left < 50*time.Second {
			t.Errorf("reply queued %s ago: Page paused for %s (%v), want about a minute", c.queued, left, err)
		}
	}
}
