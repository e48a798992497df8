package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestManyPagesCallsPipelined: the calls an agency's config makes for every
// Page (status, the API's lookup of a reply whose task is gone, the pauses
// of the app at its limit, the config applied at start, the worker's check
// of stale broken pauses) give the same answers as their one-Page forms, in
// a few pipelines, also when Redis has forgotten the scripts (SCRIPT FLUSH,
// as after a restart).
func TestManyPagesCallsPipelined(t *testing.T) {
	const n = 2500
	db := redistest.New(t)
	ctx := context.Background()
	pages := make([]string, n)
	oldTokens, newTokens := map[string]string{}, map[string]string{}
	for i := range pages {
		pages[i] = strconv.Itoa(7300000000000000 + i)
		oldTokens[pages[i]] = "EAABold" + pages[i]
		newTokens[pages[i]] = "EAABold" + pages[i]
	}
	// Pages 7 and 2400 got a new token since they broke.
	newTokens[pages[7]], newTokens[pages[2400]] = "EAABnew7", "EAABnew2400"
	before := NewLedger(db.Client, LedgerOptions{PageTokens: oldTokens})
	for _, p := range []string{pages[7], pages[8], pages[2400]} {
		if _, err := before.Pause(ctx, p, time.Hour, PausePageBroken+": code 190"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Client.HSet(ctx, before.pageKey(pages[2100], "stats"), "sent", 4, "failed", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if err := db.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	rdb := redis.NewClient(db.Client.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	var rt redistest.Counter
	rdb.AddHook(&rt)
	l := NewLedger(rdb, LedgerOptions{PageTokens: newTokens})
	const most = 2 * (n/manyPagesChunk + 1) // a pipeline each chunk, and each script's load

	lifted, err := l.LiftStaleBrokenPauses(ctx, pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(lifted) != 2 || lifted[pages[7]] == "" || lifted[pages[2400]] == "" {
		t.Fatalf("lifted %v, want the pauses of pages 7 and 2400 only (their token changed)", lifted)
	}
	if d, _, _ := l.Paused(ctx, pages[8]); d <= 0 {
		t.Fatal("page 8's pause lifted, though its token is the one that broke")
	}

	rates := make([]string, n)
	for i := range rates {
		rates[i] = "10/s burst 1"
	}
	if changed, err := l.RecordRates(ctx, pages, rates); err != nil || len(changed) != 0 {
		t.Fatalf("first RecordRates = %v, %v; want no change", changed, err)
	}
	rates[5] = "20/s burst 1"
	if changed, err := l.RecordRates(ctx, pages, rates); err != nil || len(changed) != 1 || !changed[pages[5]] {
		t.Fatalf("RecordRates with page 5's rate changed = %v, %v", changed, err)
	}

	reqs := make([]PauseRequest, n)
	for i, p := range pages {
		reqs[i] = PauseRequest{Page: p, D: time.Minute + time.Duration(i)*time.Millisecond, Reason: PauseThrottled + ": the app"}
	}
	res := l.PauseMany(ctx, reqs)
	for i, r := range res {
		switch {
		case r.Err != nil:
			t.Fatalf("PauseMany page %d: %v", i, r.Err)
		case i == 8 && r.Set != 0:
			t.Errorf("page 8, paused for an hour, set %s: a shorter pause must not shorten it", r.Set)
		case i != 8 && r.Set != reqs[i].D:
			t.Errorf("page %d set %s, want %s", i, r.Set, reqs[i].D)
		}
	}

	stats, err := l.StatsAll(ctx, pages)
	if err != nil {
		t.Fatal(err)
	}
	if stats[2100]["sent"] != 4 || stats[2100]["failed"] != 1 || len(stats[0]) != 0 {
		t.Fatalf("StatsAll: page 2100 %v, page 0 %v", stats[2100], stats[0])
	}

	tg := Target{Kind: KindComment, ID: pages[2300] + "_1"}
	if err := rdb.Set(ctx, l.entryKey(pages[2300], tg), "s|1700000000000|m_AbG", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	page, e, err := l.FindEntry(ctx, pages, tg)
	if err != nil || page != pages[2300] || e.Status != StatusSent || e.MessageID != "m_AbG" {
		t.Fatalf("FindEntry = %s %+v %v, want page 2300's sent entry", page, e, err)
	}
	if page, e, err := l.FindEntry(ctx, pages, Target{Kind: KindComment, ID: "1_2"}); err != nil || page != "" || e.Status != StatusNone {
		t.Fatalf("FindEntry of an unknown target = %q %+v %v", page, e, err)
	}

	// 5 many-Page calls; the single commands are the SET above, the Paused
	// of page 8, and each script's load after its NOSCRIPT.
	if got := rt.Single.Load(); got > 8 {
		t.Errorf("%d single round trips for %d Pages, want the Pages' calls pipelined", got, n)
	}
	if got := rt.Pipelines.Load(); got > 5*most {
		t.Errorf("%d pipelines for %d Pages", got, n)
	}
}
