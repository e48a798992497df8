package tasks

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// failPTTL fails, in pipelines, the PTTL of every key holding mark, as a
// Cluster node that is down fails the commands of its slots.
type failPTTL struct{ mark string }

func (f failPTTL) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (f failPTTL) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (f failPTTL) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		_ = next(ctx, cmds)
		var first error
		for _, c := range cmds {
			if a := c.Args(); len(a) == 2 && a[0] == "pttl" && strings.Contains(a[1].(string), f.mark) {
				c.SetErr(errors.New("connection refused"))
			}
			if first == nil && c.Err() != nil {
				first = c.Err()
			}
		}
		return first
	}
}

// TestPausedAll reads several Pages' pauses in one pipeline, and reports a
// Page it could not read as an error, never as unpaused: a GET's redis.Nil
// (a Page not paused) coming first must not hide another command's failure.
func TestPausedAll(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	if _, err := l.Pause(ctx, "200", time.Hour, PausePageBroken+": (#190) token expired"); err != nil {
		t.Fatal(err)
	}
	ps, err := l.PausedAll(ctx, []string{"100", "200"})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Page != "100" || ps[0].Left != 0 || ps[0].Reason != "" {
		t.Errorf("page 100: %+v, want not paused", ps[0])
	}
	if ps[1].Page != "200" || ps[1].Left < 59*time.Minute || PauseKind(ps[1].Reason) != PausePageBroken {
		t.Errorf("page 200: %+v, want broken for an hour", ps[1])
	}
	if d, why, err := l.Paused(ctx, "200"); err != nil || d < 59*time.Minute || why != ps[1].Reason {
		t.Errorf("Paused(200) = %v %q %v", d, why, err)
	}

	c := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = c.Close() })
	c.AddHook(failPTTL{mark: "200"})
	broken := NewLedger(c, LedgerOptions{})
	if ps, err := broken.PausedAll(ctx, []string{"100", "200"}); err == nil {
		t.Fatalf("a failed read came back as %+v, want an error", ps)
	}
}

// TestLiftPause lifts one Page's pause whatever its kind and forgets its
// escalation, so the next pause is the base length again; another Page's
// pause is left alone.
func TestLiftPause(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	const block = PausePolicyBlock + ": (#368) deemed abusive"
	if d, err := l.PauseEscalating(ctx, "100", time.Minute, 30*time.Minute, PauseThrottled+": (#32) Page request limit reached"); err != nil || d != time.Minute {
		t.Fatalf("throttle: %s %v", d, err)
	}
	if d, err := l.PauseEscalating(ctx, "100", time.Hour, 24*time.Hour, block); err != nil || d != time.Hour {
		t.Fatalf("block: %s %v", d, err)
	}
	if _, err := l.PauseEscalating(ctx, "200", time.Hour, 24*time.Hour, block); err != nil {
		t.Fatal(err)
	}

	lifted, err := l.LiftPause(ctx, "100")
	if err != nil || lifted.Page != "100" || lifted.Reason != block || lifted.Left < 59*time.Minute ||
		!slices.Equal(lifted.Forgot, []string{PauseThrottled, PausePolicyBlock}) {
		t.Fatalf("LiftPause = %+v %v, want the block lifted and both kinds forgotten", lifted, err)
	}
	if d, _, err := l.Paused(ctx, "100"); err != nil || d != 0 {
		t.Fatalf("page 100 paused %s (%v) after LiftPause", d, err)
	}
	if d, _, err := l.Paused(ctx, "200"); err != nil || d < 59*time.Minute {
		t.Fatalf("page 200 paused %s (%v), want its hour kept", d, err)
	}
	// Forgotten: the block pauses its base length, not twice the last.
	if d, err := l.PauseEscalating(ctx, "100", time.Hour, 24*time.Hour, block); err != nil || d != time.Hour {
		t.Fatalf("block after LiftPause: %s %v, want 1h", d, err)
	}
	if _, err := l.LiftPause(ctx, "100"); err != nil {
		t.Fatal(err)
	}
	if lifted, err := l.LiftPause(ctx, "100"); err != nil || lifted.Left != 0 || lifted.Reason != "" || len(lifted.Forgot) != 0 {
		t.Fatalf("LiftPause of a Page not paused = %+v %v", lifted, err)
	}
	// A pause with under a second left is lifted and reported as one.
	if _, err := l.Pause(ctx, "100", 500*time.Millisecond, PauseThrottled+": (#4) briefly"); err != nil {
		t.Fatal(err)
	}
	if lifted, err := l.LiftPause(ctx, "100"); err != nil || lifted.Left <= 0 || lifted.Reason != PauseThrottled+": (#4) briefly" {
		t.Fatalf("LiftPause of a pause with 500ms left = %+v %v, want it reported", lifted, err)
	}
}
