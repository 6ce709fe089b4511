-- Deletes a session and its subject index entry.
-- KEYS[1] record
-- ARGV[1] now (20 digits), ARGV[2] index key prefix, ARGV[3] member
-- Returns 1 if a live record was deleted, 0 otherwise.
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
redis.call('DEL', KEYS[1])
local name = string.sub(current, 82, 113)
if string.len(name) == 32 then
  redis.call('ZREM', ARGV[2] .. name, ARGV[3])
end
if string.sub(current, 2, 21) > ARGV[1] then
  return 1
end
return 0
