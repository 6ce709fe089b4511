-- Takes one attempt back from the key's window in force, never below zero, if that is the
-- window the attempt was counted in; any other window, or none in force by the store's
-- clock, is left alone.
-- KEYS[1] window (value: ends_at .. count, 20 digits each)
-- ARGV[1] now (20 digits), ARGV[2] the end of the window the attempt was counted in (20
--   digits)
-- Returns 1 if a window in force was lowered, 0 if not, -1 if the stored value is malformed.
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
if string.len(current) ~= 40 or not string.find(current, '^%d+$') then
  return -1
end
local ends_at = string.sub(current, 1, 20)
local count = tonumber(string.sub(current, 21, 40))
if ends_at ~= ARGV[2] or ends_at <= ARGV[1] or count == 0 then
  return 0
end
redis.call('SET', KEYS[1], ends_at .. string.format('%020d', count - 1), 'KEEPTTL')
return 1
