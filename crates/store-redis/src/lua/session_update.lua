-- Rewrites the mutable header fields (and, for a save, the data) of a live session, and
-- moves its subject index entry to the new deadline. Runs after the layout prelude of
-- session_record.rs.
-- KEYS[1] record
-- ARGV[1] now (20 digits), ARGV[2] expected version (20 digits) or '' for a touch,
--   ARGV[3] new expires_at (20 digits), ARGV[4] new version (20 digits) or '' to keep,
--   ARGV[5] new last_seen_at (20 digits), ARGV[6] '1' to replace the data, ARGV[7] data,
--   ARGV[8] ttl ms, ARGV[9] score, ARGV[10] member, ARGV[11] index key prefix
-- Returns 1 if updated, 0 if there is no live record (or, for a save, the version differs),
-- -1 if the stored value is malformed.
local current = redis.call('GET', KEYS[1])
if not current or field(current, EXPIRES, DIGITS) <= ARGV[1] then
  return 0
end
local version = field(current, VERSION, DIGITS)
if ARGV[2] ~= '' and version ~= ARGV[2] then
  return 0
end
local subject_len = tonumber(field(current, SUBJECT_LEN, SUBJECT_LEN_SIZE))
if not subject_len or string.len(current) < SUBJECT - 1 + subject_len then
  return -1
end
if ARGV[4] ~= '' then
  version = ARGV[4]
end
-- From created_at to the end of the subject: kept as it is.
local fixed = string.sub(current, CREATED, SUBJECT - 1 + subject_len)
local data = ARGV[7]
if ARGV[6] ~= '1' then
  data = string.sub(current, SUBJECT + subject_len)
end
redis.call('SET', KEYS[1],
  FORMAT .. ARGV[3] .. version .. ARGV[5] .. fixed .. data,
  'PX', ARGV[8])
local index = ARGV[11] .. field(current, SUBJECT_NAME, SUBJECT_NAME_SIZE)
redis.call('ZADD', index, ARGV[9], ARGV[10])
if redis.call('PTTL', index) < tonumber(ARGV[8]) then
  redis.call('PEXPIRE', index, ARGV[8])
end
return 1
