package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrPaused is matched (errors.Is) by the *PausedError TakeRead returns while
// a Page is paused.
var ErrPaused = errors.New("tasks: page paused")

// PausedError says a Page is paused, for how much longer and why.
type PausedError struct {
	Page   string
	For    time.Duration
	Reason string
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("page %s paused for %s: %s", e.Page, e.For.Round(time.Millisecond), e.Reason)
}

// Is reports whether target is ErrPaused.
func (e *PausedError) Is(target error) bool { return target == ErrPaused }

// readScript books one Graph read of a Page on its own GCRA schedule (apart
// from the sends' one, so a poll never takes a reply's send slot), unless the
// Page is paused. Unlike reserveScript it never refuses: a poll is one caller
// walking pages in turn, so it simply waits for its slot.
//
// KEYS[1] the Page's pause key, KEYS[2] the read schedule's theoretical
// arrival time (µs).
// ARGV[1] emission interval (µs, 0: no limit), ARGV[2] burst tolerance (µs),
// ARGV[3] the longest wait to book (µs; 0: any).
//
// Returns {0, wait µs} booked; {1, pttl ms, reason} paused; {2, wait µs} not
// booked, the slot being further than ARGV[3].
var readScript = redis.NewScript(`
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {1, pttl, redis.call('GET', KEYS[1]) or ''} end
local interval = tonumber(ARGV[1])
if interval <= 0 then return {0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
local within = tonumber(ARGV[3])
if within > 0 and wait > within then return {2, wait} end
local ntat = tat + interval
redis.call('SET', KEYS[2], string.format('%.0f', ntat), 'PX', math.floor((ntat - now) / 1000) + 1000)
return {0, wait}
`)

// TakeRead books one Graph read (a feed, comments or object call) for page at
// limit's rate and burst (limit.MaxWait is not used) and returns how long to
// wait before making it. While the Page is paused it returns a *PausedError
// (errors.Is(err, ErrPaused)) and books nothing.
func (l *Ledger) TakeRead(ctx context.Context, page string, limit Limit) (wait time.Duration, err error) {
	return l.TakeReadKey(ctx, page, "reads", limit)
}

// TakeReadKey is TakeRead on a schedule of its own named name, for calls Meta
// limits apart (conversations: about 2 per second per Page).
func (l *Ledger) TakeReadKey(ctx context.Context, page, name string, limit Limit) (time.Duration, error) {
	return l.takeRead(ctx, page, name, limit, 0)
}

// ErrReadLater is returned by TakeReadWithin, with the wait, when the Page's
// next read slot is further away than the caller may wait: nothing is booked.
var ErrReadLater = errors.New("tasks: next read slot too far")

// TakeReadWithin is TakeReadKey for a caller that may wait at most within: a
// later slot is not booked, and the wait to it comes back with ErrReadLater,
// so the caller can go back to its queue (or answer "try again") without
// holding a worker slot or using up a read slot it will not use.
func (l *Ledger) TakeReadWithin(ctx context.Context, page, name string, limit Limit, within time.Duration) (time.Duration, error) {
	return l.takeRead(ctx, page, name, limit, max(within, time.Microsecond))
}

func (l *Ledger) takeRead(ctx context.Context, page, name string, limit Limit, within time.Duration) (time.Duration, error) {
	var tau time.Duration
	if limit.Interval > 0 {
		tau = time.Duration(limit.Burst) * limit.Interval
	}
	keys := []string{l.pageKey(page, "pause"), l.pageKey(page, name)}
	val, err := readScript.Run(ctx, l.rdb, keys, limit.Interval.Microseconds(), tau.Microseconds(), within.Microseconds()).Result()
	if err != nil {
		return 0, fmt.Errorf("take read of page %s: %w", page, err)
	}
	res, _ := val.([]any)
	if len(res) < 2 {
		return 0, fmt.Errorf("take read of page %s: unexpected reply %v", page, val)
	}
	code, _ := res[0].(int64)
	n, _ := res[1].(int64)
	if code == 1 {
		reason := ""
		if len(res) > 2 {
			reason, _ = res[2].(string)
		}
		return 0, &PausedError{Page: page, For: time.Duration(n) * time.Millisecond, Reason: reason}
	}
	if code == 2 {
		return time.Duration(n) * time.Microsecond, ErrReadLater
	}
	return time.Duration(n) * time.Microsecond, nil
}
