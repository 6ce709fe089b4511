-- Revokes one token or one family until a deadline, never shortening a revocation already
-- in force.
-- KEYS[1] token or family key (value: until, 20 digits)
-- ARGV[1] until (20 digits), ARGV[2] ttl ms
-- Returns 1 if written, 0 if a revocation at least as long was already stored.
local current = redis.call('GET', KEYS[1])
if current and current >= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
