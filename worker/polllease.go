package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The lease that keeps a Page to one poll at a time (tasks.Ledger.TryLease).
// It lives pollLease and the poll that holds it renews it every third of
// that (keepLease), whatever the poll is doing (waiting for a read slot
// minutes away at a low rate, a slow Graph call, enqueuing), so a poll may
// run for as long as it needs, and a worker killed in the middle of one
// (SIGKILL, a crashed node) holds its Page's polls back for pollLease at
// most: two minutes before, when the lease was renewed only as the poll
// read, and every poll of the Page for that long was skipped.
const (
	pollLeaseName = "poll"
	pollLease     = 15 * time.Second
)

// ErrPollLeaseLost is returned by a poll that stopped because it could no
// longer count on its Page's poll lease: Redis said another holds it (it
// ran out, and another poll took it), or no renewal was confirmed within
// the lease's time to live (Redis slow or away). The poll wrote none of its
// state after that (writeState checks the lease in the same script), so the
// next poll reads again what it had not saved; the replies it had found
// are enqueued all the same.
var ErrPollLeaseLost = errors.New("the poll's lease was lost")

// leaseKeeper renews a running poll's lease until stop is called.
type leaseKeeper struct {
	stopped chan struct{}
	done    chan struct{}
}

// keepLease renews the lease token holds on page's polls every
// pollLease/3 (ttl/3) until stop, and cancels the poll (cancel, with
// ErrPollLeaseLost as the cause) when Redis says the token no longer holds
// it, or when ttl passed since the last renewal that Redis confirmed was
// sent (taken, for the first): the lease may have run out then, and another
// poll may have taken it. A renewal that fails (Redis slow or away) is tried
// again within a second.
func (pl *Poller) keepLease(page, token string, taken time.Time, cancel context.CancelCauseFunc, log *slog.Logger) *leaseKeeper {
	k := &leaseKeeper{stopped: make(chan struct{}), done: make(chan struct{})}
	ttl := pl.p.Lease
	every := ttl / 3
	go func() {
		defer close(k.done)
		valid := taken.Add(ttl) // the lease holds until then at least
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-k.stopped:
				return
			case <-t.C:
			}
			sent := time.Now()
			if !sent.Before(valid) {
				log.Warn("poll stopped: its lease may have run out, no renewal confirmed by Redis in time",
					slog.Duration("lease", ttl))
				cancel(ErrPollLeaseLost)
				return
			}
			ctx, cancelRenew := context.WithDeadline(context.Background(), valid)
			held, err := pl.p.Ledger.RenewLease(ctx, page, pollLeaseName, token, ttl)
			cancelRenew()
			switch {
			case err != nil:
				log.Debug("renew the poll's lease; trying again", slog.String("error", err.Error()))
				t.Reset(min(every, time.Second))
			case !held:
				log.Warn("poll stopped: its lease ran out and another poll may have taken it", slog.Duration("lease", ttl))
				cancel(ErrPollLeaseLost)
				return
			default:
				valid = sent.Add(ttl)
				t.Reset(every)
			}
		}
	}()
	return k
}

// stop ends the renewals and waits for the last one to return.
func (k *leaseKeeper) stop() {
	close(k.stopped)
	<-k.done
}

// pollWriteScript writes a poll's state only while the poll holds its Page's
// poll lease, in one step with the check: a poll whose lease ran out (its
// renewals not reaching Redis in time, the process frozen) writes nothing
// once another poll may have taken the lease and read the state.
//
// KEYS[1] the lease, KEYS[2] the posts' state (a hash), KEYS[3] the newest
// conversation read. ARGV[1] the poll's token, ARGV[2] the state's time to
// live (ms), ARGV[3] the number n of fields to set, ARGV[4] the number m of
// fields to delete, ARGV[5] the newest conversation: empty to leave it, "-"
// to delete it, else its value; then n field and value pairs, then m
// fields. Returns 0, having written nothing, when the lease is not the
// poll's, else 1. Written in chunks: unpack is bounded by Lua's stack.
var pollWriteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local nset, ndel = tonumber(ARGV[3]), tonumber(ARGV[4])
local function apply(cmd, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + 999, to)
    redis.call(cmd, KEYS[2], unpack(ARGV, i, last))
    i = last + 1
  end
end
apply('HSET', 6, 5 + 2 * nset)
apply('HDEL', 6 + 2 * nset, 5 + 2 * nset + ndel)
if nset + ndel > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if ARGV[5] == '-' then
  redis.call('DEL', KEYS[3])
elseif ARGV[5] ~= '' then
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[2])
end
return 1
`)

// stateWrite is one write of a poll's state: posts' fields to set (field,
// value pairs) and to delete, and the newest conversation read (convs: ""
// leaves it, "-" deletes it).
type stateWrite struct {
	set   []string
	del   []string
	convs string
}

// writeState writes w under the poll's lease (pollWriteScript), and returns
// ErrPollLeaseLost, having written nothing, when the lease is no longer the
// poll's.
func (r *pollRun) writeState(ctx context.Context, w stateWrite) error {
	args := make([]any, 0, 5+len(w.set)+len(w.del))
	args = append(args, r.lease, r.stateTTL().Milliseconds(), len(w.set)/2, len(w.del), w.convs)
	for _, v := range w.set {
		args = append(args, v)
	}
	for _, v := range w.del {
		args = append(args, v)
	}
	keys := []string{r.pl.p.Ledger.LeaseKey(r.page.ID, pollLeaseName), r.postsKey(), r.convsKey()}
	n, err := pollWriteScript.Run(ctx, r.rdb(), keys, args...).Int()
	if err != nil {
		return fmt.Errorf("save poll state: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("save poll state: %w", ErrPollLeaseLost)
	}
	return nil
}

// unixString formats a Unix time for the poll's state.
func unixString(t int64) string { return strconv.FormatInt(t, 10) }
