package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClockOffset returns how far this host's clock is ahead of Redis's (behind
// when negative), read with one TIME call and taken at the middle of its
// round trip. Everything pagereply keeps in Redis is timed on Redis's clock
// (claims, settle times, pauses, ledger entries); what a host compares with
// Graph's created_time and updated_time (the reply windows, the poll's read
// marks) is timed on its own, so a host far off Redis's is likely far off
// Graph's too.
func ClockOffset(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	before := time.Now()
	t, err := rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("read Redis's clock: %w", err)
	}
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	return mid.Sub(t), nil
}
