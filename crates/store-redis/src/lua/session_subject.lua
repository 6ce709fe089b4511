-- Lists or deletes the sessions of one subject, pruning its index on the way. Runs after
-- the layout prelude of session_record.rs.
-- KEYS[1] subject index
-- ARGV[1] now (20 digits), ARGV[2] record key prefix, ARGV[3] subject key name,
--   ARGV[4] subject, ARGV[5] the prune bound (time.rs `prune_millis`), ARGV[6] 'delete'
--   or 'list'
-- Returns the number of live sessions deleted, or a flat list of member, value pairs of
-- the live sessions.
local function owned(value)
  if field(value, SUBJECT_NAME, SUBJECT_NAME_SIZE) ~= ARGV[3] then
    return false
  end
  local len = tonumber(field(value, SUBJECT_LEN, SUBJECT_LEN_SIZE))
  return len ~= nil and field(value, SUBJECT, len) == ARGV[4]
end

if ARGV[6] == 'delete' then
  local deleted = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[2] .. member
    local value = redis.call('GET', key)
    if value and owned(value) then
      redis.call('DEL', key)
      if field(value, EXPIRES, DIGITS) > ARGV[1] then
        deleted = deleted + 1
      end
    end
  end
  redis.call('DEL', KEYS[1])
  return deleted
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[5])
local live = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local value = redis.call('GET', ARGV[2] .. member)
  if not value or not owned(value) then
    -- Evicted, or its key now holds another subject's session: not ours to list.
    redis.call('ZREM', KEYS[1], member)
  elseif field(value, EXPIRES, DIGITS) > ARGV[1] then
    table.insert(live, member)
    table.insert(live, value)
  end
end
return live
