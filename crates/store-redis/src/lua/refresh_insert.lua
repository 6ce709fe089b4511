-- Stores a token unless a live one (used or not) holds the hash, and indexes it in its
-- family and the family under its subject. Runs after the layout prelude of
-- refresh_record.rs.
-- KEYS[1] token, KEYS[2] family (sorted set of token hashes, scored by deadline in ms),
--   KEYS[3] subject's families (sorted set of family ids, scored by latest deadline)
-- ARGV[1] encoded token, ARGV[2] now (20 digits), ARGV[3] ttl ms, ARGV[4] score,
--   ARGV[5] token hash hex, ARGV[6] family id, ARGV[7] the prune bound (time.rs
--   `prune_millis`: now less the TTL slack, in ms)
-- Returns 1 if stored, 0 if a live token holds the hash.
local current = redis.call('GET', KEYS[1])
if current and field(current, EXPIRES, DIGITS) > ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
for i = 2, 3 do
  -- Token deadlines never change, so a score passed on every node's clock is a dead token
  -- or family.
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[7])
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[6])
for i = 2, 3 do
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
end
return 1
