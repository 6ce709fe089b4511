-- Creates a session unless a live one holds the key, and indexes it under its subject.
-- Runs after the layout prelude of session_record.rs.
-- KEYS[1] record, KEYS[2] subject index (a sorted set: member = session key in hex,
--   score = the session's deadline in ms, rounded up)
-- ARGV[1] encoded record, ARGV[2] now (20 digits), ARGV[3] ttl ms, ARGV[4] score,
--   ARGV[5] member, ARGV[6] the prune bound (time.rs `prune_millis`: now less the TTL
--   slack, in ms)
-- Returns 1 if created, 0 if a live record holds the key.
local current = redis.call('GET', KEYS[1])
if current and field(current, EXPIRES, DIGITS) > ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
-- Scores track deadlines exactly (save and touch update them), so members whose score
-- has passed on every node's clock belong to dead sessions: pruning them keeps the index
-- bounded.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
