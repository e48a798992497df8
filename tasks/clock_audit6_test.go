package tasks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// skewedLedger is a ledger on a miniredis whose clock (TIME, the shared
// clock every worker's scripts compare with) runs ahead by skew of this
// process's: this worker's clock is behind the fleet's by skew.
func skewedLedger(t *testing.T, skew time.Duration) *Ledger {
	t.Helper()
	mr := miniredis.RunT(t)
	mr.SetTime(time.Now().Add(skew))
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return NewLedger(rdb, LedgerOptions{})
}

// TestLedgerTimesAreRedisClock: every time a ledger entry carries ("s|<ms>",
// "f|<ms>", "u|<ms>") is in Redis's clock, the one the scripts compare it
// with (person claims hold a doubt from it), not the marking worker's: a
// worker whose clock is 5 minutes behind wrote its own, and a message the
// person wrote in those 5 minutes before the doubt was not held by it.
func TestLedgerTimesAreRedisClock(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Minute, -5 * time.Minute, 30 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			ctx := context.Background()
			l := skewedLedger(t, skew)
			page := "100"
			tg := Target{Kind: KindMessage, ID: "m_clock"}
			redisNow := func() int64 {
				// miniredis's TIME is its set time, which does not move.
				return time.Now().Add(skew).UnixMilli()
			}
			check := func(what string, mark func() error, prefix string) {
				t.Helper()
				if err := l.rdb.Del(ctx, l.entryKey(page, tg)).Err(); err != nil {
					t.Fatal(err)
				}
				if err := mark(); err != nil {
					t.Fatal(err)
				}
				v, err := l.rdb.Get(ctx, l.entryKey(page, tg)).Result()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(v, prefix) {
					t.Fatalf("%s: entry %q, want prefix %q", what, v, prefix)
				}
				ms, _ := strconv.ParseInt(strings.SplitN(v, "|", 3)[1], 10, 64)
				if d := time.Duration(ms-redisNow()) * time.Millisecond; d < -2*time.Second || d > 2*time.Second {
					t.Errorf("%s: entry %q is %s off Redis's clock, want its time", what, v, d)
				}
			}
			check("sent", func() error { return l.MarkSent(ctx, page, tg, "mid.1") }, "s|")
			check("failed", func() error { return l.MarkFailed(ctx, page, tg, "permanent") }, "f|")
			check("unknown", func() error { return l.MarkUnknown(ctx, page, tg, 0) }, "u|")
			check("unknown, settling", func() error { return l.MarkUnknown(ctx, page, tg, 10*time.Second) }, "u|")
			check("given back", func() error {
				if err := l.rdb.Set(ctx, l.entryKey(page, tg), "c|tok|"+strconv.FormatInt(redisNow()+60000, 10), time.Hour).Err(); err != nil {
					return err
				}
				return l.GiveBackUnknown(ctx, page, tg, "tok")
			}, "u|")
		})
	}
}

// TestPersonDoubtHeldAcrossSkew: the person claim scenario itself. m1's
// reply is given back in doubt by a worker whose clock is 5 minutes behind
// the shared one; the person wrote m2 a minute before that (by Graph's and
// Redis's clocks), so m1's reply, if it landed, may answer m2: m2's reply
// must wait for m1's doubt to settle, not go out beside it.
func TestPersonDoubtHeldAcrossSkew(t *testing.T) {
	ctx := context.Background()
	skew := 5 * time.Minute
	l := skewedLedger(t, skew)
	page, who := "100", Person{ID: "7001"}
	m1, m2, _ := messageTargets()
	shared := time.Now().Add(skew)
	if err := l.rdb.Set(ctx, l.entryKey(page, m1), "c|tok1|"+strconv.FormatInt(shared.UnixMilli()+60000, 10), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if pc, err := l.PersonClaim(ctx, page, who, m1, "tok1", shared.Add(-time.Hour), 24*time.Hour); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("m1 claims the person: %+v %v", pc, err)
	}
	if err := l.GiveBackUnknown(ctx, page, m1, "tok1"); err != nil {
		t.Fatal(err)
	}
	pc, err := l.PersonClaim(ctx, page, who, m2, "tok2", shared.Add(-time.Minute), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Outcome != PersonBusy || !pc.InDoubt {
		t.Fatalf("m2, written before m1's doubt by the shared clock: %+v, want busy in doubt (a second reply could cross m1's)", pc)
	}
}
