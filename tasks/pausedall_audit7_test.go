package tasks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestPausedAllInChunks: the pauses of thousands of Pages are read in
// pipelines of manyPagesChunk Pages, as the other many-Page calls, not in
// one pipeline of every Page's commands, and each Page gets its own pause.
func TestPausedAllInChunks(t *testing.T) {
	const n = 2500
	db := redistest.New(t)
	ctx := context.Background()
	pages := make([]string, n)
	for i := range pages {
		pages[i] = strconv.Itoa(7400000000000000 + i)
	}
	l := NewLedger(db.Client, LedgerOptions{})
	for _, i := range []int{3, 1500, 2499} {
		if _, err := l.Pause(ctx, pages[i], time.Hour, PauseThrottled+": page "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	rdb := redis.NewClient(db.Client.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	lp := redistest.Counter{Match: func(c redis.Cmder) bool { return c.Name() == "pttl" }}
	rdb.AddHook(&lp)
	ps, err := NewLedger(rdb, LedgerOptions{}).PausedAll(ctx, pages)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		paused := i == 3 || i == 1500 || i == 2499
		if p.Page != pages[i] || (p.Left > 0) != paused || paused && p.Reason != PauseThrottled+": page "+strconv.Itoa(i) {
			t.Fatalf("page %d: %+v, paused %v", i, p, paused)
		}
	}
	if got := lp.Largest.Load(); got > 2*manyPagesChunk {
		t.Errorf("a pipeline of %d commands, want at most %d (2 a Page, %d Pages)", got, 2*manyPagesChunk, manyPagesChunk)
	}
	if got := lp.Pipelines.Load(); got != 3 {
		t.Errorf("%d pipelines for %d Pages, want 3", got, n)
	}
}

// TestPausedErrorNamesThePageOnce: a failed read of a Page's pause names the
// Page once ("pause of page 100: ..."), not twice.
func TestPausedErrorNamesThePageOnce(t *testing.T) {
	l := NewLedger(redistest.Refused(t), LedgerOptions{})
	_, _, err := l.Paused(context.Background(), "100")
	if err == nil || strings.Count(err.Error(), "100") != 1 || !strings.HasPrefix(err.Error(), "pause of page 100: ") {
		t.Errorf("Paused with Redis away: %v, want the Page named once", err)
	}
}
