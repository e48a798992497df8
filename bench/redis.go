package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// RedisOptions configures RunRedis.
type RedisOptions struct {
	// Redis is an empty database; RunRedis flushes it before the run and after.
	Redis asynq.RedisConnOpt
	// N is the number of replies; if zero, 10,000.
	N int
	// Pages share the replies; if zero, 10.
	Pages int
	// Concurrency of the worker; if zero, 50.
	Concurrency int
	// Idle is how long an idle worker is watched to count asynq's own
	// bookkeeping (heartbeats, forwarder, recoverer, janitor); if zero, 3s.
	Idle time.Duration
	// Progress, if set, gets a line per phase.
	Progress io.Writer
}

// RedisResult is RunRedis's answer. Memory figures are bytes per reply;
// command figures are per sent reply.
type RedisResult struct {
	N int `json:"n"`

	// QueuedUsedMemory is the growth of INFO memory used_memory while the
	// replies were enqueued (server-wide: other clients' data counts), per
	// reply; QueuedKeyMemory the sum of MEMORY USAGE over the database's
	// keys (this database only), per reply.
	QueuedUsedMemory float64 `json:"queued_used_memory_bytes"`
	QueuedKeyMemory  float64 `json:"queued_key_memory_bytes"`
	// SentUsedMemory and SentKeyMemory are the same after every reply was
	// sent: a retained task (kept tasks.DefaultRetention for its TaskID) plus
	// a ledger entry (kept tasks.DefaultLedgerTTL).
	SentUsedMemory float64 `json:"sent_used_memory_bytes"`
	SentKeyMemory  float64 `json:"sent_key_memory_bytes"`
	// LedgerEntry is the mean MEMORY USAGE of a sent reply's ledger key;
	// RetainedTask of a completed task's hash plus its share of the
	// completed set.
	LedgerEntry  float64 `json:"ledger_entry_bytes"`
	RetainedTask float64 `json:"retained_task_bytes"`

	// Commands per sent reply by command name, from INFO commandstats: what
	// Redis executed for the enqueue and the send, with asynq's bookkeeping
	// during the drain, and the commands run inside Lua scripts (a reserve
	// script's GET, ZADD, ...); the bench's own INFO, MEMORY and SCAN are left
	// out. Server-wide: other clients of the same Redis count too (see
	// OtherClients).
	Commands map[string]float64 `json:"commands"`
	// CommandsTotal is their sum.
	CommandsTotal float64 `json:"commands_total"`
	// Owners splits commands and round trips (a pipeline is one round trip)
	// per sent reply by who sent them, counted by the clients themselves:
	// "enqueue" (the producer's ledger read and asynq enqueue), "ledger" (the
	// worker's reserve, admit and mark scripts), "asynq-server" (dequeue,
	// done and asynq's bookkeeping during the drain).
	Owners map[string]Calls `json:"owners"`
	// BookkeepingPerSec is what an idle asynq server sends per second
	// (heartbeat, forwarder, recoverer, janitor, syncer): commands and round
	// trips. BookkeepingPerReply is that rate times the drain time over N,
	// included in Owners["asynq-server"].
	BookkeepingPerSec   Calls   `json:"bookkeeping_per_s"`
	BookkeepingPerReply Calls   `json:"bookkeeping_per_reply"`
	Drain               float64 `json:"drain_s"`
	// OtherClients is the number of connections to other databases that were
	// active during the run: when not zero, Commands and UsedMemory include
	// someone else's work (KeyMemory and Owners do not).
	OtherClients int `json:"other_clients"`
}

// Calls is a count of commands and of round trips.
type Calls struct {
	Commands   float64 `json:"commands"`
	RoundTrips float64 `json:"round_trips"`
	// ByCommand is commands by name.
	ByCommand map[string]float64 `json:"by_command,omitempty"`
}

func (c Calls) per(n float64) Calls {
	out := Calls{Commands: c.Commands / n, RoundTrips: c.RoundTrips / n, ByCommand: map[string]float64{}}
	for k, v := range c.ByCommand {
		out.ByCommand[k] = v / n
	}
	return out
}

func (c Calls) minus(d Calls) Calls {
	out := Calls{Commands: c.Commands - d.Commands, RoundTrips: c.RoundTrips - d.RoundTrips, ByCommand: maps.Clone(c.ByCommand)}
	for k, v := range d.ByCommand {
		out.ByCommand[k] -= v
		if out.ByCommand[k] == 0 {
			delete(out.ByCommand, k)
		}
	}
	return out
}

// RunRedis measures what a reply costs Redis: memory per queued reply and per
// sent one (with the ledger entry alone), and commands and round trips per
// sent reply, through the full path (tasks.Enqueuer, worker with the in-process
// sandbox), split by who sends them, with asynq's own bookkeeping counted on
// an idle worker.
func RunRedis(ctx context.Context, o RedisOptions) (RedisResult, error) {
	if o.N <= 0 {
		o.N = 10000
	}
	if o.Pages <= 0 {
		o.Pages = 10
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 50
	}
	if o.Idle <= 0 {
		o.Idle = 3 * time.Second
	}
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	if err := emptyDB(ctx, rdb); err != nil {
		return RedisResult{}, err
	}
	defer rdb.FlushDB(context.Background())
	res := RedisResult{N: o.N}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}

	// asynq's bookkeeping: an idle worker, counted by its own client.
	{
		cnt := &callCounter{}
		f := newFleet(fleetOptions{Redis: o.Redis, Pages: 1, Concurrency: o.Concurrency, Wrap: cnt.wrap})
		if err := f.start(); err != nil {
			f.Close()
			return res, err
		}
		_ = sleepCtx(ctx, 500*time.Millisecond) // start-up writes are not steady state
		before := cnt.get("asynq-server")
		start := time.Now()
		err := sleepCtx(ctx, o.Idle)
		idle := cnt.get("asynq-server").minus(before)
		el := time.Since(start).Seconds()
		f.Close()
		if err != nil {
			return res, err
		}
		res.BookkeepingPerSec = idle.per(el)
		progress("idle asynq server: %.1f commands/s, %.1f round trips/s", res.BookkeepingPerSec.Commands, res.BookkeepingPerSec.RoundTrips)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return res, fmt.Errorf("bench: flush: %w", err)
	}

	cnt := &callCounter{}
	f := newFleet(fleetOptions{Redis: o.Redis, Pages: o.Pages, PageRate: config.Rate{N: 100000, Per: time.Second}, Burst: 100,
		Concurrency: o.Concurrency, Wrap: cnt.wrap})
	defer f.Close()
	rs := f.replies(o.N)
	mem0, err := usedMemory(ctx, rdb)
	if err != nil {
		return res, err
	}
	stats0, err := commandStats(ctx, rdb)
	if err != nil {
		return res, err
	}
	enqStart := time.Now()
	for _, r := range rs {
		if out, _, err := f.enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
			return res, fmt.Errorf("bench: enqueue: %v %w", out, err)
		}
	}
	stats1, err := commandStats(ctx, rdb)
	if err != nil {
		return res, err
	}
	mem1, err := usedMemory(ctx, rdb)
	if err != nil {
		return res, err
	}
	keys1, _, err := keyMemory(ctx, rdb, nil)
	if err != nil {
		return res, err
	}
	n := float64(o.N)
	res.QueuedUsedMemory, res.QueuedKeyMemory = float64(mem1-mem0)/n, float64(keys1)/n
	progress("%d replies queued: used_memory +%.0f B each, keys %.0f B each", o.N, res.QueuedUsedMemory, res.QueuedKeyMemory)

	stats2, err := commandStats(ctx, rdb)
	if err != nil {
		return res, err
	}
	before := cnt.snapshot()
	start := time.Now()
	if err := f.start(); err != nil {
		return res, err
	}
	if got := f.waitSends(ctx, o.N, nil, 10*time.Minute); got != o.N {
		return res, fmt.Errorf("bench: %d of %d replies sent after 10 minutes", got, o.N)
	}
	// The ledger's mark of the last reply follows its send. These reads are
	// the bench's own: counted, then taken out of the server's counts.
	bench := tasks.NewRedisClient(cnt.wrap("bench", o.Redis))
	err = waitLedgerSent(ctx, tasks.NewLedger(bench, tasks.LedgerOptions{}), rs)
	_ = bench.Close()
	if err != nil {
		return res, err
	}
	res.Drain = time.Since(start).Seconds()
	work := cnt.snapshot()
	stats3, err := commandStats(ctx, rdb)
	if err != nil {
		return res, err
	}
	progress("%d replies sent in %.2fs", o.N, res.Drain)

	mem2, err := usedMemory(ctx, rdb)
	if err != nil {
		return res, err
	}
	var (
		ledger, task float64
		nl, nt       int
	)
	keys2, _, err := keyMemory(ctx, rdb, func(key string, bytes int64) {
		switch {
		case strings.HasPrefix(key, tasks.DefaultPrefix) && strings.Contains(key, "}:t:"):
			ledger += float64(bytes)
			nl++
		case strings.HasPrefix(key, "asynq:{"+tasks.QueueReplies+"}:t:"):
			task += float64(bytes)
			nt++
		case key == "asynq:{"+tasks.QueueReplies+"}:completed":
			task += float64(bytes) // shared by the retained tasks
		}
	})
	if err != nil {
		return res, err
	}
	res.SentUsedMemory, res.SentKeyMemory = float64(mem2-mem0)/n, float64(keys2)/n
	if nl > 0 {
		res.LedgerEntry = ledger / float64(nl)
	}
	if nt > 0 {
		res.RetainedTask = task / float64(nt)
	}

	// Server-side counts: the enqueue phase and the drain phase.
	server := stats1.minus(stats0)
	for k, v := range stats3.minus(stats2) {
		server[k] += v
	}
	for k, v := range work["bench"].ByCommand {
		if server[k] -= int64(v); server[k] <= 0 {
			delete(server, k)
		}
	}
	delete(work, "bench")
	res.Commands = map[string]float64{}
	for k, v := range server {
		res.Commands[k] = float64(v) / n
		res.CommandsTotal += float64(v) / n
	}
	res.Owners = map[string]Calls{}
	for owner, c := range work {
		c = c.minus(before[owner])
		if owner == "enqueue" {
			// The enqueue happened before the snapshot "before": count all.
			c = work[owner]
		}
		res.Owners[owner] = c.per(n)
	}
	res.BookkeepingPerReply = Calls{Commands: res.BookkeepingPerSec.Commands * res.Drain / n, RoundTrips: res.BookkeepingPerSec.RoundTrips * res.Drain / n}
	res.OtherClients, err = otherClients(ctx, rdb, time.Since(enqStart))
	return res, err
}

// waitLedgerSent waits until the ledger has every reply sent.
func waitLedgerSent(ctx context.Context, ledger *tasks.Ledger, rs []tasks.Reply) error {
	byPage := map[string][]tasks.Target{}
	for _, r := range rs {
		byPage[r.PageID] = append(byPage[r.PageID], r.Target)
	}
	deadline := time.Now().Add(time.Minute)
	for page, ts := range byPage {
		for {
			es, err := ledger.GetMany(ctx, page, ts)
			if err != nil {
				return fmt.Errorf("bench: ledger: %w", err)
			}
			var rest []tasks.Target
			for i, e := range es {
				if e.Status != tasks.StatusSent {
					rest = append(rest, ts[i])
				}
			}
			if ts = rest; len(ts) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %d replies sent but not marked in the ledger after a minute", len(ts))
			}
			if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

// otherClients counts the connections to other databases than rdb's that ran
// a command within the last d.
func otherClients(ctx context.Context, rdb redis.UniversalClient, d time.Duration) (int, error) {
	db := -1
	if c, ok := rdb.(*redis.Client); ok {
		db = c.Options().DB
	}
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("bench: CLIENT LIST: %w", err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		var cdb, idle = -1, -1
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "db":
				cdb, _ = strconv.Atoi(v)
			case "idle":
				idle, _ = strconv.Atoi(v)
			}
		}
		if cdb >= 0 && cdb != db && idle >= 0 && time.Duration(idle)*time.Second <= d {
			n++
		}
	}
	return n, nil
}

// usedMemory reads INFO memory used_memory.
func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: INFO memory: %w", err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: INFO memory has no used_memory")
}

// keyMemory sums MEMORY USAGE (every element counted) over the database's
// keys, calling each (if set) per key.
func keyMemory(ctx context.Context, rdb redis.UniversalClient, each func(key string, bytes int64)) (int64, int, error) {
	var (
		total  int64
		n      int
		cursor uint64
	)
	for {
		keys, next, err := rdb.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return 0, 0, fmt.Errorf("bench: SCAN: %w", err)
		}
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.MemoryUsage(ctx, k, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return 0, 0, fmt.Errorf("bench: MEMORY USAGE: %w", err)
		}
		for i, c := range cmds {
			b, err := c.Result()
			if err != nil {
				continue // expired between SCAN and MEMORY USAGE
			}
			total += b
			n++
			if each != nil {
				each(keys[i], b)
			}
		}
		if cursor = next; cursor == 0 {
			return total, n, nil
		}
	}
}

// cmdStats are INFO commandstats calls by command name.
type cmdStats map[string]int64

func (s cmdStats) minus(o cmdStats) cmdStats {
	out := cmdStats{}
	for k, v := range s {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// benchCommands are the bench's own measuring commands, left out of the counts.
var benchCommands = map[string]bool{"info": true, "memory": true, "scan": true, "flushdb": true, "dbsize": true}

// commandStats reads INFO commandstats: calls per command ("evalsha",
// "zadd"; a subcommand as "client|setinfo").
func commandStats(ctx context.Context, rdb redis.UniversalClient) (cmdStats, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("bench: INFO commandstats: %w", err)
	}
	out := cmdStats{}
	for _, line := range strings.Split(info, "\r\n") {
		name, rest, ok := strings.Cut(line, ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found || benchCommands[name] {
			continue
		}
		for _, f := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[name] = n
			}
		}
	}
	return out, nil
}

// callCounter counts the commands and round trips of the clients it wraps,
// per owner.
type callCounter struct {
	mu sync.Mutex
	by map[string]*Calls
}

func (c *callCounter) add(owner string, names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]*Calls{}
	}
	k := c.by[owner]
	if k == nil {
		k = &Calls{ByCommand: map[string]float64{}}
		c.by[owner] = k
	}
	k.RoundTrips++
	for _, n := range names {
		k.Commands++
		k.ByCommand[n]++
	}
}

func (c *callCounter) get(owner string) Calls {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.by[owner]
	if k == nil {
		return Calls{ByCommand: map[string]float64{}}
	}
	return Calls{Commands: k.Commands, RoundTrips: k.RoundTrips, ByCommand: maps.Clone(k.ByCommand)}
}

func (c *callCounter) snapshot() map[string]Calls {
	c.mu.Lock()
	owners := slices.Collect(maps.Keys(c.by))
	c.mu.Unlock()
	out := map[string]Calls{}
	for _, o := range owners {
		out[o] = c.get(o)
	}
	return out
}

// wrap returns opt with every client it makes counted under owner.
func (c *callCounter) wrap(owner string, opt asynq.RedisConnOpt) asynq.RedisConnOpt {
	return countedConnOpt{RedisConnOpt: opt, hook: countHook{c: c, owner: owner}}
}

// countedConnOpt is an asynq connection option whose clients carry a
// counting hook, so asynq's own commands are counted too.
type countedConnOpt struct {
	asynq.RedisConnOpt
	hook redis.Hook
}

// MakeRedisClient implements asynq.RedisConnOpt.
func (o countedConnOpt) MakeRedisClient() any {
	c := o.RedisConnOpt.MakeRedisClient().(redis.UniversalClient)
	c.AddHook(o.hook)
	return c
}

type countHook struct {
	c     *callCounter
	owner string
}

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.c.add(h.owner, []string{cmd.Name()})
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.c.add(h.owner, names)
		return next(ctx, cmds)
	}
}
