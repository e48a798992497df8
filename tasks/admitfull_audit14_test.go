package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestAdmitRefusedWhenFull_audit14: a reply claimed just before the
// ledger's Redis reached its maxmemory (noeviction) reaches its send's last
// gate, Admit, while Redis refuses writes. Admit must be refused as the
// reservation is (TestRedisFullSendsNothing_audit14): the send would go out
// with no record of it possible. Before, the script pruned the Page's send
// log first; Redis lets a script that has written (the prune of a send past
// the window, the common case on a Page that sends) go on past maxmemory,
// so the send was admitted, and its sent mark was then refused.
func TestAdmitRefusedWhenFull_audit14(t *testing.T) {
	ctx := context.Background()
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	l := NewLedger(NewRedisClient(asynq.RedisClientOpt{Addr: srv.Addr()}), LedgerOptions{})
	t.Cleanup(l.Close)
	const page, window = "1", time.Second
	tg := Target{Kind: KindComment, ID: "1_2"}
	mustGo(t, l, page, tg, "tok", time.Minute)
	// A send 5 s ago, past the window: the prune's to drop.
	if err := admin.ZAdd(ctx, l.pageKey(page, "sends"),
		redis.Z{Score: float64(time.Now().Add(-5 * time.Second).UnixMicro()), Member: "old"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	a, err := l.Admit(ctx, page, tg, "tok", time.Minute, 10, window)
	if err == nil || !RedisFull(err) {
		t.Fatalf("admit while Redis is full = %+v %v, want refused (OOM)", a, err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// Taking writes again: admitted, and the send past the window dropped.
	if a, err := l.Admit(ctx, page, tg, "tok", time.Minute, 10, window); err != nil || a.Lost || a.Wait != 0 || a.Paused != 0 {
		t.Fatalf("admit = %+v %v, want admitted", a, err)
	}
	if n := admin.ZCard(ctx, l.pageKey(page, "sends")).Val(); n != 1 {
		t.Errorf("send log holds %d sends, want this one (the old one pruned)", n)
	}
}
