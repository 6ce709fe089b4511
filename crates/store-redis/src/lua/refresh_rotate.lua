-- Uses a token and stores its successor in the same family, atomically; presenting a
-- used token revokes its whole family.
-- KEYS[1] old token, KEYS[2] new token
-- ARGV[1] now (20 digits), ARGV[2] new expires_at (20 digits), ARGV[3] new issued_at
--   (20 digits), ARGV[4] new ttl ms, ARGV[5] new score, ARGV[6] new token hash hex,
--   ARGV[7] family key prefix, ARGV[8] token key prefix, ARGV[9] subject key prefix,
--   ARGV[10] now in ms rounded down, ARGV[11] old token hash hex
-- Returns {code, value}: {0, ''} unknown, {1, new value} rotated, {2, old value} reused
-- (family revoked), {3, ''} a live token already holds the new hash, {-1, ''} malformed.
local current = redis.call('GET', KEYS[1])
if not current or string.sub(current, 3, 22) <= ARGV[1] then
  return {0, ''}
end
local family_len = tonumber(string.sub(current, 75, 76))
if not family_len or string.len(current) < 76 + family_len then
  return {-1, ''}
end
local family = string.sub(current, 77, 76 + family_len)
local family_key = ARGV[7] .. family
local subject_key = ARGV[9] .. string.sub(current, 43, 74)

if string.sub(current, 2, 2) == '1' then
  -- A replay: revoke every unused token of the family. Used ones, this one included,
  -- stay as tombstones, so every further replay (the losers of a race included) is
  -- reported as reuse too.
  for _, member in ipairs(redis.call('ZRANGE', family_key, 0, -1)) do
    local key = ARGV[8] .. member
    local value = redis.call('GET', key)
    if value and string.sub(value, 2, 2) ~= '1' then
      redis.call('DEL', key)
    end
  end
  redis.call('DEL', family_key)
  redis.call('ZREM', subject_key, family)
  return {2, current}
end
if not redis.call('ZSCORE', family_key, ARGV[11]) then
  -- Its family index is gone (evicted): the token cannot be revoked with its family
  -- any more, so it is not honoured.
  redis.call('DEL', KEYS[1])
  return {0, ''}
end
local taken = redis.call('GET', KEYS[2])
if taken and string.sub(taken, 3, 22) > ARGV[1] then
  return {3, ''}
end

redis.call('SET', KEYS[1], string.sub(current, 1, 1) .. '1' .. string.sub(current, 3), 'KEEPTTL')
local next = string.sub(current, 1, 1) .. '0' .. ARGV[2] .. ARGV[3] .. string.sub(current, 43)
redis.call('SET', KEYS[2], next, 'PX', ARGV[4])
redis.call('ZREMRANGEBYSCORE', family_key, '-inf', ARGV[10])
redis.call('ZADD', family_key, ARGV[5], ARGV[6])
redis.call('ZADD', subject_key, 'GT', ARGV[5], family)
for _, key in ipairs({family_key, subject_key}) do
  if redis.call('PTTL', key) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', key, ARGV[4])
  end
end
return {1, next}
