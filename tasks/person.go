package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A person's record keeps a Page's conversation replies to one person from
// crossing: each of the person's messages is a target of its own, so a person
// who writes again while the reply to their last message waits in the queue
// (the Page paused, a backlog, a retry's backoff) would otherwise get two
// replies when it flows again, one per message, usually with the same text.
// The record, one key per Page and person (PSID), says either which
// conversation reply is being sent to the person now ("c|<target>", for as
// long as the send's lease, or longer when its outcome is in doubt), or when
// the last one reached them ("s|<ms>|<message-id>|<target>", in Redis's clock,
// kept past Messenger's 24-hour window). A reply to a message the person wrote
// before the last reply reached them is answered already.

// PersonTTL is how long a conversation person's record outlives the last
// reply sent to them: past Messenger's 24-hour window, after which no reply
// to a message written before it can be sent anyway. (A commenter's record
// is kept for the Page's reply window.)
const PersonTTL = 25 * time.Hour

// PersonDoubtHold is how long a person's record stays claimed after a send
// whose outcome is unknown: the reply's next attempt settles the doubt (it
// reads the conversation before it sends again) well within it, and until it
// does, no reply to another of the person's messages is sent.
const PersonDoubtHold = 10 * time.Minute

// PersonOutcome is what PersonClaim found.
type PersonOutcome int

// Person claim outcomes.
const (
	PersonClaimed  PersonOutcome = iota // the caller may send
	PersonBusy                          // another reply to the person is being sent
	PersonAnswered                      // a reply reached the person after they wrote the target
)

// PersonClaim is the answer of Ledger.PersonClaim.
type PersonClaim struct {
	Outcome PersonOutcome
	// Wait is how long the other reply's claim lasts (PersonBusy).
	Wait time.Duration
	// MessageID is the Graph id of the reply that answered the person
	// (PersonAnswered; "" when unknown).
	MessageID string
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
		return l.prefix + "{" + page + "}:pc:" + p.ID
	}
	return l.prefix + "{" + page + "}:p:" + p.ID
}

// personClaimScript claims a person's record for a conversation reply.
//
// KEYS[1] the person's record. ARGV[1] the reply's target, ARGV[2] when the
// person wrote it (Unix ms, 0 when unknown), ARGV[3] the claim's lease (ms).
// Returns {0} claimed, {1, pttl} busy, {2, message id} answered.
var personClaimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local st = string.sub(v, 1, 1)
  if st == 'c' then
    if string.sub(v, 3) ~= ARGV[1] then
      return {1, redis.call('PTTL', KEYS[1])}
    end
  elseif st == 's' then
    local ms, mid, target = string.match(v, '^s|(%d+)|([^|]*)|(.*)$')
    if ms and target ~= ARGV[1] and tonumber(ms) >= tonumber(ARGV[2]) then
      return {2, mid}
    end
  end
end
redis.call('SET', KEYS[1], 'c|' .. ARGV[1], 'PX', ARGV[3])
return {0}
`)

// PersonClaim claims page's record of the person who for the reply to
// target, what the person wrote at created: PersonBusy while another of the
// person's replies is being sent, PersonAnswered when a reply reached the
// person at or after created (Redis's clock against Graph's created_time;
// any reply, with created zero), else PersonClaimed, for lease. A claim
// already the target's (an earlier attempt's) is renewed.
func (l *Ledger) PersonClaim(ctx context.Context, page string, who Person, target Target, created time.Time, lease time.Duration) (PersonClaim, error) {
	var createdMS int64
	if !created.IsZero() {
		createdMS = created.UnixMilli()
	}
	v, err := personClaimScript.Run(ctx, l.rdb, []string{l.personKey(page, who)}, target.String(), createdMS, lease.Milliseconds()).Slice()
	if err != nil {
		return PersonClaim{}, fmt.Errorf("claim person of %s on page %s: %w", target, page, err)
	}
	code, _ := v[0].(int64)
	switch code {
	case 1:
		var wait time.Duration
		if len(v) > 1 {
			ms, _ := v[1].(int64)
			wait = time.Duration(ms) * time.Millisecond
		}
		return PersonClaim{Outcome: PersonBusy, Wait: max(wait, 0)}, nil
	case 2:
		var mid string
		if len(v) > 1 {
			mid, _ = v[1].(string)
		}
		return PersonClaim{Outcome: PersonAnswered, MessageID: mid}, nil
	}
	return PersonClaim{Outcome: PersonClaimed}, nil
}

// personSentScript records a reply that reached the person.
//
// KEYS[1] the person's record. ARGV[1] the reply's target, ARGV[2] its Graph
// message id, ARGV[3] the record's TTL (ms), ARGV[4] when it reached them
// (Unix ms), 0 for now in Redis's clock.
var personSentScript = redis.NewScript(`
local ms = ARGV[4]
if ms == '0' then
  local t = redis.call('TIME')
  ms = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
redis.call('SET', KEYS[1], 's|' .. ms .. '|' .. ARGV[2] .. '|' .. ARGV[1], 'PX', ARGV[3])
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
	if err := personSentScript.Run(ctx, l.rdb, []string{l.personKey(page, who)}, target.String(), messageID, ttl.Milliseconds(), atMS).Err(); err != nil {
		return fmt.Errorf("record reply %s to person on page %s: %w", target, page, err)
	}
	return nil
}

// personReleaseScript drops or prolongs a claim that is still the target's.
//
// KEYS[1] the person's record. ARGV[1] the target, ARGV[2] 0 to drop the
// claim, else its new lease (ms).
var personReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= 'c|' .. ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// PersonRelease drops target's claim on page's person who after an attempt
// that sent nothing, or, with hold > 0, keeps it for hold after one whose
// outcome is unknown.
func (l *Ledger) PersonRelease(ctx context.Context, page string, who Person, target Target, hold time.Duration) error {
	if err := personReleaseScript.Run(ctx, l.rdb, []string{l.personKey(page, who)}, target.String(), hold.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("release person of %s on page %s: %w", target, page, err)
	}
	return nil
}
