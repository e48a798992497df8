package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A lease is a Page's lock on some work of its own (its polls), held under a
// token for a time and renewed while the work goes on, so that a process that
// dies holding it lets go when the time runs out.

// LeaseKey returns the key of page's lease named name, for a script that
// writes only while a token holds it (the key shares the Page's hash slot).
func (l *Ledger) LeaseKey(page, name string) string { return l.pageKey(page, "lease:"+name) }

// TryLease takes page's lease named name for ttl when no one holds it, and
// returns the token that holds it; ok is false when another holds it.
func (l *Ledger) TryLease(ctx context.Context, page, name string, ttl time.Duration) (token string, ok bool, err error) {
	token = NewToken()
	ok, err = l.rdb.SetNX(ctx, l.LeaseKey(page, name), token, ttl).Result()
	if err != nil {
		return "", false, fmt.Errorf("lease %s of page %s: %w", name, page, err)
	}
	return token, ok, nil
}

// renewLeaseScript sets a lease's time to live when token holds it.
var renewLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// RenewLease makes the lease that token holds last ttl from now; false when
// token no longer holds it (it ran out, and maybe another took it).
func (l *Ledger) RenewLease(ctx context.Context, page, name, token string, ttl time.Duration) (bool, error) {
	n, err := renewLeaseScript.Run(ctx, l.rdb, []string{l.LeaseKey(page, name)}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease %s of page %s: %w", name, page, err)
	}
	return n == 1, nil
}

// ReleaseLease lets go of the lease that token holds (nothing when it does
// not hold it any more).
func (l *Ledger) ReleaseLease(ctx context.Context, page, name, token string) error {
	if err := unlockScript.Run(ctx, l.rdb, []string{l.LeaseKey(page, name)}, token).Err(); err != nil {
		return fmt.Errorf("release lease %s of page %s: %w", name, page, err)
	}
	return nil
}
