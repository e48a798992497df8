package tasks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
)

// RedisConnOpt turns the redis section of the config into asynq's connection
// option: a URL (redis:// or rediss://), a Sentinel set-up or a Cluster.
func RedisConnOpt(c config.Redis) (asynq.RedisConnOpt, error) {
	var tlsCfg *tls.Config
	if c.TLS {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch {
	case c.Sentinel != nil:
		s := c.Sentinel
		return asynq.RedisFailoverClientOpt{
			MasterName: s.Master, SentinelAddrs: s.Addrs, SentinelPassword: s.SentinelPassword,
			Password: s.Password, DB: s.DB, TLSConfig: tlsCfg, PoolSize: 64,
		}, nil
	case c.Cluster != nil:
		return asynq.RedisClusterClientOpt{Addrs: c.Cluster.Addrs, Password: c.Cluster.Password, TLSConfig: tlsCfg}, nil
	case c.URL != "":
		// The URL may hold a password: messages never echo it. The checks
		// and their words are config's redis.url's (RedisURLProblem):
		// bench's --redis, which no config validation sees, is refused as
		// the config's redis.url would be.
		if err := config.RedisURLProblem(c.URL); err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		// RedisURLProblem takes no URL go-redis refuses; kept in case a
		// later go-redis refuses more.
		opt, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, errors.New("redis.url: cannot parse (check host, port and database)")
		}
		return asynq.RedisClientOpt{
			Network: opt.Network, Addr: opt.Addr, Username: opt.Username, Password: opt.Password,
			DB: opt.DB, TLSConfig: opt.TLSConfig, PoolSize: 64,
		}, nil
	}
	return nil, errors.New("redis: one of url, sentinel or cluster is required")
}

// NewRedisClient returns a go-redis client for the same Redis as opt, for
// pagereply's own keys (the ledger, the limiter, poll state). It speaks RESP2:
// pagereply subscribes to nothing, and go-redis checks every RESP3 connection
// for push notifications before each command, which costs a reply's worth of
// CPU on a busy worker.
func NewRedisClient(opt asynq.RedisConnOpt) redis.UniversalClient {
	return newRedisClient(opt, 2)
}

// newRedisClient makes the client of opt speaking protocol (0: go-redis's
// default, RESP3, as asynq's own clients do).
func newRedisClient(opt asynq.RedisConnOpt, protocol int) redis.UniversalClient {
	switch o := opt.(type) {
	case asynq.RedisClientOpt:
		return redis.NewClient(&redis.Options{
			Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, TLSConfig: o.TLSConfig, Protocol: protocol,
		})
	case asynq.RedisFailoverClientOpt:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: o.MasterName, SentinelAddrs: o.SentinelAddrs, SentinelUsername: o.SentinelUsername,
			SentinelPassword: o.SentinelPassword, Username: o.Username, Password: o.Password, DB: o.DB,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, TLSConfig: o.TLSConfig, Protocol: protocol,
		})
	case asynq.RedisClusterClientOpt:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: o.Addrs, MaxRedirects: o.MaxRedirects, Username: o.Username, Password: o.Password,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			TLSConfig: o.TLSConfig, Protocol: protocol, PoolSize: 64,
		})
	}
	return opt.MakeRedisClient().(redis.UniversalClient)
}

// SetRedisLogger sends go-redis's own log lines (pool and reconnection
// notices, written with the standard logger otherwise) to log, as warnings,
// so a process's logs stay one format while Redis is away.
func SetRedisLogger(log *slog.Logger) { SetRedisLoggerAt(log, slog.LevelWarn) }

// SetRedisLoggerAt is SetRedisLogger at another level: a one-shot command
// that reports Redis out of reach in its own words logs go-redis's retries
// at debug, not as warnings ahead of its error. It may be called while
// go-redis clients log: go-redis swaps its logger atomically, and a logger
// made here is not changed afterwards.
func SetRedisLoggerAt(log *slog.Logger, level slog.Level) {
	redis.SetLogger(newRedisLogger(log, level))
}

func newRedisLogger(log *slog.Logger, level slog.Level) *redisLogger {
	return &redisLogger{log: log.With(slog.String("component", "go-redis")), level: level, now: time.Now,
		seen: map[string]*redisNotice{}}
}

// redisLogNotEvery is how often at most one kind of go-redis notice is
// logged: while Redis is away every pooled connection's dial fails at once,
// a hundred lines in a second or two that say one thing.
const redisLogNotEvery = 5 * time.Second

// redisLogger logs go-redis's notices, each kind (its format) at most once
// per redisLogNotEvery, the next line saying how many were left out.
type redisLogger struct {
	log   *slog.Logger
	level slog.Level
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]*redisNotice
}

type redisNotice struct {
	last    time.Time
	skipped int
}

func (l *redisLogger) Printf(ctx context.Context, format string, v ...any) {
	now := l.now()
	l.mu.Lock()
	n := l.seen[format]
	if n == nil {
		if len(l.seen) > 100 {
			clear(l.seen)
		}
		n = &redisNotice{}
		l.seen[format] = n
	} else if now.Sub(n.last) < redisLogNotEvery {
		n.skipped++
		l.mu.Unlock()
		return
	}
	skipped := n.skipped
	n.last, n.skipped = now, 0
	l.mu.Unlock()
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	if skipped > 0 {
		l.log.Log(ctx, l.level, msg, slog.Int("repeated", skipped))
		return
	}
	l.log.Log(ctx, l.level, msg)
}
