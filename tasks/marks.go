package tasks

import "github.com/redis/go-redis/v9"

// markManyScript records sent replies of one Page, never changing the value
// of an entry that is already sent (SET ... GET, then the old value put back;
// such an entry's TTL then counts anew from this mark, which only keeps it
// longer), and counts the ones it wrote in the Page's "sent" statistic, kept
// StatsTTL from then; those of them a Graph send made (MarkSentBySend) it
// counts in "sends" too (CountBrokenAnswer). The ledger's batcher merges the MarkSent calls of
// concurrent handlers for one Page into one call of it (see batch.go).
//
// KEYS[1] the Page's stats hash, KEYS[2..n] ledger entries.
// ARGV[1] TTL (ms), ARGV[2] the stats hash's TTL (ms), ARGV[3..n+1] the end
// of the sent value of KEYS[2..n], "|<message-id>", or "!|<message-id>" for
// a Graph send's: the script writes "s|<ms>|<message-id>" with the time in
// Redis's clock (see markScript).
//
// Returns one reply per entry: 1 written, 0 already sent.
var markManyScript = redis.NewScript(`
local n, sends = 0, 0
local out = {}
local t = redis.call('TIME')
local sent = 's|' .. string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
for i = 2, #KEYS do
  -- One call writes the entry and reads what it held (a call from Lua costs
  -- several times the command itself); an entry that was already sent gets
  -- its value back, keeping its message id and time.
  local rest = ARGV[i + 1]
  local send = string.sub(rest, 1, 1) == '!'
  if send then rest = string.sub(rest, 2) end
  local v = redis.call('SET', KEYS[i], sent .. rest, 'PX', ARGV[1], 'GET')
  if not v or string.sub(v, 1, 1) ~= 's' then
    n = n + 1
    if send then sends = sends + 1 end
    out[#out + 1] = 1
  else
    redis.call('SET', KEYS[i], v, 'KEEPTTL')
    out[#out + 1] = 0
  end
end
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'sent', n)
  if sends > 0 then redis.call('HINCRBY', KEYS[1], 'sends', sends) end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return out
`)
