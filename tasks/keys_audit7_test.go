package tasks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestStatsKeepTTL: a Page's stats hash (status's SENT and FAILED) expires
// StatsTTL after the last send or failure counted in it, by a batched or a
// lone mark, and a start's RecordRates keeps it that long again: a
// configured Page's counters stay, a removed Page's go instead of staying
// in Redis for ever. A mark that counts nothing (unknown) leaves the TTL as
// it was, and RecordRates creates no hash for a Page without one. A ledger
// whose entries live longer than StatsTTL keeps its counters as long. Seen
// failing before the fix: the hash had no TTL (PTTL -1).
func TestStatsKeepTTL(t *testing.T) {
	db := redistest.New(t)
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			ctx := context.Background()
			var l *Ledger
			if batch {
				l, ctx = newBatchedLedger(t, db.Client, LedgerOptions{})
			} else {
				l = NewLedger(db.Client, LedgerOptions{})
			}
			page := "100"
			if batch {
				page = "200"
			}
			stats := l.PageKey(page, "stats")
			ttl := func(when string) time.Duration {
				t.Helper()
				d, err := db.Client.PTTL(ctx, stats).Result()
				if err != nil {
					t.Fatal(err)
				}
				if d < StatsTTL-time.Minute || d > StatsTTL {
					t.Errorf("%s: stats hash TTL %s, want %s", when, d, StatsTTL)
				}
				return d
			}
			if _, err := l.RecordRates(ctx, []string{page}, []string{"10/1s/1"}); err != nil {
				t.Fatal(err)
			}
			if n, err := db.Client.Exists(ctx, stats).Result(); err != nil || n != 0 {
				t.Fatalf("a start made a stats hash for a Page that had none: %d %v", n, err)
			}
			if err := l.MarkSent(ctx, page, Target{Kind: KindComment, ID: "1_1"}, "m_1"); err != nil {
				t.Fatal(err)
			}
			ttl("after a send")
			if err := db.Client.PExpire(ctx, stats, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			if err := l.MarkFailed(ctx, page, Target{Kind: KindComment, ID: "1_2"}, "refused"); err != nil {
				t.Fatal(err)
			}
			ttl("after a failure")
			if err := db.Client.PExpire(ctx, stats, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			if err := l.MarkUnknown(ctx, page, Target{Kind: KindComment, ID: "1_3"}, 0); err != nil {
				t.Fatal(err)
			}
			if d, err := db.Client.PTTL(ctx, stats).Result(); err != nil || d > time.Hour {
				t.Errorf("a mark that counts nothing kept the stats hash %s (%v), want it left at an hour", d, err)
			}
			if _, err := l.RecordRates(ctx, []string{page}, []string{"10/1s/1"}); err != nil {
				t.Fatal(err)
			}
			ttl("after a start")
			st, err := l.Stats(ctx, page)
			if err != nil || st["sent"] != 1 || st["failed"] != 1 || len(st) != 2 {
				t.Errorf("stats %v %v, want sent 1 and failed 1", st, err)
			}
		})
	}
	t.Run("ledger longer", func(t *testing.T) {
		ctx := context.Background()
		l := NewLedger(db.Client, LedgerOptions{TTL: 2 * StatsTTL})
		if err := l.MarkSent(ctx, "300", Target{Kind: KindComment, ID: "1_1"}, "m_1"); err != nil {
			t.Fatal(err)
		}
		if d, err := db.Client.PTTL(ctx, l.PageKey("300", "stats")).Result(); err != nil || d < 2*StatsTTL-time.Minute {
			t.Errorf("stats hash TTL %s (%v) under the ledger's %s", d, err, 2*StatsTTL)
		}
	})
}
