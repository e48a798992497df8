package tasks

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// brokenAnswerScript counts a page-broken answer to one reply's call: it
// keeps, for the target, how many such answers came after Graph took a send
// of another reply of the Page since the target's previous one, and the
// Page's sends count at its last one.
//
// KEYS[1] the Page's stats hash (its "sends" count, markManyScript), KEYS[2]
// the target's record, "<count>|<sent>". ARGV[1] how long to keep the record
// (ms, the ledger's TTL). Returns the count.
var brokenAnswerScript = redis.NewScript(`
local sent = tonumber(redis.call('HGET', KEYS[1], 'sends') or '0') or 0
local v = redis.call('GET', KEYS[2])
local n = 0
if v then
  local c, last = string.match(v, '^(%d+)|(%d+)$')
  n = tonumber(c) or 0
  if sent > (tonumber(last) or sent) then n = n + 1 end
end
redis.call('SET', KEYS[2], string.format('%d|%d', n, sent), 'PX', ARGV[1])
return n
`)

// CountBrokenAnswer records that Graph answered a call of t's reply with a
// page-broken error (which pauses the Page) and returns how many of t's
// page-broken answers came after Graph took a send of another reply of the
// Page (its "sends" count grew, MarkSentBySend) since t's previous one: 0 for
// the first, and for each answer while nothing of the Page was sent (a Page
// really broken sends nothing). Replies recorded as sent without a send (a
// check that found an earlier attempt's reply, a person already answered,
// the Page's own answer in the inbox) prove nothing about the Page and do
// not count. A reply whose answers keep pausing a Page that
// sends the others' in between is the cause, not the Page (worker's
// graphError). The record is kept as long as a ledger entry.
func (l *Ledger) CountBrokenAnswer(ctx context.Context, page string, t Target) (int, error) {
	keys := []string{l.keys(page).stats, l.pageKey(page, "broken:"+t.String())}
	n, err := brokenAnswerScript.Run(ctx, l.rdb, keys, l.ttlArg).Int()
	if err != nil {
		return 0, fmt.Errorf("count page-broken answer to %s of page %s: %w", t, page, err)
	}
	return n, nil
}
