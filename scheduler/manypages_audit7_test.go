package scheduler

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
)

// TestSlotOfManyPagesCopiesNoEntries: a scheduled job finds its slot
// without copying every Page's cron entry (cron.Entry does): at 5,000 Pages
// polled every minute that was 5,000 copies of 5,000 entries a minute. The
// slot itself is checked by TestSlotsAreScheduledTimes.
func TestSlotOfManyPagesCopiesNoEntries(t *testing.T) {
	db := redistest.New(t)
	const n = 5000
	s, err := New(Params{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, Pages: manyPages(n, "@every 1h"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	const calls = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range calls {
		s.slotOf(s.pages[i])
	}
	runtime.ReadMemStats(&after)
	// A copy of the entries is about 100 bytes a Page: 25 MB for the 50
	// calls; finding the slot itself allocates nothing.
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Errorf("%d slots of %d Pages allocated %d bytes: the cron's entries copied for each", calls, n, got)
	}
}

// BenchmarkSlotOf5000Pages is what each scheduled poll's job spends to find
// its slot in a scheduler of 5,000 Pages (docs/PERFORMANCE.md, "Five
// thousand Pages").
func BenchmarkSlotOf5000Pages(b *testing.B) {
	db := redistest.New(b)
	s, err := New(Params{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, Pages: manyPages(5000, "@every 1h"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Shutdown(context.Background()) }()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.slotOf(s.pages[i%len(s.pages)])
		i++
	}
}
