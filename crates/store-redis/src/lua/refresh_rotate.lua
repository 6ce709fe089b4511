-- Uses a token and stores its successor in the same family, atomically; presenting a
-- used token revokes its whole family. Runs after the layout prelude of
-- refresh_record.rs and `ceil_ms` of time.rs.
-- KEYS[1] old token, KEYS[2] new token
-- ARGV[1] now (20 digits), ARGV[2] asked expires_at (20 digits), ARGV[3] new issued_at
--   (20 digits), ARGV[4] ttl slack ms, ARGV[5] new token hash hex, ARGV[6] family key
--   prefix, ARGV[7] token key prefix, ARGV[8] subject key prefix, ARGV[9] now in ms
--   rounded down, ARGV[10] old token hash hex
-- Returns {code, value}: {0, ''} unknown, {1, new value} rotated, {2, old value} reused
-- (family revoked), {3, ''} a live token already holds the new hash, {-1, ''} malformed.

local current = redis.call('GET', KEYS[1])
if not current then
  return {0, ''}
end
if string.byte(current) ~= string.byte(FORMAT) or string.len(current) < FAMILY - 1 then
  return {-1, ''}
end
if field(current, EXPIRES, DIGITS) <= ARGV[1] then
  return {0, ''}
end
local family_len = field(current, FAMILY_LEN, FAMILY_LEN_SIZE)
if not string.find(family_len, '^%d%d$')
    or string.len(current) < FAMILY + tonumber(family_len) - 1 then
  return {-1, ''}
end
local family = field(current, FAMILY, tonumber(family_len))
local family_key = ARGV[6] .. family
local subject_key = ARGV[8] .. field(current, SUBJECT_NAME, SUBJECT_NAME_SIZE)

if field(current, USED, 1) == '1' then
  -- A replay: revoke every unused token of the family. Used ones, this one included,
  -- stay as tombstones, so every further replay (the losers of a race included) is
  -- reported as reuse too.
  for _, member in ipairs(redis.call('ZRANGE', family_key, 0, -1)) do
    local key = ARGV[7] .. member
    local value = redis.call('GET', key)
    if value and field(value, USED, 1) ~= '1' then
      redis.call('DEL', key)
    end
  end
  redis.call('DEL', family_key)
  redis.call('ZREM', subject_key, family)
  return {2, current}
end
if not redis.call('ZSCORE', family_key, ARGV[10]) then
  -- Its family index is gone (evicted): the token cannot be revoked with its family
  -- any more, so it is not honoured.
  redis.call('DEL', KEYS[1])
  return {0, ''}
end
local taken = redis.call('GET', KEYS[2])
if taken and field(taken, EXPIRES, DIGITS) > ARGV[1] then
  return {3, ''}
end

-- RefreshRecord::rotated: the asked expiry, capped at the family's end (same width, so
-- string order is time order).
local family_end = field(current, FAMILY_END, DIGITS)
local expires = ARGV[2]
if family_end < expires then
  expires = family_end
end
local score = ceil_ms(expires)
local ttl = string.format('%d', math.max(1, score - tonumber(ARGV[9]) + tonumber(ARGV[4])))

redis.call('SET', KEYS[1], FORMAT .. '1' .. string.sub(current, EXPIRES), 'KEEPTTL')
local next = FORMAT .. '0' .. expires .. ARGV[3] .. string.sub(current, FAMILY_END)
redis.call('SET', KEYS[2], next, 'PX', ttl)
-- Pruned only past every node's clock (time.rs `prune_millis`).
redis.call('ZREMRANGEBYSCORE', family_key, '-inf',
  string.format('%d', tonumber(ARGV[9]) - tonumber(ARGV[4])))
redis.call('ZADD', family_key, string.format('%d', score), ARGV[5])
redis.call('ZADD', subject_key, 'GT', string.format('%d', score), family)
for _, key in ipairs({family_key, subject_key}) do
  if redis.call('PTTL', key) < tonumber(ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
return {1, next}
