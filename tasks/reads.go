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

// readScriptHead starts both read scripts (readScript, readHoldScript): a
// paused Page answers {1, pttl ms, reason} and a schedule without a limit
// {0, 0}; otherwise interval and now (µs, Redis's clock) are set.
const readScriptHead = `
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {1, pttl, redis.call('GET', KEYS[1]) or ''} end
local interval = tonumber(ARGV[1])
if interval <= 0 then return {0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
`

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
var readScript = redis.NewScript(readScriptHead + `
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
	return readResult(page, val)
}

// readResult decodes readScript's (and readHoldScript's) answer.
func readResult(page string, val any) (time.Duration, error) {
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

// readHoldScript is readScript for a caller that goes back to its queue
// when its slot is too far and comes back for it (the worker's conversation
// reads): the slot is booked all the same and held for the caller, so that
// a reader booking slot after slot (a poll walking a long listing) cannot
// take it again and again before the caller is back.
//
// KEYS[1] the Page's pause key, KEYS[2] the read schedule's theoretical
// arrival time (µs), KEYS[3] the caller's hold (the time of its slot, µs).
// ARGV[1] emission interval (µs, 0: no limit), ARGV[2] burst tolerance (µs),
// ARGV[3] the longest wait to take a slot now (µs, above 0), ARGV[4] how
// late a held slot may still be taken (µs), ARGV[5] the furthest a new slot
// may be booked and held (µs; 0: any).
//
// Returns {0, wait µs} booked, or the held slot taken; {1, pttl ms, reason}
// paused; {2, wait µs} the slot, booked and held, is further than ARGV[3],
// or, further than ARGV[5] too, neither booked nor held.
var readHoldScript = redis.NewScript(readScriptHead + `
local within = tonumber(ARGV[3])
local held = tonumber(redis.call('GET', KEYS[3]) or '')
if held then
  local wait = held - now
  if wait > within then return {2, wait} end
  redis.call('DEL', KEYS[3])
  if wait >= -tonumber(ARGV[4]) then
    if wait < 0 then wait = 0 end
    return {0, wait}
  end
  -- Missed: that slot went unused, a new one is booked.
end
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait < 0 then wait = 0 end
local ahead = tonumber(ARGV[5])
if wait > within and ahead > 0 and wait > ahead then return {2, wait} end
local ntat = tat + interval
redis.call('SET', KEYS[2], string.format('%.0f', ntat), 'PX', math.floor((ntat - now) / 1000) + 1000)
if wait > within then
  redis.call('SET', KEYS[3], string.format('%.0f', now + wait), 'PX', math.floor((wait + tonumber(ARGV[4])) / 1000) + 1000)
  return {2, wait}
end
return {0, wait}
`)

// TakeReadHeld is TakeReadWithin for a caller (holder, unique on the Page's
// schedule name) that goes back to its queue when its slot is further than
// within and comes back by then: that slot is booked all the same and held
// for holder, and the wait to it comes back with ErrReadLater; holder's
// next call takes it (waiting at most within, as before), or, when it comes
// back more than late after it, books another (the held one goes unused:
// never an extra read). A Page paused is a *PausedError, as for TakeRead.
func (l *Ledger) TakeReadHeld(ctx context.Context, page, name, holder string, limit Limit, within, late time.Duration) (time.Duration, error) {
	return l.TakeReadHeldAhead(ctx, page, name, holder, limit, within, late, 0)
}

// TakeReadHeldAhead is TakeReadHeld for callers that any number of holders
// may be (the API's requests, one holder per conversation): a new slot
// further than ahead (0: any) is neither booked nor held, and the wait to it
// comes back with ErrReadLater. Each holder's held slot pushes the
// schedule's next free slot (a poll's) back by one interval; without a
// bound, a burst of holders pushed it back by as many.
func (l *Ledger) TakeReadHeldAhead(ctx context.Context, page, name, holder string, limit Limit, within, late, ahead time.Duration) (time.Duration, error) {
	var tau time.Duration
	if limit.Interval > 0 {
		tau = time.Duration(limit.Burst) * limit.Interval
	}
	keys := []string{l.pageKey(page, "pause"), l.pageKey(page, name), l.pageKey(page, name+":held:"+holder)}
	within = max(within, time.Microsecond)
	val, err := readHoldScript.Run(ctx, l.rdb, keys, limit.Interval.Microseconds(), tau.Microseconds(), within.Microseconds(), max(late, 0).Microseconds(), max(ahead, 0).Microseconds()).Result()
	if err != nil {
		return 0, fmt.Errorf("take held read of page %s: %w", page, err)
	}
	return readResult(page, val)
}
