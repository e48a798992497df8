package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRunRedis sends a few hundred replies: memory and command figures are
// filled in, and every owner's commands are counted.
func TestRunRedis(t *testing.T) {
	db := redistest.New(t)
	res, err := RunRedis(context.Background(), RedisOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		N: 300, Pages: 3, Concurrency: 10, Idle: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.QueuedKeyMemory <= 0 || res.SentKeyMemory <= 0 || res.LedgerEntry <= 0 || res.RetainedTask <= 0 {
		t.Errorf("memory figures %+v", res)
	}
	if res.CommandsTotal <= 0 || res.Commands["evalsha"] <= 0 {
		t.Errorf("commands %v", res.Commands)
	}
	for _, o := range []string{"enqueue", "ledger", "asynq-server"} {
		if res.Owners[o].Commands <= 0 || res.Owners[o].RoundTrips <= 0 {
			t.Errorf("owner %s: %+v", o, res.Owners[o])
		}
	}
	if _, ok := res.Owners["bench"]; ok {
		t.Errorf("the bench's own reads are counted as an owner")
	}
	if res.BookkeepingPerSec.Commands <= 0 {
		t.Errorf("bookkeeping %+v", res.BookkeepingPerSec)
	}
	t.Logf("queued %.0f B (used_memory %.0f B), sent %.0f B, ledger entry %.0f B, retained task %.0f B; %.2f commands per reply %v; owners %+v; other clients %d",
		res.QueuedKeyMemory, res.QueuedUsedMemory, res.SentKeyMemory, res.LedgerEntry, res.RetainedTask, res.CommandsTotal, res.Commands, res.Owners, res.OtherClients)
}
