-- Merges a subject's "not before" with the one in force: neither the instant nor the
-- deadline ever moves backwards while the entry is live.
-- KEYS[1] subject key (value: not_before .. until, 20 digits each)
-- ARGV[1] not_before (20 digits), ARGV[2] until (20 digits), ARGV[3] the instant before
--   which an entry is over by every node's clock: now less the TTL slack (20 digits),
--   ARGV[4] ttl ms for ARGV[2]
-- Returns 1 if an entry is in force afterwards, 0 if not.
local not_before, deadline = ARGV[1], ARGV[2]
local keep_ttl = false
local current = redis.call('GET', KEYS[1])
if current and string.len(current) == 40 and string.sub(current, 21, 40) > ARGV[3] then
  local old_not_before, old_deadline = string.sub(current, 1, 20), string.sub(current, 21, 40)
  if old_not_before > not_before then
    not_before = old_not_before
  end
  if old_deadline >= deadline then
    deadline = old_deadline
    keep_ttl = true
  end
end
if deadline <= ARGV[3] then
  redis.call('DEL', KEYS[1])
  return 0
end
if keep_ttl then
  redis.call('SET', KEYS[1], not_before .. deadline, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], not_before .. deadline, 'PX', ARGV[4])
end
return 1
