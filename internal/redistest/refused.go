package redistest

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// ErrRefused is the error every call of a Refused client fails with: a dial
// whose port refuses.
var ErrRefused = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}

// Refused returns a client that fails every call at once with ErrRefused,
// as a Redis whose port refuses, without go-redis's retries and dial waits
// (a Cut's dials wait those out: seconds a call). It is closed with t.
func Refused(t testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	rdb.AddHook(refusedHook{})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

type refusedHook struct{}

func (refusedHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (refusedHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		cmd.SetErr(ErrRefused)
		return ErrRefused
	}
}

func (refusedHook) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(_ context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			c.SetErr(ErrRefused)
		}
		return ErrRefused
	}
}
