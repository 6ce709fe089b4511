-- Deletes a session and its subject index entry. Runs after the layout prelude of
-- session_record.rs.
-- KEYS[1] record
-- ARGV[1] now (20 digits), ARGV[2] index key prefix, ARGV[3] member
-- Returns 1 if a live record was deleted, 0 otherwise.
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
redis.call('DEL', KEYS[1])
local name = field(current, SUBJECT_NAME, SUBJECT_NAME_SIZE)
if string.len(name) == SUBJECT_NAME_SIZE then
  redis.call('ZREM', ARGV[2] .. name, ARGV[3])
end
if field(current, EXPIRES, DIGITS) > ARGV[1] then
  return 1
end
return 0
