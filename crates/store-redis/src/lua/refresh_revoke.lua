-- Revokes one family, or every family of a subject: deletes their unused tokens and their
-- indexes. Used tokens stay as tombstones until their own deadline, so replaying one
-- still reports reuse. Runs after the layout prelude of refresh_record.rs.
-- KEYS[1] family key (ARGV[4] = 'family') or subject's families key ('subject')
-- ARGV[1] token key prefix, ARGV[2] family key prefix, ARGV[3] subject key prefix,
--   ARGV[4] 'family' or 'subject', ARGV[5] the family id (for 'family')
-- Returns how many unused tokens were revoked.
local function revoke(family_key)
  local revoked = 0
  local subject_name = nil
  for _, member in ipairs(redis.call('ZRANGE', family_key, 0, -1)) do
    local key = ARGV[1] .. member
    local value = redis.call('GET', key)
    if value then
      subject_name = subject_name or field(value, SUBJECT_NAME, SUBJECT_NAME_SIZE)
      if field(value, USED, 1) ~= '1' then
        redis.call('DEL', key)
        revoked = revoked + 1
      end
    end
  end
  redis.call('DEL', family_key)
  return revoked, subject_name
end

if ARGV[4] == 'family' then
  local revoked, subject_name = revoke(KEYS[1])
  if subject_name then
    redis.call('ZREM', ARGV[3] .. subject_name, ARGV[5])
  end
  return revoked
end

local revoked = 0
for _, family in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local n = revoke(ARGV[2] .. family)
  revoked = revoked + n
end
redis.call('DEL', KEYS[1])
return revoked
