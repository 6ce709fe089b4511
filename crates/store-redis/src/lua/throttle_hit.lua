-- Counts one attempt in the key's window, opening a new window if none is in force by the
-- store's clock.
-- KEYS[1] window (value: ends_at .. count, 20 digits each)
-- ARGV[1] now (20 digits), ARGV[2] end of a window opened now (20 digits), ARGV[3] ttl ms
--   of a window opened now
-- Returns {ends_at (20 digits), count}, or {'', -1} if the stored value is malformed.
local current = redis.call('GET', KEYS[1])
if current then
  if string.len(current) ~= 40 or not string.find(current, '^%d+$') then
    return {'', -1}
  end
  local ends_at = string.sub(current, 1, 20)
  if ends_at > ARGV[1] then
    local count = tonumber(string.sub(current, 21, 40)) + 1
    redis.call('SET', KEYS[1], ends_at .. string.format('%020d', count), 'KEEPTTL')
    return {ends_at, count}
  end
end
redis.call('SET', KEYS[1], ARGV[2] .. string.format('%020d', 1), 'PX', ARGV[3])
return {ARGV[2], 1}
