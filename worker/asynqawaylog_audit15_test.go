package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// asynqLines returns the lines of component asynq in logs whose msg starts
// with prefix, each as its level and its repeated attribute (0 if none).
func asynqLines(t *testing.T, logs *proctest.Buffer, prefix string) (levels []string, repeated []int) {
	t.Helper()
	for _, s := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if s == "" {
			continue
		}
		var l struct {
			Level, Msg, Component string
			Repeated              int
		}
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		if l.Component == "asynq" && strings.HasPrefix(l.Msg, prefix) {
			levels, repeated = append(levels, l.Level), append(repeated, l.Repeated)
		}
	}
	return levels, repeated
}

// count returns how many of levels are level.
func count(levels []string, level string) int {
	n := 0
	for _, l := range levels {
		if l == level {
			n++
		}
	}
	return n
}

// TestAsynqRedisAwayLinesSpaced_audit15: a worker started while Redis is
// down. Each of its two asynq servers says "cannot subscribe to cancelation
// channel" at once and every 5 s after until Redis answers; the log gets
// one ERROR for the process and the others at debug (the clock stands
// still, so all of them fall in one logspace.Period), and the next such line
// a period later is an ERROR again that counts them (repeated). Before, each
// was an ERROR: two every 5 s for as long as Redis was down. Once Redis is
// up the servers subscribe and the lines stop; an asynq error that is not
// Redis being away is still an ERROR each time.
func TestAsynqRedisAwayLinesSpaced_audit15(t *testing.T) {
	t.Parallel() // mostly waits for asynq's 5 s retries
	rs := redisproc.Start(t, redisproc.Options{})
	rs.Stop()
	var logs proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	t.Cleanup(ledger.Close)
	w := New(Params{Redis: asynq.RedisClientOpt{Addr: rs.Addr()}, Ledger: ledger, Concurrency: 2,
		ShutdownTimeout: 3 * time.Second, Logger: log})
	frozen := time.Now()
	var clock atomic.Int64 // what the adapter's clock says, in ns since frozen
	w.asynqLog.now = func() time.Time { return frozen.Add(time.Duration(clock.Load())) }
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })

	const subscribe = "cannot subscribe to cancelation channel"
	// Both servers' first tries, and at least one of their tries 5 s later.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if levels, _ := asynqLines(t, &logs, subscribe); len(levels) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("asynq never said %q three times with Redis down:\n%s", subscribe, logs.String())
		}
	}
	rs.Restart()
	// Both servers subscribed: the lines end.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		n, err := rs.Client().PubSubNumSub(context.Background(), "asynq:cancel").Result()
		if err == nil && n["asynq:cancel"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("asynq's servers did not subscribe once Redis was up (%v, %v):\n%s", n, err, logs.String())
		}
	}
	levels, _ := asynqLines(t, &logs, subscribe)
	if count(levels, "ERROR") != 1 || count(levels, "DEBUG") != len(levels)-1 {
		t.Errorf("%q with Redis down: levels %v, want one ERROR, the others DEBUG:\n%s", subscribe, levels, logs.String())
	}

	// A period later the next Redis-away line is an ERROR counting those at
	// debug (at least the subscriptions': asynq's dequeue and the like may
	// have failed too).
	atDebug := len(levels) - 1
	clock.Store(int64(logspace.Period))
	w.asynqLog.Error("cannot subscribe to cancelation channel: UNKNOWN: redis pubsub receive error: dial tcp " + rs.Addr() + ": connect: connection refused")
	levels, repeated := asynqLines(t, &logs, subscribe)
	if last := len(levels) - 1; levels[last] != "ERROR" || repeated[last] < atDebug {
		t.Errorf("the next period's line: %s with repeated=%d, want ERROR with repeated >= %d", levels[last], repeated[last], atDebug)
	}

	// Other asynq errors keep their level, each time.
	for range 3 {
		w.asynqLog.Error("Dequeue error: UNKNOWN: redis eval error: NOSCRIPT No matching script.")
	}
	if levels, _ := asynqLines(t, &logs, "Dequeue error: UNKNOWN: redis eval error: NOSCRIPT"); count(levels, "ERROR") != 3 {
		t.Errorf("an asynq error that is not Redis away: levels %v, want 3 ERROR", levels)
	}
}

// TestRedisAwayText_audit15: asynq's lines that say Redis is away, as it
// writes them (a refused dial, a pool timeout, a replica refusing writes, a
// full Redis's answer inside a script's error), and lines that do not.
func TestRedisAwayText_audit15(t *testing.T) {
	for _, c := range []struct {
		msg  string
		away bool
	}{
		{"cannot subscribe to cancelation channel: UNKNOWN: redis pubsub receive error: dial tcp 127.0.0.1:6379: connect: connection refused", true},
		{"Dequeue error: UNKNOWN: redis eval error: dial tcp 127.0.0.1:6379: connect: connection refused", true},
		{"Failed to write server state data: UNKNOWN: redis command error: SADD failed: redis: connection pool timeout", true},
		{"Failed to forward scheduled tasks: INTERNAL_ERROR: INTERNAL_ERROR: redis eval error: read tcp 127.0.0.1:5000->127.0.0.1:6379: i/o timeout", true},
		{"Failed to extend lease for tasks [a b]: UNKNOWN: redis eval error: READONLY You can't write against a read only replica.", true},
		{"Dequeue error: UNKNOWN: redis eval error: ERR Error running script (call to f_x): @user_script:3: -OOM command not allowed when used memory > 'maxmemory'.", true},
		{"recoverer: could not list lease expired tasks: INTERNAL_ERROR: redis eval error: EOF", true},
		{"Dequeue error: UNKNOWN: redis eval error: NOSCRIPT No matching script. Please use EVAL.", false},
		{"recovering from panic. See the stack trace below for details:\nOOMKiller", false},
		{"Failed to delete expired completed tasks from queue \"replies\": WRONGTYPE Operation against a key holding the wrong kind of value", false},
	} {
		if got := tasks.RedisAwayText(c.msg); got != c.away {
			t.Errorf("RedisAwayText(%q) = %v, want %v", c.msg, got, c.away)
		}
	}
}
