package tasks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLedgerTTL is how long the ledger remembers a target: longer than the
// 7-day reply window, so a target is never answered twice while it can be.
const DefaultLedgerTTL = 8 * 24 * time.Hour

// StatsTTL is how long a Page's counters (the "sent" and "failed" that
// `pagereply status` shows) are kept after the last send, failure, poll or
// start that touched them: a configured Page's stay, as each of these keeps
// them StatsTTL more, and those of a Page removed from the config go once
// nothing touches them for that long, instead of staying in Redis for ever.
// (The ledger's own TTL, when longer, is used instead.) 90 days, as asynq
// keeps its own daily counts of processed and failed tasks.
const StatsTTL = 90 * 24 * time.Hour

// DefaultPrefix is the prefix of every key pagereply writes besides asynq's own.
const DefaultPrefix = "pagereply:"

// Ledger is the lasting record of reply targets in Redis: claimed, sent (with
// the Graph message id) or failed for good. Every key of a Page carries the Page
// id as a hash tag ({page}), so each script touches a single Redis Cluster slot.
//
// Entry values: "c|<token>|<lease-until-ms>" claimed by a worker that may be
// sending now; "u|<ms>" an attempt whose outcome is unknown, "u|<ms>|<settle-ms>"
// one whose send may still be reaching Graph until then; "s|<ms>|<message-id>"
// sent; "f|<ms>|<reason>" failed for good ("f|<ms>|<lease-ms>|<reason>" for a
// hide mark that took a claim's place, see hideScript), or
// "f|<ms>|class=<class>|<reason>" failed for good with its error's class
// (MarkFailedClass; validClass words only; a reason without a class that
// starts with "class=" is kept after an empty one, "f|<ms>|class=|<reason>").
type Ledger struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	ttlArg any      // ttl in ms, boxed once for the scripts' arguments
	batch  *batcher // nil unless LedgerOptions.Batch
	// appPages are LedgerOptions.AppPages.
	appPages []string
	// tokenFP are the fingerprints of LedgerOptions.PageTokens.
	tokenFP map[string]string

	// statsTTL is how long a Page's stats hash is kept: StatsTTL, or ttl
	// when longer; statsTTLArg the same in ms, boxed once.
	statsTTL    time.Duration
	statsTTLArg any

	// pages caches the key names every reply of a Page uses.
	pagesMu sync.RWMutex
	pages   map[string]*pageKeys
}

// pageKeys are the names of a Page's keys that every reply uses, and the
// merge key of its last reservation's limit.
type pageKeys struct {
	pause, rate, back, stats, mark string
	reserve                        atomic.Pointer[reserveShared]
}

// reserveShared is what a Page's reservations under one limit share.
type reserveShared struct {
	interval, tau, lease, maxWait int64
	keys                          []string
	args                          []any
	merge                         string
}

// LedgerOptions configures a Ledger.
type LedgerOptions struct {
	// Prefix of the keys; if empty, DefaultPrefix.
	Prefix string
	// TTL of an entry; if zero, DefaultLedgerTTL.
	TTL time.Duration
	// Batch sends the reserve and mark scripts of concurrent callers together in
	// pipelines (one round trip for many replies). Workers want it; Close the
	// ledger to stop its goroutines.
	Batch bool
	// Linger is how long a batch waits for more calls after its first (with
	// Batch): one batch gathers at a time, so a linger turns the calls of a
	// busy worker into a few large script calls instead of many small ones,
	// and costs each call up to that much latency. See BatchOptions.
	Linger time.Duration
	// FlushAt ends a linger early: the batch goes as soon as this many calls
	// wait (0: only the linger ends it). Set to a fraction of the worker's
	// handler slots, it keeps a worker with few slots from holding them all
	// waiting for a batch.
	FlushAt int
	// AppPages are the Pages of the app this ledger serves: a throttle of
	// the whole app (graph.AppThrottled) pauses them all (PauseApp).
	AppPages []string
	// PageTokens are the access tokens of the Pages (Page id → token), as
	// the config gives them. Only a fingerprint of each is kept: a Page
	// paused because its token broke remembers the fingerprint of the token
	// that broke, and LiftStaleBrokenPause lifts that pause once the config
	// gives the Page another token.
	PageTokens map[string]string
	// AppSecret is the app secret the Pages' calls are signed with
	// (graph.app_secret), part of each fingerprint: Graph refuses a call
	// whose appsecret_proof a wrong app secret made as it refuses a broken
	// token (a page_broken pause), and the config that puts the right one
	// in lifts that pause as a new token would.
	AppSecret string
}

// BatchOptions returns the linger and early flush for a worker with
// concurrency handler slots: a 4 ms linger, ended early once half the slots
// wait. Measured with `pagereply bench pipeline` (docs/PERFORMANCE.md): at
// 10, 50 and 200 slots it cuts the ledger's round trips per reply from about
// 1.3 / 0.65 / 0.65 to 0.4 / 0.1 / 0.1, and the reply path's CPU per reply
// (Go and Redis) by roughly 10–25 %, without lowering throughput; the few
// milliseconds are nothing beside a Graph call.
func BatchOptions(concurrency int) (linger time.Duration, flushAt int) {
	return 4 * time.Millisecond, max(2, concurrency/2)
}

// NewLedger returns a ledger on rdb.
func NewLedger(rdb redis.UniversalClient, opts LedgerOptions) *Ledger {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultLedgerTTL
	}
	l := &Ledger{rdb: rdb, prefix: opts.Prefix, ttl: opts.TTL, ttlArg: opts.TTL.Milliseconds(),
		statsTTL: max(StatsTTL, opts.TTL), statsTTLArg: max(StatsTTL, opts.TTL).Milliseconds(), pages: map[string]*pageKeys{},
		appPages: slices.Clone(opts.AppPages), tokenFP: make(map[string]string, len(opts.PageTokens))}
	for page, token := range opts.PageTokens {
		if token != "" {
			l.tokenFP[page] = TokenFingerprint(token, opts.AppSecret)
		}
	}
	if opts.Batch {
		l.batch = newBatcher(rdb, opts.Linger, opts.FlushAt)
	}
	return l
}

// BatchStats counts what a batching ledger sent: pipelines (round trips),
// script calls in them, and the calls of its callers they carried.
type BatchStats struct {
	Pipelines, Scripts, Calls int64
}

// BatchStats returns the counts so far; zero when the ledger does not batch.
func (l *Ledger) BatchStats() BatchStats {
	if l.batch == nil {
		return BatchStats{}
	}
	return BatchStats{Pipelines: l.batch.pipelines.Load(), Scripts: l.batch.scripts.Load(), Calls: l.batch.ops.Load()}
}

// PipelinesOnWire is how many of a batching ledger's pipelines are out now:
// sent, and not yet answered to all their callers. `pagereply bench pipeline
// --dequeue-latency` uses it to tell which of asynq's dequeues ran alongside
// one.
func (l *Ledger) PipelinesOnWire() int64 {
	if l.batch == nil {
		return 0
	}
	return l.batch.onWire.Load()
}

// Close stops the batching goroutines after they sent what was queued. It does
// not close the Redis client.
func (l *Ledger) Close() {
	if l.batch != nil {
		l.batch.close()
	}
}

// eval runs a script, batched when the ledger batches.
func (l *Ledger) eval(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	return l.evalOp(ctx, &batchOp{script: s, keys: keys, args: args})
}

// evalOp runs one script call, batched (and merged, see batchOp) when the
// ledger batches.
func (l *Ledger) evalOp(ctx context.Context, op *batchOp) (any, error) {
	if l.batch != nil {
		return l.batch.run(ctx, op)
	}
	return op.script.Run(ctx, l.rdb, op.keys, op.args...).Result()
}

// Client returns the Redis client the ledger uses.
func (l *Ledger) Client() redis.UniversalClient { return l.rdb }

func (l *Ledger) pageKey(page, name string) string {
	return l.prefix + "{" + page + "}:" + name
}

// keys returns the cached key names of page.
func (l *Ledger) keys(page string) *pageKeys {
	l.pagesMu.RLock()
	k := l.pages[page]
	l.pagesMu.RUnlock()
	if k != nil {
		return k
	}
	k = &pageKeys{pause: l.pageKey(page, "pause"), rate: l.pageKey(page, "rate"), back: l.pageKey(page, "back"),
		stats: l.pageKey(page, "stats"), mark: "mark|" + page}
	l.pagesMu.Lock()
	if old := l.pages[page]; old != nil {
		k = old
	} else if len(l.pages) < maxCachedPages {
		l.pages[page] = k
	}
	l.pagesMu.Unlock()
	return k
}

// maxCachedPages bounds the key cache (a worker serves its configured Pages).
const maxCachedPages = 10000

// reserveShared returns the keys and arguments that page's reservations
// under one limit and lease share, boxed once, with the batcher's merge key
// for them: calls merge only when they share all of these.
func (k *pageKeys) reserveShared(l *Ledger, interval, tau, lease, maxWait int64) *reserveShared {
	if m := k.reserve.Load(); m != nil && m.interval == interval && m.tau == tau && m.lease == lease && m.maxWait == maxWait {
		return m
	}
	m := &reserveShared{interval: interval, tau: tau, lease: lease, maxWait: maxWait,
		keys: []string{k.pause, k.rate, k.back},
		args: []any{l.ttlArg, interval, tau, lease, maxWait},
		merge: k.pause + "|" + strconv.FormatInt(interval, 10) + "|" + strconv.FormatInt(tau, 10) +
			"|" + strconv.FormatInt(lease, 10) + "|" + strconv.FormatInt(maxWait, 10)}
	k.reserve.Store(m)
	return m
}

func (l *Ledger) entryKey(page string, t Target) string {
	return l.prefix + "{" + page + "}:t:" + t.String()
}

// Status is a ledger entry's state.
type Status int

// Ledger states.
const (
	StatusNone    Status = iota // never seen, or released
	StatusClaimed               // a worker holds it, maybe sending now
	StatusUnknown               // an attempt's outcome was lost
	StatusSent                  // the reply exists
	StatusFailed                // Graph said it can never be sent
)

// String returns the state's name.
func (s Status) String() string {
	return [...]string{"none", "claimed", "unknown", "sent", "failed"}[s]
}

// Entry is one ledger entry.
type Entry struct {
	Status Status
	At     time.Time
	// MessageID is Graph's message id for a sent reply ("" when Graph only said
	// it was already replied to).
	MessageID string
	// Reason is why a target failed for good.
	Reason string
	// Class is the class of the failure a target failed for good with, as
	// the worker named it when it recorded the failure (graph.FailureClass:
	// "app_not_live", "permanent", "page_broken" for a Page-level answer
	// taken as the reply's, ...; ClassUnsettled; ClassGivenUp, the
	// enqueue's); "" for an entry written without one (MarkFailed, the
	// marks, or a version that kept only the reason).
	Class string
}

// ClassUnsettled is the class the worker keeps with a target it fails for
// good because an earlier attempt's reply may have reached the person and
// nothing can tell any more (its answer was lost, then the conversation did
// not show it, or Graph refused the check or the send for good): not sent
// again, never two replies; the person is taken as answered. The API's
// error_class of such a reply: a client looks at the conversation before
// answering the person another way. UnsettledReason is the reason of one
// whose conversation cannot tell, which an entry a version before the class
// wrote (class "other") is told by.
const (
	ClassUnsettled  = "unsettled"
	UnsettledReason = "an earlier attempt may have sent this reply and the conversation cannot tell: not sent again"
)

// Done reports whether the target needs no more replies.
func (e Entry) Done() bool { return e.Status == StatusSent || e.Status == StatusFailed }

func parseEntry(v string) Entry {
	if v == "" {
		return Entry{}
	}
	parts := strings.SplitN(v, "|", 3)
	ms := func(i int) time.Time {
		if len(parts) <= i {
			return time.Time{}
		}
		n, _ := strconv.ParseInt(parts[i], 10, 64)
		return time.UnixMilli(n)
	}
	rest := func(i int) string {
		if len(parts) <= i {
			return ""
		}
		return parts[i]
	}
	switch parts[0] {
	case "c":
		return Entry{Status: StatusClaimed, At: ms(2)}
	case "u":
		return Entry{Status: StatusUnknown, At: ms(1)}
	case "s":
		return Entry{Status: StatusSent, At: ms(1), MessageID: rest(2)}
	case "f":
		reason := rest(2)
		class, reason := cutClass(reason)
		// A hide or remove mark that took a claim's place keeps the claim's
		// lease before its reason (hideScript).
		for _, mark := range [...]string{HiddenReason, RemovedReason, PostRemovedReason} {
			if strings.HasSuffix(reason, "|"+mark) {
				reason = mark
			}
		}
		return Entry{Status: StatusFailed, At: ms(1), Reason: reason, Class: class}
	}
	return Entry{Status: StatusUnknown}
}

// classPrefix starts the class field of a failed entry's rest
// ("class=<class>|<reason>", after "f|<ms>|"): no reason the ledger has
// kept starts so, and no hide mark's lease (digits).
const classPrefix = "class="

// validClass reports whether class may be kept as a failed entry's class:
// a short word of a-z and _ (graph.FailureClass's), never text that could
// hold a "|", a secret or an answer's words.
func validClass(class string) bool {
	if class == "" || len(class) > 32 {
		return false
	}
	for i := 0; i < len(class); i++ {
		if c := class[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// failedRest is a failed entry's rest after "f|<ms>|": the reason, after
// the class field when class is valid. A reason kept without a class that
// itself starts with "class=" goes after an empty class field
// ("class=|<reason>"), so that it is not read as one.
func failedRest(class, reason string) string {
	if !validClass(class) {
		if strings.HasPrefix(reason, classPrefix) {
			return classPrefix + "|" + reason
		}
		return reason
	}
	return classPrefix + class + "|" + reason
}

// cutClass splits a failed entry's rest after "f|<ms>|" into its class and
// reason (failedRest); a rest without a class field is all reason.
func cutClass(rest string) (class, reason string) {
	if !strings.HasPrefix(rest, classPrefix) {
		return "", rest
	}
	c, r, ok := strings.Cut(rest[len(classPrefix):], "|")
	if ok && c == "" {
		return "", r // an empty class field (failedRest)
	}
	if !ok || !validClass(c) {
		return "", rest
	}
	return c, r
}

// Get returns the entry of one target.
func (l *Ledger) Get(ctx context.Context, page string, t Target) (Entry, error) {
	v, err := l.rdb.Get(ctx, l.entryKey(page, t)).Result()
	if errors.Is(err, redis.Nil) {
		return Entry{}, nil
	}
	if err != nil {
		return Entry{}, fmt.Errorf("ledger get %s: %w", t, err)
	}
	return parseEntry(v), nil
}

// GetMany returns the entries of targets of one Page in one round trip.
func (l *Ledger) GetMany(ctx context.Context, page string, ts []Target) ([]Entry, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = l.entryKey(page, t)
	}
	vals, err := l.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("ledger get %d targets of page %s: %w", len(ts), page, err)
	}
	out := make([]Entry, len(ts))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = parseEntry(s)
		}
	}
	return out, nil
}

// Limit is a Page's send rate for Reserve, as GCRA parameters.
type Limit struct {
	// Interval between sends at the steady rate (1/rate); zero means no limit.
	Interval time.Duration
	// Burst is how many sends may go at once above the rate.
	Burst int
	// MaxWait is the longest a reservation may book ahead: a send due later is
	// refused (ReserveLimited) instead, so its task goes back to the queue.
	MaxWait time.Duration
	// NoWait books only a slot free now: the caller has no handler to spare
	// for waiting. A target whose slot would be within MaxWait is refused
	// with the time to that slot, keeping its place near the head of the
	// Page's line; only one beyond MaxWait is given a place at the end of
	// the put-back schedule.
	NoWait bool
}

// ReserveOutcome is what Reserve decided.
type ReserveOutcome int

// Reserve outcomes.
const (
	// ReserveGo: the target is claimed and a send slot booked; send after Wait.
	ReserveGo ReserveOutcome = iota
	// ReserveDone: the ledger already has the target sent or failed (see Entry).
	ReserveDone
	// ReservePaused: the Page is paused for Wait (see Reason).
	ReservePaused
	// ReserveLimited: the Page's rate is used up; try again after Wait (spread
	// so that put-back tasks return about one send interval apart).
	ReserveLimited
	// ReserveBusy: another worker holds the target; try again after Wait.
	ReserveBusy
	// ReserveSettling: an earlier send's answer was lost and the send may
	// still be reaching Graph (MarkUnknown's settle time); check Graph after
	// Wait, not before, or the check could miss a reply that lands later.
	ReserveSettling
)

// Reservation is Reserve's answer.
type Reservation struct {
	Outcome ReserveOutcome
	Wait    time.Duration
	// Doubtful is set with ReserveGo when an earlier attempt may have sent the
	// reply: check Graph (private_reply_conversation) before sending.
	Doubtful bool
	Entry    Entry  // with ReserveDone
	Reason   string // with ReservePaused
}

// reserveScript checks the ledger, the Page's pause and its rate, then claims
// targets and books send slots, for one or many targets of one Page in one
// call: concurrent handlers' reservations are merged by the ledger's batcher
// (batch.go), so a busy worker pays one script call for many replies.
//
// KEYS[1] the Page's pause key, KEYS[2] the Page's GCRA state (theoretical
// arrival time, µs), KEYS[3] the Page's put-back schedule (µs): tasks refused
// for the rate are given return times one interval apart after it, so a
// backlog comes back at the Page's rate instead of all at once; KEYS[4..] the
// targets' ledger entries.
// ARGV[1] ledger TTL (ms), ARGV[2] emission interval (µs, 0: no limit),
// ARGV[3] burst tolerance (µs), ARGV[4] claim lease (ms, counted from the
// booked slot), ARGV[5] longest wait that may be booked (µs); then one per
// target: its claim token after a flag, "!" to book only a slot free now
// (refusing a later one within the longest wait with the time to it, outside
// the put-back schedule), "=" otherwise.
//
// Returns three values per target, in order (a flat array: no table per
// target to build in Lua and to decode in Go): 0, wait µs, doubtful (0/1):
// go; 1, 0, entry: done; 2, pttl ms, reason: paused; 3, wait µs, 0:
// limited; 4, ms, 0: busy; 5, ms, 0: an unknown outcome still settling.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowms = math.floor(now / 1000)
local pttl = redis.call('PTTL', KEYS[1])
local reason = nil
if pttl > 0 then reason = redis.call('GET', KEYS[1]) or '' end
local interval = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local leasems = tonumber(ARGV[4])
local maxwait = tonumber(ARGV[5])
local tat, back = nil, nil
if interval > 0 then
  tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tat < now then
    -- Send capacity went unused: the put-back schedule runs ahead of the
    -- rate (tasks put back more than once push it on), so restart it (its
    -- key is deleted at the end: a write before the claims' SET would let
    -- them past a full Redis, which refuses a script at its first write
    -- only, and a reply be sent that Redis could not record).
    tat = now
    back = 0
  end
end
local tat0, back0 = tat, back
local out = {}
local o = 0
-- A claim on a target, for a send after wait µs.
local function claim(token, wait)
  return 'c|' .. token .. '|' .. string.format('%.0f', nowms + math.floor(wait / 1000) + leasems)
end
for i = 4, #KEYS do
  local token = ARGV[i + 2]
  local nowait = string.byte(token, 1) == 33
  token = string.sub(token, 2)
  local code, n, x = nil, 0, 0
  -- What the Page's pause and rate say; the entry decides first.
  local wait = 0
  local free = pttl <= 0
  if free and interval > 0 then
    wait = tat - tau - now
    free = not (wait > maxwait or (nowait and wait > 0))
  end
  -- The common case, a target the ledger does not have on a Page with a
  -- slot free, costs one SET NX (a call from Lua costs several times the
  -- command itself); otherwise the entry is read.
  if free and redis.call('SET', KEYS[i], claim(token, math.max(wait, 0)), 'PX', ARGV[1], 'NX') then
    code, n, x = 0, math.max(wait, 0), 0
  else
    local v = redis.call('GET', KEYS[i])
    local doubtful = 0
    if v then
      local st = string.byte(v, 1)
      if st == 115 or st == 102 then -- s, f
        code, x = 1, v
      elseif st == 99 then -- c
        local _, _, tok, lease = string.find(v, '^c|([^|]*)|(%d+)$')
        if tok and tok ~= token and tonumber(lease) > nowms then
          code, n = 4, tonumber(lease) - nowms
        end
      elseif st == 117 then -- u
        local _, _, settle = string.find(v, '^u|%d+|(%d+)$')
        if settle and tonumber(settle) > nowms then
          code, n = 5, tonumber(settle) - nowms
        end
      end
      doubtful = 1
    end
    if not code and pttl > 0 then
      code, n, x = 2, pttl, reason
    elseif not code and not free then
      if wait <= maxwait then
        -- No-wait, and the slot is within the longest wait: its time, outside
        -- the put-back schedule.
        code, n = 3, wait
      else
        if back == nil then back = tonumber(redis.call('GET', KEYS[3]) or '0') end
        if back < now + wait then back = now + wait end
        back = back + interval
        code, n = 3, back - now - interval
      end
    elseif not code then
      redis.call('SET', KEYS[i], claim(token, math.max(wait, 0)), 'PX', ARGV[1])
      code, n, x = 0, math.max(wait, 0), doubtful
    end
  end
  if code == 0 and interval > 0 then tat = tat + interval end
  out[o + 1] = code
  out[o + 2] = n
  out[o + 3] = x
  o = o + 3
end
if tat ~= tat0 then
  redis.call('SET', KEYS[2], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
end
if back ~= nil and back ~= back0 and back > now then
  redis.call('SET', KEYS[3], string.format('%.0f', back), 'PX', math.floor((back - now) / 1000) + 1000)
elseif back0 == 0 then
  redis.call('DEL', KEYS[3])
end
return out
`)

// NewToken returns a random claim token.
func NewToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Reserve decides whether a worker may send to t now: it returns ReserveDone
// when the ledger has the target, ReservePaused while the Page is paused,
// ReserveBusy while another worker's claim lease runs, ReserveLimited when the
// Page's next free send slot is more than lim.MaxWait away, and otherwise claims
// the target under token for lease (counted from the booked slot) and returns
// ReserveGo with the time to wait for the slot.
func (l *Ledger) Reserve(ctx context.Context, page string, t Target, token string, lease time.Duration, lim Limit) (Reservation, error) {
	var tau time.Duration
	if lim.Interval > 0 {
		tau = time.Duration(lim.Burst) * lim.Interval
	}
	// The token goes with a flag in front: "!" books only a slot free now.
	if lim.NoWait {
		token = "!" + token
	} else {
		token = "=" + token
	}
	sh := l.keys(page).reserveShared(l, lim.Interval.Microseconds(), tau.Microseconds(), lease.Milliseconds(), lim.MaxWait.Microseconds())
	op := &batchOp{
		script:     reserveScript,
		keys:       append(sh.keys[:len(sh.keys):len(sh.keys)], l.entryKey(page, t)),
		args:       append(sh.args[:len(sh.args):len(sh.args)], token),
		sharedKeys: len(sh.keys), sharedArgs: len(sh.args),
		merge:     sh.merge,
		stride:    3,
		abandoned: releaseAbandoned,
	}
	val, err := l.evalOp(ctx, op)
	if err != nil {
		return Reservation{}, fmt.Errorf("reserve %s of page %s: %w", t, page, err)
	}
	res, _ := val.([]any)
	if len(res) != 3 {
		return Reservation{}, fmt.Errorf("reserve %s of page %s: unexpected reply %v", t, page, val)
	}
	code, _ := res[0].(int64)
	n, _ := res[1].(int64)
	switch code {
	case 0:
		d, _ := res[2].(int64)
		return Reservation{Outcome: ReserveGo, Wait: time.Duration(n) * time.Microsecond, Doubtful: d == 1}, nil
	case 1:
		s, _ := res[2].(string)
		return Reservation{Outcome: ReserveDone, Entry: parseEntry(s)}, nil
	case 2:
		reason, _ := res[2].(string)
		return Reservation{Outcome: ReservePaused, Wait: time.Duration(n) * time.Millisecond, Reason: reason}, nil
	case 3:
		return Reservation{Outcome: ReserveLimited, Wait: time.Duration(n) * time.Microsecond}, nil
	case 4:
		return Reservation{Outcome: ReserveBusy, Wait: time.Duration(n) * time.Millisecond}, nil
	case 5:
		return Reservation{Outcome: ReserveSettling, Wait: time.Duration(n) * time.Millisecond}, nil
	}
	return Reservation{}, fmt.Errorf("reserve %s of page %s: unexpected reply %v", t, page, res)
}

// markScript writes a ledger entry's final or unknown state and counts it.
// A sent entry is never overwritten by anything but sent, and is counted once.
//
// KEYS[1] the target's ledger entry, KEYS[2] the Page's stats hash.
// ARGV[1] new value without its time: the state's letter, then "|<reason>"
// for a failure (the script puts in the time, "<letter>|<ms>[|<reason>]",
// in Redis's clock: the person claims compare it with Redis's and Graph's
// clocks, and a worker's own clock may be minutes off), ARGV[2] TTL (ms),
// ARGV[3] stats field ("" for none), ARGV[4] settle time (ms, 0 for none):
// appended to the value as a time in Redis's clock, the one reserveScript
// compares it with. An unknown entry
// whose settle time runs past the new one's is kept as it is: the attempt
// that marked it sent something that may still land, and a later mark of
// doubt (a stale attempt, whose claim another attempt took, giving the
// target back) must not let the next attempt check before it could have.
// ARGV[5], when not "", is the token of an attempt handing its claim back:
// the entry is written only while the claim is still that attempt's, or
// not a claim at all (another attempt's claim is that attempt's to end).
// ARGV[6] how long the stats hash is kept (ms, StatsTTL) after the count.
//
// A doubt (new state u) replaces MarkHidden's mark, the one failure it
// does: the mark then took the place of the claim of an attempt whose send
// may have left (hideScript), and kept, an unhide would drop it with the
// doubt, and the next attempt would send again without asking Graph.
var markScript = redis.NewScript(`
local hidden = '` + HiddenReason + `'
local v = redis.call('GET', KEYS[1])
local old = v and string.sub(v, 1, 1) or ''
local new = string.sub(ARGV[1], 1, 1)
if old == 's' then return 0 end
if old == 'f' and new ~= 's' and not (new == 'u' and string.sub(v, -#hidden - 1) == '|' .. hidden) then return 0 end
if ARGV[5] ~= '' and old == 'c' and string.find(v, 'c|' .. ARGV[5] .. '|', 1, true) ~= 1 then return 0 end
local settle = tonumber(ARGV[4])
local doubt = old == 'u' and new == 'u'
local t = redis.call('TIME')
local nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local val = new .. '|' .. string.format('%.0f', nowms) .. string.sub(ARGV[1], 2)
if settle > 0 then
  val = val .. '|' .. string.format('%.0f', nowms + settle)
end
if doubt and tonumber(string.match(v, '^u|%d+|(%d+)$') or '0') > nowms + settle then
  -- The doubt already there outlasts this one: its send may still land.
  return 0
end
redis.call('SET', KEYS[1], val, 'PX', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 1
`)

func (l *Ledger) mark(ctx context.Context, page string, t Target, value, field string, settle time.Duration) error {
	return l.markAs(ctx, page, t, value, field, settle, "")
}

// markAs is mark by the attempt token ("" for any; see markScript).
func (l *Ledger) markAs(ctx context.Context, page string, t Target, value, field string, settle time.Duration, token string) error {
	keys := []string{l.entryKey(page, t), l.pageKey(page, "stats")}
	if _, err := l.eval(ctx, markScript, keys, value, l.ttl.Milliseconds(), field, settle.Milliseconds(), token, l.statsTTLArg); err != nil {
		return fmt.Errorf("ledger mark %s of page %s: %w", t, page, err)
	}
	return nil
}

// MarkSent records that t's reply exists, with Graph's message id ("" when
// unknown) and counts it in the Page's "sent" statistic. On a batching ledger
// the marks of one Page's concurrent replies go out as one script call.
func (l *Ledger) MarkSent(ctx context.Context, page string, t Target, messageID string) error {
	return l.markSent(ctx, page, t, "|"+messageID)
}

// MarkSentBySend is MarkSent for a reply Graph has just accepted the send of:
// it is counted in the Page's "sends" too, which only a send Graph took
// makes grow (not a reply found by a check or answered by an earlier one),
// and which CountBrokenAnswer takes as the Page working.
func (l *Ledger) MarkSentBySend(ctx context.Context, page string, t Target, messageID string) error {
	return l.markSent(ctx, page, t, "!|"+messageID)
}

func (l *Ledger) markSent(ctx context.Context, page string, t Target, rest string) error {
	pk := l.keys(page)
	op := &batchOp{
		script:     markManyScript,
		keys:       []string{pk.stats, l.entryKey(page, t)},
		args:       []any{l.ttlArg, l.statsTTLArg, rest},
		sharedKeys: 1, sharedArgs: 2,
		merge: pk.mark,
	}
	if _, err := l.evalOp(ctx, op); err != nil {
		return fmt.Errorf("ledger mark %s of page %s sent: %w", t, page, err)
	}
	return nil
}

// MarkFailed records that t can never be replied to, with the reason.
func (l *Ledger) MarkFailed(ctx context.Context, page string, t Target, reason string) error {
	return l.MarkFailedClass(ctx, page, t, "", reason)
}

// MarkFailedClass is MarkFailed keeping class, the class of the error t
// failed with (graph.FailureClass), in the entry's Class, so that a later
// decision about the failure (the app-not-live refusal's run again) reads
// it there rather than from the reason's words. A class that is not a word
// of a-z and _ is not kept.
func (l *Ledger) MarkFailedClass(ctx context.Context, page string, t Target, class, reason string) error {
	return l.mark(ctx, page, t, "f|"+failedRest(class, reason), "failed", 0)
}

// dropFailedScript deletes a target's entry when it is failed for good
// with exactly the rest ARGV[1] ('f|<ms>|<rest>', rest the reason, after
// the class field when the entry has one: failedRest); anything else (a
// claim, a doubt, a sent reply, another reason or class, a hide or remove
// mark) is kept. Returns 1 when it deleted the entry.
var dropFailedScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
-- The rest is all after 'f|<ms>|', as parseEntry reads it: compared
-- whole, not as a suffix (a reason may hold '|').
local rest = string.match(v, '^f|[^|]*|(.*)$')
if rest ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// DropFailed deletes t's entry when it is failed for good with reason (as
// Get gives it) and no class, so that the next attempt claims and sends it:
// for a refusal that no longer holds (the app was not live for the person,
// and is now). It reports whether it deleted the entry; any other entry is
// kept as it is.
func (l *Ledger) DropFailed(ctx context.Context, page string, t Target, reason string) (bool, error) {
	return l.DropFailedEntry(ctx, page, t, Entry{Status: StatusFailed, Reason: reason})
}

// DropFailedEntry is DropFailed for the failed entry e as Get or Reserve
// gave it: deleted when it still has e's class and reason.
func (l *Ledger) DropFailedEntry(ctx context.Context, page string, t Target, e Entry) (bool, error) {
	n, err := l.runScript(ctx, []string{l.entryKey(page, t)}, dropFailedScript, failedRest(e.Class, e.Reason))
	if err != nil {
		return false, fmt.Errorf("ledger drop failed mark of %s of page %s: %w", t, page, err)
	}
	return n == 1, nil
}

// HiddenReason is the reason of the ledger entry MarkHidden writes: a
// comment the Page hid, on a Page with skip_hidden, whose reply must not be
// sent. Reserve answers ReserveDone for it, as for any target failed for
// good, so the worker checks the mark in its one reservation round trip.
const HiddenReason = "hidden by the Page"

// shownScript is the start of hideScript and unhideScript: stale(verb)
// records the hide ('h') or unhide ('u') of ARGV[3] (ms, Meta's
// created_time of the change; 0 when the change has none) in the comment's
// shown key, KEYS[2] ("<verb>|<ms>", kept the ledger's TTL, ARGV[2]), and
// reports whether the change is older than the one recorded there, which
// it then leaves as it is. Meta delivers a change it failed to deliver again
// later (for hours), after the ones that followed it: without this, the
// Page's hide delivered after its later unhide kept the comment marked
// hidden (its reply never sent), and its unhide delivered after its later
// hide dropped the mark (a reply to a comment the Page hid). A change of
// the same second, or one without a time, is taken in the order it comes,
// as before; the time it records is the latest seen, so a change older than
// that one still loses.
const shownScript = `
local function stale(verb)
  local at = tonumber(ARGV[3]) or 0
  local last = tonumber(string.match(redis.call('GET', KEYS[2]) or '', '^%a|(%d+)$') or '0')
  if at > 0 and at < last then return true end
  if at < last then at = last end
  redis.call('SET', KEYS[2], verb .. '|' .. string.format('%.0f', at), 'PX', ARGV[2])
  return false
end
`

// hideScript marks a comment hidden (or a comment or post removed) in the
// ledger: a target the ledger does not have, or one a worker holds claimed
// (it may be waiting for its send slot: its send's last gate, Admit, then
// finds the claim gone on a Page with a rate, and a later attempt finds the
// mark). An entry in doubt, sent or failed is left as it is: its send may
// have gone out, and its record is what keeps a second one from going (a
// doubt's hide is kept in the shown key all the same, and when Graph says
// the doubt's send never landed, the next attempt finds it there and sends
// nothing: hiddenDoubtScript). A
// mark that took a claim's place gives way to the doubt of that attempt's
// send, when its answer is lost (markScript), and keeps the claim's lease
// ("f|<ms>|<lease-ms>|<reason>"): the attempt may have sent and died before
// it could record anything, and an unhide turns the mark back into a doubt
// (unhideScript).
//
// A remove (no KEYS[2]) also takes the place of a hide mark, keeping its
// lease if it has one: the comment the Page hid is gone now, and the mark
// says so (the worker counts the reply gone, GET /v1/replies says "comment
// removed"), and no unhide drops it. (Left hidden, an unhide newer than the
// hide, delivered late after the remove, dropped the mark, and the reply
// went to Graph for a comment that is no more.)
//
// A hide (KEYS[2] given) is first checked against the comment's last hide
// or unhide (shownScript): one older than it changes nothing.
//
// KEYS[1] the target's ledger entry, KEYS[2] (a hide only) the comment's
// shown key. ARGV[1] the failed value without its time ("f|<reason>"),
// ARGV[2] TTL (ms), ARGV[3] (a hide only) the hide's time (ms, 0 when
// unknown). Returns 1 marked, 0 left as it was.
var hideScript = redis.NewScript(shownScript + `
local hidden = '` + HiddenReason + `'
if KEYS[2] and stale('h') then return 0 end
local v = redis.call('GET', KEYS[1])
local lease = ''
if v and string.sub(v, 1, 1) == 'c' then
  lease = '|' .. (string.match(v, '^c|[^|]*|(%d+)$') or '0')
elseif v then
  if KEYS[2] or not (string.find(v, '^f|%d+|') and string.sub(v, -#hidden - 1) == '|' .. hidden) then return 0 end
  local held = string.match(v, '^f|%d+|(%d+)|')
  if held then lease = '|' .. held end
end
local t = redis.call('TIME')
local nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], 'f|' .. string.format('%.0f', nowms) .. lease .. string.sub(ARGV[1], 2), 'PX', ARGV[2])
return 1
`)

// unhideScript drops a mark hideScript wrote, and nothing else. A mark that
// took a claim's place becomes a doubt instead ("u|<ms>", with the claim's
// lease as its settle time while it runs): the attempt that held the claim
// may have sent the reply, and the next attempt must ask Graph before it
// sends, and not before that attempt could still send.
//
// An unhide older than the comment's last hide or unhide (shownScript)
// changes nothing.
//
// KEYS[1] the target's ledger entry, KEYS[2] the comment's shown key.
// ARGV[1] the mark's reason, ARGV[2] TTL (ms), ARGV[3] the unhide's time
// (ms, 0 when unknown). Returns 1 when there was a mark, 0 otherwise.
var unhideScript = redis.NewScript(shownScript + `
if stale('u') then return 0 end
local v = redis.call('GET', KEYS[1])
if not (v and string.find(v, '^f|%d+|') and string.sub(v, -#ARGV[1] - 1) == '|' .. ARGV[1]) then return 0 end
` + unmarkTail)

// unmarkTail is the end of unhideScript and listedUnhideScript: it drops
// the mark v of KEYS[1] (found, and its unhide recorded), or turns a mark
// that took a claim's place into a doubt. Returns 1.
const unmarkTail = `local lease = string.match(v, '^f|%d+|(%d+)|')
if not lease then return redis.call('DEL', KEYS[1]) end
local t = redis.call('TIME')
local nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local val = 'u|' .. string.format('%.0f', nowms)
if tonumber(lease) > nowms then val = val .. '|' .. lease end
redis.call('SET', KEYS[1], val, 'PX', ARGV[2])
return 1
`

// ListedUnhideMargin is how long before a poll's listing read the comment's
// last hide must be (its created_time, and when its mark was written) for
// the read, which lists the comment shown (is_hidden false), to drop the
// hide mark as a missed unhide (Ledger.UnhideListed). Graph's listings are
// eventually consistent: a hide delivered by the webhook seconds after the
// Page made it can come before a listing that still shows the comment, and
// that listing must not undo it. It is the poll's bound on how long a
// listing lags (worker's listingLag).
const ListedUnhideMargin = 15 * time.Minute

// listedUnhideScript is unhideScript for a poll's listing read that listed
// the comment shown (is_hidden false) at ARGV[3] (ms, when the read began):
// the unhide the webhook missed (never delivered: the webhook away past
// Meta's retries, the app unsubscribed, Redis restored from an older
// copy). It drops the mark as unhideScript does, with the read's time as
// the unhide's, only when the comment's last hide (in its shown key) and
// the mark itself (its write time) are both at least ARGV[4] ms before the
// read (ListedUnhideMargin): a later one may be a hide the listing does not
// show yet. Nothing is written otherwise, nor in a dry run (ARGV[5] "1"),
// which answers whether it would drop the mark.
//
// KEYS[1] the target's ledger entry, KEYS[2] the comment's shown key.
// ARGV[1] the mark's reason, ARGV[2] TTL (ms), ARGV[3] the read's time
// (ms), ARGV[4] the margin (ms), ARGV[5] "1" for a dry run. Returns 1 when
// the mark is (or would be) dropped, 0 otherwise.
var listedUnhideScript = redis.NewScript(shownScript + `
local v = redis.call('GET', KEYS[1])
if not (v and string.find(v, '^f|%d+|') and string.sub(v, -#ARGV[1] - 1) == '|' .. ARGV[1]) then return 0 end
local since = tonumber(ARGV[3]) - tonumber(ARGV[4])
if tonumber(string.match(v, '^f|(%d+)|')) > since then return 0 end
local shown = redis.call('GET', KEYS[2]) or ''
local hid = string.match(shown, '^h|(%d+)$')
if hid and tonumber(hid) > since then return 0 end
if ARGV[5] == '1' then
  if tonumber(ARGV[3]) < (tonumber(string.match(shown, '^%a|(%d+)$') or '0')) then return 0 end
  return 1
end
if stale('u') then return 0 end
` + unmarkTail)

// UnhideListed drops MarkHidden's mark of commentID as the webhook's unhide
// does (UnmarkHidden, at readAt), for a poll's listing read that began at
// readAt and listed the comment shown (Graph's is_hidden false): the Page
// showed it again, and the webhook's unhide never came. Only when the
// comment's last hide and the mark are ListedUnhideMargin or more before
// readAt (see listedUnhideScript); a hide made after readAt, delivered
// late, marks the comment again, one made before it changes nothing. With
// dry it writes nothing and says whether it would drop the mark. It
// reports whether the mark was (or would be) dropped.
func (l *Ledger) UnhideListed(ctx context.Context, page, commentID string, readAt time.Time, dry bool) (bool, error) {
	t := Target{Kind: KindComment, ID: commentID}
	at := changeMs(readAt)
	if at == 0 {
		return false, nil
	}
	d := "0"
	if dry {
		d = "1"
	}
	n, err := l.runScript(ctx, []string{l.entryKey(page, t), l.shownKey(page, t)}, listedUnhideScript,
		HiddenReason, l.ttlArg, at, ListedUnhideMargin.Milliseconds(), d)
	if err != nil {
		return false, fmt.Errorf("ledger unmark %s of page %s hidden (listed shown): %w", t, page, err)
	}
	return n == 1, nil
}

// MarkHidden records that the Page hid the comment commentID at at (Meta's
// created_time of the change; zero when it has none), so that its reply is
// not sent (see hideScript: a target in doubt, sent or failed is left alone,
// and so is a comment whose later unhide came first; a doubt's hide still
// stops the reply once Graph says the doubt's send never landed,
// HiddenInDoubt). It reports whether the mark was written.
func (l *Ledger) MarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error) {
	return l.markHidden(ctx, l.runScript, page, commentID, at)
}

// scriptRunner runs a ledger script on keys (of one Page: one Cluster slot)
// and returns its integer answer: Ledger.runScript, or ReplicaGuard.write,
// which then waits for the replicas. The webhook's marks (hide, unhide,
// remove) are written through either.
type scriptRunner func(ctx context.Context, keys []string, s *redis.Script, args ...any) (int64, error)

func (l *Ledger) runScript(ctx context.Context, keys []string, s *redis.Script, args ...any) (int64, error) {
	return s.Run(ctx, l.rdb, keys, args...).Int64()
}

// shownKey is the key of the comment t's last hide or unhide (shownScript).
func (l *Ledger) shownKey(page string, t Target) string {
	return l.prefix + "{" + page + "}:shown:" + t.String()
}

// changeMs is a change's time as the scripts take it: ms, 0 when unknown.
func changeMs(at time.Time) int64 {
	if at.IsZero() || at.UnixMilli() <= 0 {
		return 0
	}
	return at.UnixMilli()
}

func (l *Ledger) markHidden(ctx context.Context, run scriptRunner, page, commentID string, at time.Time) (bool, error) {
	t := Target{Kind: KindComment, ID: commentID}
	n, err := run(ctx, []string{l.entryKey(page, t), l.shownKey(page, t)}, hideScript, "f|"+HiddenReason, l.ttlArg, changeMs(at))
	if err != nil {
		return false, fmt.Errorf("ledger mark %s of page %s hidden: %w", t, page, err)
	}
	return n == 1, nil
}

// RemovedReason is the reason of the ledger entry MarkRemoved writes for a
// comment removed from the Page (deleted by its writer, or by the Page),
// which Meta's feed webhook reports with verb remove. Graph refuses a
// private reply to it (code 100, subcode 33), so its reply, queued and not
// yet sent, is not sent: Reserve answers ReserveDone for it, and the worker
// completes the task without a Graph call.
const RemovedReason = "comment removed"

// PostRemovedReason is RemovedReason for a visitor's post removed from the
// Page (Meta's feed change with item post or status and verb remove).
const PostRemovedReason = "post removed"

// RemovedReasonOf is the reason MarkRemoved writes for a target of kind k:
// RemovedReason for a comment, PostRemovedReason for a post, "" for a kind
// no removal marks.
func RemovedReasonOf(k Kind) string {
	switch k {
	case KindComment:
		return RemovedReason
	case KindPost:
		return PostRemovedReason
	}
	return ""
}

// MarkRemoved records that t, a comment or a visitor's post, was removed
// from the Page, so that its reply is not sent (a failure for good, with
// RemovedReasonOf(t.Kind); hideScript's rules: a target in doubt, sent or
// failed is left alone, but a hide mark becomes the remove mark). Nothing
// drops the mark: a removed comment or post does not come back. It reports
// whether the mark was written.
func (l *Ledger) MarkRemoved(ctx context.Context, page string, t Target) (bool, error) {
	return l.markRemoved(ctx, l.runScript, page, t)
}

func (l *Ledger) markRemoved(ctx context.Context, run scriptRunner, page string, t Target) (bool, error) {
	reason := RemovedReasonOf(t.Kind)
	if reason == "" {
		return false, fmt.Errorf("ledger mark %s of page %s removed: kind %q is never marked removed", t, page, t.Kind)
	}
	n, err := run(ctx, []string{l.entryKey(page, t)}, hideScript, "f|"+reason, l.ttlArg)
	if err != nil {
		return false, fmt.Errorf("ledger mark %s of page %s removed: %w", t, page, err)
	}
	return n == 1, nil
}

// UnmarkHidden drops MarkHidden's mark of commentID (the Page showed the
// comment again at at, Meta's created_time of the change; zero when it has
// none), so that a later poll or webhook item can queue its reply. A mark
// that took a worker's claim's place leaves a doubt instead (see
// unhideScript), settled with Graph before the reply is sent; a mark of a
// later hide that came first is kept. It reports whether there was a mark
// it dropped.
func (l *Ledger) UnmarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error) {
	return l.unmarkHidden(ctx, l.runScript, page, commentID, at)
}

func (l *Ledger) unmarkHidden(ctx context.Context, run scriptRunner, page, commentID string, at time.Time) (bool, error) {
	t := Target{Kind: KindComment, ID: commentID}
	n, err := run(ctx, []string{l.entryKey(page, t), l.shownKey(page, t)}, unhideScript, HiddenReason, l.ttlArg, changeMs(at))
	if err != nil {
		return false, fmt.Errorf("ledger unmark %s of page %s hidden: %w", t, page, err)
	}
	return n == 1, nil
}

// hiddenDoubtScript settles a doubt Graph answered "not sent" for a comment
// the Page hid while its entry was in doubt: hideScript leaves a doubt as it
// is (the earlier send may have landed), and only the comment's shown key,
// which it writes first, keeps the hide. When that key's last change is a
// hide, the reply is not sent, and the attempt's claim becomes the hide mark
// (without a lease: Graph said no earlier send landed, and this attempt
// sends nothing), as if the hide had found no doubt. An unhide then drops
// the mark, and the next poll or full read that reads the comment queues
// its reply. A claim another attempt took meanwhile (this one's lapsed) is
// left to it, and so is a hide mark that took this attempt's claim: it says
// hidden already, and its lease ends on its own.
//
// KEYS[1] the target's ledger entry, KEYS[2] the comment's shown key.
// ARGV[1] the attempt's claim token, ARGV[2] the hide mark's reason,
// ARGV[3] TTL (ms). Returns 1 when the comment's last change is a hide (the
// reply is not sent), 0 otherwise.
var hiddenDoubtScript = redis.NewScript(`
if string.sub(redis.call('GET', KEYS[2]) or '', 1, 2) ~= 'h|' then return 0 end
local v = redis.call('GET', KEYS[1])
if v and string.find(v, 'c|' .. ARGV[1] .. '|', 1, true) == 1 then
  local t = redis.call('TIME')
  local nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('SET', KEYS[1], 'f|' .. string.format('%.0f', nowms) .. '|' .. ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// HiddenInDoubt reports whether the Page hid the comment t while its
// ledger entry was in doubt (its last hide or unhide, by the comment's
// shown key, is a hide), for the attempt token that holds t's claim and
// found, by asking Graph, that no earlier attempt's reply landed. When so,
// the reply must not be sent, and t's claim is turned into the hide mark
// (see hiddenDoubtScript). A target other than a comment is never hidden.
func (l *Ledger) HiddenInDoubt(ctx context.Context, page string, t Target, token string) (bool, error) {
	if t.Kind != KindComment {
		return false, nil
	}
	n, err := l.runScript(ctx, []string{l.entryKey(page, t), l.shownKey(page, t)}, hiddenDoubtScript, token, HiddenReason, l.ttlArg)
	if err != nil {
		return false, fmt.Errorf("ledger check %s of page %s for a hide during its doubt: %w", t, page, err)
	}
	return n == 1, nil
}

// MarkUnknown records that an attempt's outcome was lost: the next attempt
// checks Graph before it sends. With settle > 0 the lost answer was a send's
// that may still be on its way through Graph: Reserve answers ReserveSettling
// until settle has passed, so the check does not come before a reply that
// lands late and then send a second one. A settle time already recorded
// for t and running past the new one is kept.
func (l *Ledger) MarkUnknown(ctx context.Context, page string, t Target, settle time.Duration) error {
	return l.mark(ctx, page, t, "u", "", settle)
}

// GiveBackUnknown hands the attempt token's claim on t back with its
// outcome unknown, as MarkUnknown with no settle time, after an attempt of a
// doubtful target that sent nothing: the next attempt checks Graph first.
// A claim another attempt holds now (this one's lapsed while it stalled, and
// that attempt took the target, checked Graph and may be sending) is left
// to it: marked unknown under it, that attempt would find its target lost at
// its send's last gate, and go back to the queue for nothing.
func (l *Ledger) GiveBackUnknown(ctx context.Context, page string, t Target, token string) error {
	return l.markAs(ctx, page, t, "u", "", 0, token)
}

// releaseAbandoned drops the claim a batched reservation took for a caller
// that gave up waiting for its answer (a worker stopping). Left, the claim
// would hold the target until its lease ends and then make the next attempt
// doubtful: a Graph read before the send, and a conversation reply whose
// conversation moved on by more than a page is never sent. A doubtful
// target's claim is left to expire: it is doubtful either way. The send
// slot it booked is not given back: it only delays the Page's next send.
func releaseAbandoned(rdb redis.UniversalClient, op *batchOp, r batchResult) {
	res, _ := r.val.([]any)
	if r.err != nil || len(res) != 3 {
		return
	}
	if code, _ := res[0].(int64); code != 0 {
		return
	}
	if d, _ := res[2].(int64); d == 1 {
		return
	}
	token, _ := op.args[len(op.args)-1].(string)
	if len(token) < 2 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = releaseScript.Run(ctx, rdb, op.keys[len(op.keys)-1:], token[1:]).Err()
}

// releaseScript drops a claim that is still the caller's.
//
// KEYS[1] the target's ledger entry. ARGV[1] the claim token.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.find(v, 'c|' .. ARGV[1] .. '|', 1, true) == 1 then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Release drops the caller's claim on t after an attempt that certainly sent
// nothing, so the next attempt needs no Graph check.
func (l *Ledger) Release(ctx context.Context, page string, t Target, token string) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.entryKey(page, t)}, token).Err(); err != nil {
		return fmt.Errorf("ledger release %s of page %s: %w", t, page, err)
	}
	return nil
}

// pauseScript pauses a Page unless it is already paused for longer, and keeps
// beside the pause the fingerprint of the token it was found with (page_broken
// pauses only; another pause drops a fingerprint left from one).
//
// An escalating pause (ARGV[4], its longest in ms, not 0) doubles while the
// block goes on: when the Page is not paused now and a pause of its kind
// (the suffix of KEYS[3], the last one's length in ms) was set recently
// (within 3 times its length), this one is twice that, up to ARGV[4] (or
// ARGV[2] when longer: Graph's own time). A Page already paused is the same
// event (answers to calls in flight): no doubling then, and a shorter pause
// set meanwhile does not forget the longer one.
//
// KEYS[1] the Page's pause key, KEYS[2] its pause token key, KEYS[3] its
// last escalating pause of this kind. ARGV[1] reason, ARGV[2] duration (ms),
// ARGV[3] token fingerprint or "", ARGV[4] longest escalating pause (ms) or
// 0. Returns the pause set (ms), or 0 when the Page stays paused longer.
var pauseScript = redis.NewScript(`
local pttl = redis.call('PTTL', KEYS[1])
local d = tonumber(ARGV[2])
local cap = tonumber(ARGV[4])
local last = 0
if cap > 0 then
  last = tonumber(redis.call('GET', KEYS[3]) or '0')
  if pttl <= 0 and last > 0 then d = math.max(d, math.min(last * 2, cap)) end
end
if pttl >= d then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', d)
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', d)
else
  redis.call('DEL', KEYS[2])
end
if cap > 0 and d >= last then
  redis.call('SET', KEYS[3], string.format('%d', d), 'PX', 3 * d)
end
return d
`)

// liftScript lifts a page_broken pause that was set with another token than
// the one given (or with no fingerprint: a pause from an older pagereply).
//
// KEYS[1] the Page's pause key, KEYS[2] its pause token key. ARGV[1] the
// fingerprint of the Page's token now, ARGV[2] PausePageBroken. Returns the
// reason lifted, or false.
var liftScript = redis.NewScript(`
local reason = redis.call('GET', KEYS[1])
if not reason or string.sub(reason, 1, #ARGV[2]) ~= ARGV[2] then return false end
if redis.call('GET', KEYS[2]) == ARGV[1] then return false end
redis.call('DEL', KEYS[1], KEYS[2])
return reason
`)

// TokenFingerprint returns a short digest of a Page access token and the app
// secret its calls are signed with ("" for none): enough to tell one from
// another, useless for finding either (64 bits of SHA-256 of secrets with
// far more entropy), so Redis never holds a token. With no app secret it is
// the digest of the token alone, as pagereply kept before it took the app
// secret in.
func TokenFingerprint(token, appSecret string) string {
	in := "pagereply page token\x00" + token
	if appSecret != "" {
		in += "\x00app secret\x00" + appSecret
	}
	sum := sha256.Sum256([]byte(in))
	return hex.EncodeToString(sum[:8])
}

// AppPages returns the Pages of the app (LedgerOptions.AppPages) with page
// among them.
func (l *Ledger) AppPages(page string) []string {
	if slices.Contains(l.appPages, page) {
		return l.appPages
	}
	return append(slices.Clone(l.appPages), page)
}

// Pause stops sends for page for d (unless it is paused for longer already),
// with a reason shown by status and the monitor. It reports whether the pause
// was set or lengthened. A page_broken pause remembers the fingerprint of the
// Page's token (LedgerOptions.PageTokens) for LiftStaleBrokenPause.
func (l *Ledger) Pause(ctx context.Context, page string, d time.Duration, reason string) (bool, error) {
	set, err := l.PauseEscalating(ctx, page, d, 0, reason)
	return set > 0, err
}

// PauseEscalating is Pause for a block that may go on: a pause of the same
// kind set recently (the Page was paused, then its first calls were refused
// again) makes this one twice as long as that one, up to longest (0: no
// doubling, as Pause). It returns the pause set, 0 when the Page stays
// paused longer.
func (l *Ledger) PauseEscalating(ctx context.Context, page string, d, longest time.Duration, reason string) (time.Duration, error) {
	res := l.PauseMany(ctx, []PauseRequest{{Page: page, D: d, Longest: longest, Reason: reason}})[0]
	return res.Set, res.Err
}

// TextDigest is a short digest of a reply's text (64 bits of SHA-256 of it
// with each run of white space made one space, as Messenger may not keep it
// as sent): enough to tell one text from another.
func TextDigest(text string) string {
	sum := sha256.Sum256([]byte(strings.Join(strings.Fields(text), " ")))
	return hex.EncodeToString(sum[:8])
}

// NoteText records the digest of the first text queued for a conversation
// reply's target t, kept as long as its ledger entry: a doubtful reply's
// check (a read of the conversation) looks for the Page's message with it,
// so that a later task for t with another text (an archived one deleted,
// then asked for again) does not take an earlier attempt for none.
func (l *Ledger) NoteText(ctx context.Context, page string, t Target, text string) error {
	if err := l.rdb.SetNX(ctx, l.pageKey(page, "text:"+t.ID), TextDigest(text), l.ttl).Err(); err != nil {
		return fmt.Errorf("note text of %s: %w", t, err)
	}
	return nil
}

// NotedText returns the digest NoteText recorded for t, or "".
func (l *Ledger) NotedText(ctx context.Context, page string, t Target) (string, error) {
	v, err := l.rdb.Get(ctx, l.pageKey(page, "text:"+t.ID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read noted text of %s: %w", t, err)
	}
	return v, nil
}

// appPauseScript is the length of the app's pause (KEYS[1] keeps the last
// one's, in ms) when an answer says the app is at its limit: ARGV[1], or
// twice the last one up to ARGV[2] while the block goes on (the last set
// within 3 times its length). Answers to calls in flight, within the last
// pause's own length of it, get the same length again.
var appPauseScript = redis.NewScript(`
local base, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last <= 0 then
  redis.call('SET', KEYS[1], string.format('%d', base), 'PX', 3 * base)
  return base
end
if redis.call('PTTL', KEYS[1]) > 2 * last then return last end
local d = math.max(base, math.min(last * 2, cap))
redis.call('SET', KEYS[1], string.format('%d', d), 'PX', 3 * d)
return d
`)

// AppPauseLength returns how long to pause the app's Pages after an answer
// said the app is at its limit: base, doubling up to longest while the
// block goes on (the Pages' first calls after a pause are refused again).
// One record for the app (every Page of LedgerOptions.AppPages), whichever
// Page's call was refused.
func (l *Ledger) AppPauseLength(ctx context.Context, base, longest time.Duration) (time.Duration, error) {
	n, err := appPauseScript.Run(ctx, l.rdb, []string{l.prefix + "app:pause_last"}, base.Milliseconds(), longest.Milliseconds()).Int64()
	if err != nil {
		return base, fmt.Errorf("app pause: %w", err)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// Resume lifts a Page's pause.
func (l *Ledger) Resume(ctx context.Context, page string) error {
	if err := l.rdb.Del(ctx, l.pageKey(page, "pause"), l.pageKey(page, "pause_token")).Err(); err != nil {
		return fmt.Errorf("resume page %s: %w", page, err)
	}
	return nil
}

// liftPauseScript lifts a Page's pause whatever its kind and forgets the
// Page's recent escalating pauses, so that the next block starts from its
// base length instead of twice the last.
//
// KEYS[1] the Page's pause key, KEYS[2] its pause token key, KEYS[3..] its
// last escalating pause of each kind. ARGV[1..] those kinds, in KEYS' order.
// Returns the pause's PTTL (ms), its reason, then the kinds that had a last
// pause recorded.
var liftPauseScript = redis.NewScript(`
local out = {redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1]) or ''}
redis.call('DEL', KEYS[1], KEYS[2])
for i = 3, #KEYS do
  if redis.call('DEL', KEYS[i]) == 1 then out[#out + 1] = ARGV[i - 2] end
end
return out
`)

// LiftedPause is what LiftPause lifted: the Page's pause (Left zero when it
// was not paused) and the kinds of pause whose escalation it forgot.
type LiftedPause struct {
	PauseState
	Forgot []string
}

// LiftPause lifts page's pause, of whatever kind, for an operator who knows
// the block is over (pagereply resume), and forgets the Page's recent
// escalating pauses (PauseEscalating): a block that comes back later is a
// new one, paused for its base length, not twice the length of the pause the
// operator lifted. Unlike Resume, which tests use as a pause that ran out,
// nothing of the pause is left behind. The app's own escalation
// (AppPauseLength) is the app's, and stays.
func (l *Ledger) LiftPause(ctx context.Context, page string) (LiftedPause, error) {
	keys := []string{l.pageKey(page, "pause"), l.pageKey(page, "pause_token")}
	args := make([]any, len(PauseKinds))
	for i, kind := range PauseKinds {
		keys = append(keys, l.pageKey(page, "pause_last:"+kind))
		args[i] = kind
	}
	res, err := liftPauseScript.Run(ctx, l.rdb, keys, args...).Slice()
	if err != nil {
		return LiftedPause{}, fmt.Errorf("lift pause of page %s: %w", page, err)
	}
	if len(res) < 2 {
		return LiftedPause{}, fmt.Errorf("lift pause of page %s: unexpected reply %v", page, res)
	}
	out := LiftedPause{PauseState: PauseState{Page: page}}
	if ms, _ := res[0].(int64); ms > 0 {
		out.Left = time.Duration(ms) * time.Millisecond
		out.Reason, _ = res[1].(string)
	}
	for _, v := range res[2:] {
		if kind, ok := v.(string); ok {
			out.Forgot = append(out.Forgot, kind)
		}
	}
	return out, nil
}

// LiftStaleBrokenPause lifts page's page_broken pause when it was set while
// the Page had another token than the one LedgerOptions.PageTokens gives now
// (or by a pagereply that kept no fingerprint): the operator has put a new
// token in the config, and the pause, which only waits for that, need not
// run out first. A pause of the same token, a throttle, or a Page without a
// token in PageTokens is left alone. It returns the reason of the pause it
// lifted, or "".
func (l *Ledger) LiftStaleBrokenPause(ctx context.Context, page string) (string, error) {
	lifted, err := l.LiftStaleBrokenPauses(ctx, []string{page})
	return lifted[page], err
}

// RestartPutBacks drops page's put-back schedule: the next reply put back
// for its rate returns one send interval after the Page's next free send
// slot, not after the replies put back before (worker.WakePutBacks, for
// put-backs spaced at an older, lower rate).
func (l *Ledger) RestartPutBacks(ctx context.Context, page string) error {
	if err := l.rdb.Del(ctx, l.keys(page).back).Err(); err != nil {
		return fmt.Errorf("restart put-backs of page %s: %w", page, err)
	}
	return nil
}

// StaleBrokenPause returns the reason of page's page_broken pause when
// LiftStaleBrokenPause would lift it (the config gives the Page another
// token than the one that broke), else "": it reads, and lifts nothing, for a
// dry run.
func (l *Ledger) StaleBrokenPause(ctx context.Context, page string) (string, error) {
	fp, ok := l.tokenFP[page]
	if !ok {
		return "", nil
	}
	vs, err := l.rdb.MGet(ctx, l.pageKey(page, "pause"), l.pageKey(page, "pause_token")).Result()
	if err != nil {
		return "", fmt.Errorf("read pause of page %s: %w", page, err)
	}
	reason, _ := vs[0].(string)
	if !strings.HasPrefix(reason, PausePageBroken) {
		return "", nil
	}
	if was, _ := vs[1].(string); was == fp {
		return "", nil
	}
	return reason, nil
}

// recordRateScript keeps the rate a Page is configured with and, when it
// differs from the one kept before, drops the Page's put-back schedule, which
// was spaced at the old rate. It keeps the Page's stats hash StatsTTL more
// too: the Page is configured.
//
// KEYS[1] the Page's configured rate key, KEYS[2] its put-back schedule,
// KEYS[3] its stats hash. ARGV[1] the rate, ARGV[2] how long to keep it
// (ms), ARGV[3] how long to keep the stats (ms). Returns 1 when the rate
// changed, else 0 (also the first time).
var recordRateScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if old and old ~= ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`)

// RecordRate keeps rate, a description of the Page's configured rate and
// burst, and reports whether the Page had another before: its replies put
// back for the old rate then wait on the old rate's schedule
// (worker.WakePutBacks runs them), which it drops, so later put-backs are
// spaced at the new rate. Every start records the rates of the Pages it
// configures, so it also keeps their counters (Stats) StatsTTL more.
func (l *Ledger) RecordRate(ctx context.Context, page, rate string) (bool, error) {
	changed, err := l.RecordRates(ctx, []string{page}, []string{rate})
	return changed[page], err
}

// RevokeSession records a monitor session (by id, a digest of its cookie) as
// ended until it would have expired.
func (l *Ledger) RevokeSession(ctx context.Context, id string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	if err := l.rdb.Set(ctx, l.prefix+"sessions:ended:"+id, 1, ttl+time.Second).Err(); err != nil {
		return fmt.Errorf("end monitor session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether RevokeSession ended the session id.
func (l *Ledger) SessionRevoked(ctx context.Context, id string) (bool, error) {
	n, err := l.rdb.Exists(ctx, l.prefix+"sessions:ended:"+id).Result()
	if err != nil {
		return false, fmt.Errorf("read ended monitor sessions: %w", err)
	}
	return n == 1, nil
}

// Pause reasons begin with the kind of pause, then ": " and what happened.
const (
	PauseThrottled  = "throttled"   // Graph throttled the Page, or its usage neared the limit
	PausePageBroken = "page_broken" // the Page's token or permissions broke
	PauseGraphDown  = "graph_down"  // Graph failed the Page's calls many times in a row (an outage)
	// PausePolicyBlock: Graph's code 368, the Page blocked for acting
	// against Meta's policies (often sending too fast): hours, not a token
	// to fix.
	PausePolicyBlock = "policy_block"
)

// PauseKinds are the kinds PauseKind returns, "other" last.
var PauseKinds = []string{PauseThrottled, PausePageBroken, PauseGraphDown, PausePolicyBlock, "other"}

// PauseKind returns the kind a pause reason begins with: PauseThrottled,
// PausePageBroken, PauseGraphDown, PausePolicyBlock, or "other".
func PauseKind(reason string) string {
	switch kind, _, _ := strings.Cut(reason, ":"); kind {
	case PauseThrottled, PausePageBroken, PauseGraphDown, PausePolicyBlock:
		return kind
	}
	return "other"
}

// Paused returns how much longer page is paused and why; zero when it is not.
func (l *Ledger) Paused(ctx context.Context, page string) (time.Duration, string, error) {
	ps, err := l.PausedAll(ctx, []string{page})
	if err != nil {
		return 0, "", err // "pause of page <id>: ...": the Page named once
	}
	return ps[0].Left, ps[0].Reason, nil
}

// PauseState is one Page's pause: Left is how much longer it lasts (zero when
// the Page is not paused), Reason why.
type PauseState struct {
	Page   string
	Left   time.Duration
	Reason string
}

// PausedAll is Paused for many Pages in one pipeline, in their order.
func (l *Ledger) PausedAll(ctx context.Context, pages []string) ([]PauseState, error) {
	out := make([]PauseState, len(pages))
	// In pipelines of manyPagesChunk Pages, as the other many-Page calls:
	// no single pipeline holds Redis's reply buffer for long.
	for lo := 0; lo < len(pages); lo += manyPagesChunk {
		hi := min(lo+manyPagesChunk, len(pages))
		pipe := l.rdb.Pipeline()
		ttls := make([]*redis.DurationCmd, hi-lo)
		reasons := make([]*redis.StringCmd, hi-lo)
		for i := range ttls {
			key := l.pageKey(pages[lo+i], "pause")
			ttls[i] = pipe.PTTL(ctx, key)
			reasons[i] = pipe.Get(ctx, key)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command: a GET's redis.Nil must not hide another's
		for i := range ttls {
			page := pages[lo+i]
			if err := ttls[i].Err(); err != nil {
				return nil, fmt.Errorf("pause of page %s: %w", page, err)
			}
			if err := reasons[i].Err(); err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("pause of page %s: %w", page, err)
			}
			out[lo+i].Page = page
			if d := ttls[i].Val(); d > 0 {
				out[lo+i].Left, out[lo+i].Reason = d, reasons[i].Val()
			}
		}
	}
	return out, nil
}

// Stats returns a Page's counters ("sent", "failed").
func (l *Ledger) Stats(ctx context.Context, page string) (map[string]int64, error) {
	st, err := l.StatsAll(ctx, []string{page})
	if err != nil {
		return nil, err
	}
	return st[0], nil
}

// KeepStats queues on pipe what keeps page's stats hash (Stats) StatsTTL
// more, for a configured Page that is polled: its counters stay while it is
// configured, however long it sends nothing, and a removed Page's go.
func (l *Ledger) KeepStats(ctx context.Context, pipe redis.Pipeliner, page string) *redis.BoolCmd {
	return pipe.PExpire(ctx, l.keys(page).stats, l.statsTTL)
}

// PageKey returns the key name of a per-Page record (hash-tagged by Page) under
// the ledger's prefix, for other per-Page state such as the poll's cursors.
func (l *Ledger) PageKey(page, name string) string { return l.pageKey(page, name) }

// returnSlotScript gives back one send slot of a Page's rate schedule: the
// theoretical arrival time moves back one interval, never before now.
//
// KEYS[1] the Page's GCRA state (µs). ARGV[1] the emission interval (µs).
var returnSlotScript = redis.NewScript(`
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local back = math.max(now, tat - tonumber(ARGV[1]))
if back >= tat then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', back), 'PX', math.floor((back - now) / 1000) + 1000)
return 1
`)

// ReturnSendSlot gives back a send slot that a reservation of page booked
// (lim, as reserved) and will not use: the reply went back to the queue
// before sending. Without it, a reply put back again and again (waiting for
// a conversation read slot) would use up the Page's send rate for nothing.
// It is only the schedule's room that comes back, never more: sends that
// left stay counted by the send log that Admit checks.
func (l *Ledger) ReturnSendSlot(ctx context.Context, page string, lim Limit) error {
	if lim.Interval <= 0 {
		return nil
	}
	if err := returnSlotScript.Run(ctx, l.rdb, []string{l.keys(page).rate}, lim.Interval.Microseconds()).Err(); err != nil {
		return fmt.Errorf("return send slot of page %s: %w", page, err)
	}
	return nil
}

// admitScript is the last gate before a send: it refuses while the Page is
// paused and keeps a log of the Page's sends of the last window, admitting a
// send only while the log holds fewer than the limit. The GCRA booking in
// reserveScript paces sends; this makes the ceiling hold even when sends leave
// late and bunch up (a worker woken late, a slow machine).
//
// It also renews the sender's claim on its target: a reply can wait here,
// after its reservation, longer than the claim's lease allowed for, and a
// claim whose lease ran out may have been taken over by another attempt of
// the same task (asynq re-runs a task whose worker lost its lease). A send is
// admitted only while the target's entry is still the caller's claim, whose
// lease then runs from now; otherwise nothing is booked and the send must not
// go out.
//
// KEYS[1] the Page's pause key, KEYS[2] the Page's send log (sorted set),
// KEYS[3] the target's ledger entry. ARGV[1] the limit, ARGV[2] the window
// (µs), ARGV[3] the claim token (also the send log's member), ARGV[4] the
// claim's lease (ms).
//
// Returns {0, lapsed, extended} admitted (lapsed 1 when the claim's lease had
// run out before this renewal, extended 1 when the renewal moved it on by more
// than a second), {1, pttl ms, reason} paused, {2, wait µs} full, {3}
// the claim is no longer the caller's.
var admitScript = redis.NewScript(`
local v = redis.call('GET', KEYS[3])
if not v or string.find(v, 'c|' .. ARGV[3] .. '|', 1, true) ~= 1 then return {3} end
local lease = tonumber(string.sub(v, #ARGV[3] + 4)) or 0
local pttl = redis.call('PTTL', KEYS[1])
if pttl > 0 then return {1, pttl, redis.call('GET', KEYS[1]) or ''} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
-- The sends within the window are counted, and those past it pruned after
-- the ZADD: a full Redis refuses a script at its first write only, and
-- the prune first would let this send past it, with no record possible.
local since = '(' .. string.format('%.0f', now - window)
if redis.call('ZCOUNT', KEYS[2], since, '+inf') >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {2, tonumber(oldest[2]) + window - now + 1}
end
redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now - window))
redis.call('PEXPIRE', KEYS[2], math.floor(window / 1000) + 1000)
local nowms = math.floor(now / 1000)
redis.call('SET', KEYS[3], 'c|' .. ARGV[3] .. '|' .. string.format('%.0f', nowms + tonumber(ARGV[4])), 'KEEPTTL')
if lease <= nowms then return {0, 1} end
-- Renewed well past the lease a replica may hold (the reservation's, or the
-- last acked renewal's): a failover would bring that one back, ending before
-- this send's outcome can be known.
if lease < nowms + tonumber(ARGV[4]) - 1000 then return {0, 0, 1} end
return {0, 0}
`)

// Admission is Admit's answer: Lost when the target's entry is no longer
// the caller's claim (the send must not go out), Paused > 0 while the Page is
// paused (Reason says why), Wait > 0 while its send log is full, all zero
// when admitted. Lapsed, with an admission, says the claim's lease had run
// out before Admit renewed it: the renewal is then the claim's only record
// that is current, and must reach a replica before the send (ReplicaGuard).
type Admission struct {
	Lost   bool
	Lapsed bool
	// Extended, with an admission, says the renewal moved the claim's lease
	// more than a second past the one it had: like a lapsed one, it must
	// reach a replica before the send, or a failover brings back a lease
	// that ends before the send's outcome is known (and before the settle
	// time of a send that gets no answer).
	Extended bool
	Paused   time.Duration
	Reason   string
	Wait     time.Duration
}

// Admit records a send to t of page now, and renews the caller's claim on t
// (token) for lease from now, unless the claim is no longer the caller's, the
// Page is paused, or it already made limit sends in the last window.
func (l *Ledger) Admit(ctx context.Context, page string, t Target, token string, lease time.Duration, limit int, window time.Duration) (Admission, error) {
	keys := []string{l.pageKey(page, "pause"), l.pageKey(page, "sends"), l.entryKey(page, t)}
	// Not batched: the batcher's linger would put up to a millisecond between
	// the admission's timestamp and the send it admits.
	val, err := admitScript.Run(ctx, l.rdb, keys, limit, window.Microseconds(), token, lease.Milliseconds()).Result()
	if err != nil {
		return Admission{}, fmt.Errorf("admit send of page %s: %w", page, err)
	}
	res, _ := val.([]any)
	if len(res) == 0 {
		return Admission{}, fmt.Errorf("admit send of page %s: unexpected reply %v", page, val)
	}
	switch code, _ := res[0].(int64); code {
	case 0:
		lapsed := len(res) > 1 && res[1] == int64(1)
		extended := len(res) > 2 && res[2] == int64(1)
		return Admission{Lapsed: lapsed, Extended: extended}, nil
	case 1:
		n, _ := res[1].(int64)
		reason := ""
		if len(res) > 2 {
			reason, _ = res[2].(string)
		}
		return Admission{Paused: time.Duration(n) * time.Millisecond, Reason: reason}, nil
	case 2:
		n, _ := res[1].(int64)
		return Admission{Wait: time.Duration(n) * time.Microsecond}, nil
	case 3:
		return Admission{Lost: true}, nil
	}
	return Admission{}, fmt.Errorf("admit send of page %s: unexpected reply %v", page, val)
}
