package tasks

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// refuseScript counts its runs in KEYS[1] and answers with an error reply:
// a command Redis answered, which no wait for Redis would change.
const refuseScript = "redis.call('INCR', KEYS[1]) return redis.error_reply('ERR refused')"

// TestServerClientAnswerNotRetried: a server client waits out Redis being
// away, not Redis's answers: an error reply comes back after one run,
// whether Redis answered at once or after an outage the command waited
// through (a NOSCRIPT from a new master, say, must reach go-redis's fallback
// to EVAL, not be sent again for ServerRetryFor).
func TestServerClientAnswerNotRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on a refused port")
	}
	db, cut, c := newCutServerClient(t)
	ctx := context.Background()
	runs := func() int64 { n, _ := db.Client.Get(ctx, "runs").Int64(); return n }

	if err := c.Eval(ctx, refuseScript, []string{"runs"}).Err(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("script = %v, want its error reply", err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("an error reply ran the script %d times, want once", n)
	}

	cut.Down()
	got := make(chan error, 1)
	go func() { got <- c.Eval(ctx, refuseScript, []string{"runs"}).Err() }()
	time.Sleep(3 * time.Second) // past go-redis's own retries: in the client's wait
	select {
	case err := <-got:
		t.Fatalf("the command with Redis away ended (%v), want it waiting", err)
	default:
	}
	cut.Up()
	if err := <-got; err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("script after the outage = %v, want its error reply", err)
	}
	if n := runs(); n != 2 {
		t.Fatalf("the script ran %d times in all, want twice (once per command)", n)
	}
}

// TestServerClientOutlastsLongOutage: a command that meets Redis away waits
// for it well past go-redis's own retries (about 2 s of dials) and its own
// first tries: through a 9 s outage, the time a failover may take, it
// succeeds once Redis is back.
func TestServerClientOutlastsLongOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a Redis outage of 9s")
	}
	db, cut, c := newCutServerClient(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cut.Down()
	got := make(chan error, 1)
	go func() { got <- c.Set(ctx, "k", "w", 0).Err() }()
	time.Sleep(9 * time.Second)
	cut.Up()
	if err := <-got; err != nil {
		t.Fatalf("a write that met a 9s outage = %v, want it done once Redis is back", err)
	}
	if v := db.Client.Get(ctx, "k").Val(); v != "w" {
		t.Fatalf("k = %q after the write, want w", v)
	}
}

// TestRedisAwayMore: a Cluster slot being moved (TRYAGAIN) is Redis away for
// now; a dial cut short by its own context is not, though the dial error is
// a net.Error.
func TestRedisAwayMore(t *testing.T) {
	db := redistest.New(t)
	tryAgain := db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil,
		"TRYAGAIN Multiple keys request during rehashing of slot").Err()
	if tryAgain == nil || !RedisAway(tryAgain) {
		t.Errorf("RedisAway(%v) = false, want true", tryAgain)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, dialErr := (&net.Dialer{}).DialContext(ctx, "tcp", db.Addr)
	var ne net.Error
	if dialErr == nil || !errors.As(dialErr, &ne) || !errors.Is(dialErr, context.Canceled) {
		t.Fatalf("dial with its context canceled = %v, want a net.Error matching context.Canceled", dialErr)
	}
	if RedisAway(dialErr) {
		t.Errorf("RedisAway(%v) = true, want false", dialErr)
	}
	if RedisAway(redis.ErrClosed) {
		t.Errorf("RedisAway(%v) = true, want false", redis.ErrClosed)
	}
}

// TestServerClientWaitEndsWithContext: the wait for Redis is bounded by the
// command's own context (a task's write, by the task's lease), not only by
// ServerRetryFor: a command whose context ends while Redis is away gives up
// then, with an error.
func TestServerClientWaitEndsWithContext(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on a refused port")
	}
	_, cut, c := newCutServerClient(t)
	if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cut.Down()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() { got <- c.Set(ctx, "k", "w", 0).Err() }()
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("a command succeeded with Redis away")
		}
	case <-time.After(ServerRetryFor):
		t.Fatalf("the command still waits for Redis %s after its context began, which ended after 3s", ServerRetryFor)
	}
}
