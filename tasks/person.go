package tasks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A person's record keeps a Page's conversation replies to one person from
// crossing: each of the person's messages is a target of its own, so a person
// who writes again while the reply to their last message waits in the queue
// (the Page paused, a backlog, a retry's backoff) would otherwise get two
// replies when it flows again, one per message, usually with the same text.
// The record, two keys per Page and person (PSID), says which reply is being
// sent to the person ("c|<token>|<target>", the attempt's claim token and
// target) and when the last one reached them ("s|<ms>|<message-id>|<target>"
// under the ":s" key, in Redis's clock, kept past Messenger's 24-hour
// window; a claim that ends sending nothing leaves it as it was). A reply to
// a message the person wrote before the last reply reached them is answered
// already.
//
// A claim holds the person for as long as its target's own ledger entry says
// the reply may be on its way: claimed, or its outcome unknown, however long
// that lasts (a pause, retries, an outage: the doubt is settled by the
// target's next attempt, which reads Graph before it sends again) for the
// messages written before that reply could have landed; and no longer: a
// claim whose target failed, was given back or is gone holds nothing (a
// commenter whose reply's outcome then can never be known is recorded as
// answered instead, by the worker, with no message id). A
// claim or a doubt older than the reply window holds nothing either, so an
// abandoned one cannot hold a person for ever.

// PersonTTL is how long a conversation person's record outlives the last
// reply sent to them: past Messenger's 24-hour window, after which no reply
// to a message written before it can be sent anyway. (A commenter's record
// is kept for the Page's reply window.)
const PersonTTL = 25 * time.Hour

// PersonOutcome is what PersonClaim found.
type PersonOutcome int

// Person claim outcomes.
const (
	PersonClaimed  PersonOutcome = iota // the caller may send
	PersonBusy                          // another reply to the person may be on its way
	PersonAnswered                      // a reply reached the person after they wrote the target
)

// PersonClaim is the answer of Ledger.PersonClaim.
type PersonClaim struct {
	Outcome PersonOutcome
	// InDoubt, with PersonBusy, says the other reply's outcome is unknown
	// (settled by its next attempt, which may be minutes away) rather than
	// its send under way.
	InDoubt bool
	// MessageID is the Graph id of the reply that answered the person
	// (PersonAnswered; "" when unknown).
	MessageID string
	// At is when that reply was recorded as reaching the person
	// (PersonAnswered; Redis's clock, or the Page's answer's created_time;
	// the zero time when unknown).
	At time.Time
}

// Person names a person's record: a conversation's person by their PSID,
// or, on a Page that sends one reply per person (config.Page.
// OneReplyPerPerson), who wrote a comment or post (Commenter), in a record of
// its own: Graph gives a commenter another id than the PSID.
type Person struct {
	ID        string
	Commenter bool
}

func (l *Ledger) personKey(page string, p Person) string {
	if p.Commenter {
		return l.pageKey(page, "pc:"+p.ID)
	}
	return l.pageKey(page, "p:"+p.ID)
}

// personClaimScript claims a person's record for a reply.
//
// KEYS[1] the person's claim, KEYS[2] their last reply. ARGV[1] the reply's
// target, ARGV[2] when the person wrote it (Unix ms; "" when unknown: never
// answered by another reply; "0", a commenter: answered by any), ARGV[3] the
// claim's TTL (ms), ARGV[4] the prefix of the Page's ledger entries (the
// keys' slot), ARGV[5] how long a claim or a doubt may hold the person (ms),
// ARGV[6] the attempt's token. Returns {0} claimed, {1, 1 in doubt or 0
// under way} busy, {2, message id} answered.
//
// A doubt (the holder's entry "u|<ms>[|<settle-ms>]") holds a reply to a
// message written before the doubtful send could have landed (its settle
// time, else when it was marked) only: a message written after it deserves
// its own reply either way, and a doubt whose task is gone for good would
// otherwise hold the person's new messages until the window ends. A
// commenter's reply, whose time does not count (any reply within the window
// answers them), is held by a doubt for the window, as a conversation reply
// of unknown time is: the doubt's target holds it until an attempt asks
// Graph, however long a pause puts that attempt off (its comment, still
// inside the window, is queued again by a full read if its task is gone),
// and a reply that went out meanwhile would be the person's second. (It was
// an hour: a doubt marked before a Page's pause of two hours let the
// person's other comment, run first when the pause ended, be sent beside the
// reply that had landed.)
//
// A hide or remove mark that took the place of the target's claim holds
// the person while the claim's lease runs, as the claim did: its attempt
// may be past its last gate, sending (Graph answers a private reply to a
// hidden comment); after that it holds no one.
//
// Only the attempt that holds its target's claim in the ledger claims the
// person. Another (its claim lapsed while it stalled, and another attempt
// took the target, perhaps sent it or lost its answer since) is told the
// person is busy, and claims nothing: a person's claim names the target, not
// the attempt, so taking it over would let this stale attempt release, on
// its way out, the claim that holds the person while the target's live
// attempt sends or its outcome is in doubt. (A target with no entry is left
// to the send's last gate, which finds the target not this attempt's; a
// person answered is answered whichever attempt asks.)
var personClaimScript = redis.NewScript(`
if ARGV[2] ~= '' then
  local s = redis.call('GET', KEYS[2])
  if s then
    local ms, mid, target = string.match(s, '^s|(%d+)|([^|]*)|(.*)$')
    if ms and target ~= ARGV[1] and tonumber(ms) >= tonumber(ARGV[2]) then
      return {2, mid, ms}
    end
  end
end
local own = redis.call('GET', ARGV[4] .. ARGV[1])
if own and string.find(own, 'c|' .. ARGV[6] .. '|', 1, true) ~= 1 then
  return {1, 0}
end
local v = redis.call('GET', KEYS[1])
local other = v and string.match(v, '^c|[^|]*|(.*)$')
if other and other ~= ARGV[1] then
  local e = redis.call('GET', ARGV[4] .. other)
  local es = e and string.sub(e, 1, 1) or ''
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if es == 'c' then
    local at = tonumber(string.match(e, '^c|[^|]*|(%d+)') or '0')
    if now - at < tonumber(ARGV[5]) then return {1, 0} end
  elseif es == 'f' then
    -- A hide or remove mark that took the claim's place keeps its lease
    -- (hideScript): the attempt may be sending until then.
    local lease = tonumber(string.match(e, '^f|%d+|(%d+)|') or '0')
    if lease > now then return {1, 0} end
  elseif es == 'u' then
    local ums, settle = string.match(e, '^u|(%d+)|?(%d*)')
    ums = tonumber(ums or '0')
    local landed = settle ~= '' and tonumber(settle) or ums
    local hold
    if ARGV[2] == '' or ARGV[2] == '0' then
      hold = now - ums < tonumber(ARGV[5])
    else
      hold = tonumber(ARGV[2]) <= landed and now - ums < tonumber(ARGV[5])
    end
    if hold then return {1, 1} end
  elseif es == 's' and ARGV[2] ~= '' then
    local ms, mid = string.match(e, '^s|(%d+)|(.*)$')
    if ms and tonumber(ms) >= tonumber(ARGV[2]) then
      return {2, mid, ms}
    end
  end
end
redis.call('SET', KEYS[1], 'c|' .. ARGV[6] .. '|' .. ARGV[1], 'PX', ARGV[3])
return {0}
`)

// PersonClaim claims page's record of the person who for the attempt token
// of the reply to target, what the person wrote at created: PersonBusy while
// another of the person's replies may be on its way (its target claimed, or
// its outcome unknown, for at most window), PersonAnswered when a reply
// reached the person at or after created (Redis's clock against Graph's
// created_time; a commenter's (who.Commenter): any reply within window;
// the zero created of a conversation reply: none), else PersonClaimed. The
// claim of another attempt of the same target is taken over, but only by the
// attempt that holds the target's claim in the ledger: while another attempt
// holds it, PersonBusy.
func (l *Ledger) PersonClaim(ctx context.Context, page string, who Person, target Target, token string, created time.Time, window time.Duration) (PersonClaim, error) {
	createdArg := ""
	switch {
	case who.Commenter:
		createdArg = "0"
	case !created.IsZero():
		createdArg = strconv.FormatInt(created.UnixMilli(), 10)
	}
	ttl := window
	if !who.Commenter {
		ttl = PersonTTL
	}
	key := l.personKey(page, who)
	v, err := personClaimScript.Run(ctx, l.rdb, []string{key, key + ":s"}, target.String(), createdArg,
		ttl.Milliseconds(), l.pageKey(page, "t:"), window.Milliseconds(), token).Slice()
	if err != nil {
		return PersonClaim{}, fmt.Errorf("claim person of %s on page %s: %w", target, page, err)
	}
	code, _ := v[0].(int64)
	switch code {
	case 1:
		doubt := len(v) > 1 && v[1] == int64(1)
		return PersonClaim{Outcome: PersonBusy, InDoubt: doubt}, nil
	case 2:
		var mid string
		if len(v) > 1 {
			mid, _ = v[1].(string)
		}
		pc := PersonClaim{Outcome: PersonAnswered, MessageID: mid}
		if len(v) > 2 {
			if s, _ := v[2].(string); s != "" {
				if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
					pc.At = time.UnixMilli(ms)
				}
			}
		}
		return pc, nil
	}
	return PersonClaim{Outcome: PersonClaimed}, nil
}

// personSentScript records a reply that reached the person, unless a later
// one is recorded already, and ends the target's claim on them.
//
// KEYS[1] the person's claim, KEYS[2] their last reply. ARGV[1] the reply's
// target, ARGV[2] its Graph message id, ARGV[3] the record's TTL (ms),
// ARGV[4] when it reached them (Unix ms), 0 for now in Redis's clock, -N
// for N ms before now.
var personSentScript = redis.NewScript(`
local ms = ARGV[4]
if tonumber(ms) <= 0 then
  local t = redis.call('TIME')
  ms = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ms))
end
local old = redis.call('GET', KEYS[2])
local oldms = old and tonumber(string.match(old, '^s|(%d+)|') or '0') or 0
if tonumber(ms) >= oldms then
  redis.call('SET', KEYS[2], 's|' .. ms .. '|' .. ARGV[2] .. '|' .. ARGV[1], 'PX', ARGV[3])
end
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^c|[^|]*|(.*)$') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// PersonSent records that the reply to target (Graph message id messageID,
// "" when unknown) reached page's person who at at (the zero time: now, in
// Redis's clock), remembered for ttl.
func (l *Ledger) PersonSent(ctx context.Context, page string, who Person, target Target, messageID string, at time.Time, ttl time.Duration) error {
	var atMS int64
	if !at.IsZero() {
		atMS = max(at.UnixMilli(), 1)
	}
	return l.personSent(ctx, page, who, target, messageID, atMS, ttl)
}

// PersonSentAgo is PersonSent for a reply that reached the person ago
// before now, in Redis's clock: a record written again while Redis was away
// (the worker's writeWhileAway) keeps the time of the send, not of the
// write that landed, which would take the person's messages written
// meanwhile for answered by it. ago is measured by the caller's monotonic
// clock, which is not Redis's, but runs as fast.
func (l *Ledger) PersonSentAgo(ctx context.Context, page string, who Person, target Target, messageID string, ago, ttl time.Duration) error {
	return l.personSent(ctx, page, who, target, messageID, -max(ago, 0).Milliseconds(), ttl)
}

// personSent is PersonSent with the time as personSentScript takes it.
func (l *Ledger) personSent(ctx context.Context, page string, who Person, target Target, messageID string, atMS int64, ttl time.Duration) error {
	key := l.personKey(page, who)
	if err := personSentScript.Run(ctx, l.rdb, []string{key, key + ":s"}, target.String(), messageID, ttl.Milliseconds(), atMS).Err(); err != nil {
		return fmt.Errorf("record reply %s to person on page %s: %w", target, page, err)
	}
	return nil
}

// PersonAnswered reports whether page's record of the person who says a
// reply reached them (PersonSent) and has not expired: for a commenter, a
// reply within the Page's reply window. It only reads.
func (l *Ledger) PersonAnswered(ctx context.Context, page string, who Person) (bool, error) {
	n, err := l.rdb.Exists(ctx, l.personKey(page, who)+":s").Result()
	if err != nil {
		return false, fmt.Errorf("read person on page %s: %w", page, err)
	}
	return n > 0, nil
}

// personReleaseScript drops a person's claim that is still the caller's.
//
// KEYS[1] the person's record. ARGV[1] the claim.
var personReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// PersonRelease drops the claim of the attempt token of the reply to target
// on page's person who, after an attempt that sent nothing. (A claim whose
// send's outcome is unknown is left: it holds the person while its target's
// entry says so.)
func (l *Ledger) PersonRelease(ctx context.Context, page string, who Person, target Target, token string) error {
	if err := personReleaseScript.Run(ctx, l.rdb, []string{l.personKey(page, who)}, "c|"+token+"|"+target.String()).Err(); err != nil {
		return fmt.Errorf("release person of %s on page %s: %w", target, page, err)
	}
	return nil
}

// personGapScript books a reply's send to a person, at least a gap after the
// last one booked for them, in Redis's clock.
//
// KEYS[1] the person's next allowed send (Unix ms), the target that booked
// it and the gap it was booked with (ms), "<ms>|<target>|<gap>" (without
// the gap from earlier versions). ARGV[1] how far from now the reply's send
// slot is (ms), ARGV[2] the gap (ms), ARGV[3] the reply's target. Returns 0
// when booked (the person's next allowed send is then the slot plus the
// gap), else how long from now until the person may get a reply (ms). The
// target that holds the booking books again at once: an attempt that sent
// nothing (put back for a pause, refused, retried) is not held by its own
// booking. A booking made with a longer gap than ARGV[2] (the Page's
// person_gap lowered since) ends the new gap after its send slot: kept at
// the old gap's end, the person's waiting replies were held back for it.
var personGapScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now + tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local v = redis.call('GET', KEYS[1]) or ''
local nxt = tonumber(string.match(v, '^(%d+)') or '0') or 0
local holder = string.match(v, '^%d+|([^|]*)')
local was = tonumber(string.match(v, '^%d+|[^|]*|(%d+)$') or '')
if was and was > gap then nxt = nxt - was + gap end
if nxt > at and holder ~= ARGV[3] then return nxt - now end
redis.call('SET', KEYS[1], string.format('%.0f', at + gap) .. '|' .. ARGV[3] .. '|' .. string.format('%.0f', gap), 'PX', tonumber(ARGV[1]) + gap)
return 0
`)

// PersonGap books the send of a reply of page (to target t) to the person id, due in
// slot (its send slot, from now), when it is at least gap after the last
// send booked for them, and returns 0; else it books nothing and returns how
// long from now until the person may get a reply. A gap under a
// millisecond books nothing. The record, "{page}:pg:<id>", is kept for as
// long as it holds the person; a conversation's person (PSID) and a
// commenter have one each, as Graph gives one person another id in each.
func (l *Ledger) PersonGap(ctx context.Context, page, id string, t Target, slot, gap time.Duration) (time.Duration, error) {
	if gap < time.Millisecond {
		return 0, nil
	}
	ms, err := personGapScript.Run(ctx, l.rdb, []string{l.pageKey(page, "pg:"+id)}, max(slot, 0).Milliseconds(), gap.Milliseconds(), t.String()).Int64()
	if err != nil {
		return 0, fmt.Errorf("space replies to person on page %s: %w", page, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
