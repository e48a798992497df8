package redistest

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Counter is a go-redis hook (client.AddHook) that counts what a client
// sends: the commands sent alone, each a round trip, and the pipelines, with
// the most commands one held. Match, when set, picks what is counted: the
// commands sent alone that it matches, and the pipelines holding one it
// matches (go-redis's own pipeline at each dial holds none of the caller's).
type Counter struct {
	Match func(redis.Cmder) bool

	Single    atomic.Int64 // commands sent alone
	Pipelines atomic.Int64 // pipelines
	Largest   atomic.Int64 // the most commands in one pipeline counted
}

func (c *Counter) matches(cmd redis.Cmder) bool { return c.Match == nil || c.Match(cmd) }

// DialHook is go-redis's.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts a command sent alone.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if c.matches(cmd) {
			c.Single.Add(1)
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts a pipeline and keeps the largest.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if c.matches(cmd) {
				c.Pipelines.Add(1)
				for n := int64(len(cmds)); ; {
					m := c.Largest.Load()
					if n <= m || c.Largest.CompareAndSwap(m, n) {
						break
					}
				}
				break
			}
		}
		return next(ctx, cmds)
	}
}
