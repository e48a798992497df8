package tasks

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// How long, and how often, a server client tries a command again while Redis
// is away (see NewServerRedisClient): the waits double from
// ServerRetryMinWait to ServerRetryMaxWait, for ServerRetryFor after the
// first failure. Each try itself takes up to about 2 s while dials are refused
// (go-redis's own three retries).
const (
	ServerRetryFor     = 20 * time.Second
	ServerRetryMinWait = 50 * time.Millisecond
	ServerRetryMaxWait = time.Second
)

// ServerClient is the Redis client of a worker's asynq server.
type ServerClient struct {
	redis.UniversalClient
	retry *awayRetry
}

// NewServerRedisClient returns the go-redis client for a worker's asynq
// server. It speaks asynq's usual protocol (RESP3) and differs from asynq's
// own client in one way: a command that found Redis away (a refused dial, a
// cut connection, READONLY or LOADING from a node being promoted) is tried
// again for ServerRetryFor, against about 2 s with go-redis's defaults.
//
// asynq v0.26 writes a task's outcome (done, retry, archive) once; when that
// write fails, the retries it queues in its syncer reuse the write's context,
// which is already canceled, so they all fail and the task stays "active"
// until asynq's recoverer finds its lease expired: 30 s after the lease ends,
// on a one-minute tick, up to two minutes late. A reply that finished during a
// failover was then held that long. With these retries the first write
// outlasts a restart or a failover that notices a dead master within seconds;
// the write's own context (the task's lease) still bounds it. asynq's
// dequeue, heartbeat and forwarder calls wait the same way while Redis is
// away, which costs nothing: they could do no work then. Call StopRetrying
// when the server shuts down, so its last writes do not hold the process.
func NewServerRedisClient(opt asynq.RedisConnOpt) *ServerClient {
	c := newRedisClient(opt, 0)
	r := &awayRetry{stop: make(chan struct{})}
	c.AddHook(r)
	return &ServerClient{UniversalClient: c, retry: r}
}

// StopRetrying ends the client's waits for Redis: a command in one gives up
// with its error after its current try, and later commands fail as soon as
// Redis does not answer, as with go-redis's defaults.
func (c *ServerClient) StopRetrying() { c.retry.once.Do(func() { close(c.retry.stop) }) }

// awayRetry is the go-redis hook behind ServerClient.
type awayRetry struct {
	stop chan struct{}
	once sync.Once
}

func (*awayRetry) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook leaves pipelines to go-redis's own retries: asynq writes
// a task's outcome with one script call; its pipelines (the server's own
// record, refreshed on each heartbeat) are worth no wait.
func (*awayRetry) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *awayRetry) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil || ctx.Err() != nil || !RedisAway(err) {
			return err
		}
		until := time.Now().Add(ServerRetryFor)
		wait := ServerRetryMinWait
		for time.Now().Before(until) {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-h.stop:
				t.Stop()
				return err
			case <-t.C:
			}
			cmd.SetErr(nil)
			if err = next(ctx, cmd); err == nil || ctx.Err() != nil || !RedisAway(err) {
				return err
			}
			wait = min(2*wait, ServerRetryMaxWait)
		}
		return err
	}
}

// RedisAway reports whether err, from a Redis call, says Redis could not be
// reached or cannot take writes for now, rather than answering the command:
// a network error (a refused or timed-out dial, a cut connection, a read or
// write that timed out), no free connection in the pool, or a node that is
// loading, read-only or without its master (a failover under way), full
// (RedisFull), or refusing writes until its disk or replicas are back
// (MISCONF: a failed RDB snapshot under stop-writes-on-bgsave-error, as
// deploy/redis/redis.conf sets it; NOREPLICAS: fewer replicas than
// min-replicas-to-write). Redis refuses a script so at its first write, so
// the script had no effect and can run again. A context that ended, a closed client, a nil reply and any
// other answer from Redis are not.
func RedisAway(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		return RedisStateCode(err) != ""
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrPoolTimeout)
}

// redisAwayMarks are the words of an error that says Redis could not be
// reached or does not take writes for now, as asynq's lines give it (asynq
// logs its errors as text, so RedisAway cannot read them): a refused
// or failed dial, a cut or timed-out connection, no free connection in the
// pool, no Sentinel answering.
var redisAwayMarks = [...]string{
	"dial tcp ", "dial unix ", "connect: connection refused", "connection reset by peer", "broken pipe",
	"i/o timeout", "redis: connection pool timeout", "use of closed network connection",
	"all sentinels specified in configuration are unreachable", "unexpected EOF",
}

// RedisAwayText reports whether msg, one of asynq's log lines, says Redis is
// away: a redisAwayMarks text, an error ending in EOF (a connection Redis
// closed), or one of Redis's answers that say its state (LOADING,
// READONLY, OOM, ...: redisStateCodes) after ": " or "-" (in a
// script's error, as Redis 6.2 gives it).
func RedisAwayText(msg string) bool {
	for _, m := range redisAwayMarks {
		if strings.Contains(msg, m) {
			return true
		}
	}
	if strings.HasSuffix(msg, ": EOF") {
		return true
	}
	for _, c := range redisStateCodes {
		if strings.Contains(msg, ": "+c+" ") || strings.Contains(msg, "-"+c+" ") {
			return true
		}
	}
	return false
}

// redisStateCodes are the codes of Redis's answers that say its state, not
// the command's fault: loading, read-only or without its master (a failover
// under way), a Cluster slot moving or down, refusing writes until its disk
// or replicas are back, or full (OOM: a write refused at its maxmemory under
// maxmemory-policy noeviction, as deploy/redis/redis.conf sets it).
var redisStateCodes = [...]string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MISCONF", "NOREPLICAS", "OOM"}

// RedisStateCode returns the code of Redis's answer in err when it says
// Redis's state (redisStateCodes: "READONLY", "OOM", ...), or "". Redis 7
// answers a refused command with its code first, in a script too (its
// "script: ..." after); Redis 6.2, which pagereply also runs on, answers a
// script whose command was refused with the script's own error, the
// command's code inside it ("ERR Error running script (call to f_...):
// @user_script:3: -READONLY You can't write against a read only replica."),
// which is read here as the code it holds: a failover or a full Redis
// refuses the ledger's scripts there as it refuses its plain commands.
func RedisStateCode(err error) string {
	var re redis.Error
	if err == nil || !errors.As(err, &re) {
		return ""
	}
	msg := re.Error()
	for _, c := range redisStateCodes {
		if len(msg) > len(c) && msg[len(c)] == ' ' && strings.HasPrefix(msg, c) {
			return c
		}
	}
	rest, ok := strings.CutPrefix(msg, "ERR Error running script")
	if !ok {
		return ""
	}
	for _, c := range redisStateCodes {
		if strings.Contains(rest, "-"+c+" ") || strings.Contains(rest, ": "+c+" ") {
			return c
		}
	}
	return ""
}

// RedisFull reports whether err is Redis refusing a write because it is full:
// "OOM command not allowed when used memory > 'maxmemory'", which it answers
// under maxmemory-policy noeviction until memory is freed or maxmemory
// raised, while reads still work. Redis refuses a script so before its first
// write, so the script had no effect and can run again. RedisAway counts it:
// like an outage it is Redis's state, not the command's fault, and a reply
// must not use its retries (and be archived unsent) waiting it out.
func RedisFull(err error) bool {
	return RedisStateCode(err) == "OOM"
}
