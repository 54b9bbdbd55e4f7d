-- GCRA for auth-ratelimit-redis: one key, one round trip, Redis's own clock (Redis >= 6.2).
-- KEYS[1]: the key; its value is the quotas' theoretical arrival times (TATs), in
--          microseconds, separated by spaces.
-- ARGV: for each quota: step_us (cost * interval), slack_us (capacity - step: the most the TAT
--       may be ahead of now for the request to conform).
-- Returns, with ahead_i = max(tat_i - now, 0) (after the decision when admitted, before it
-- when refused):
--   one quota: ahead (>= 0) when admitted, -1 - ahead (< 0) when refused;
--   several:   { allowed (1 or 0), ahead_1, ..., ahead_n }.
-- The client derives remaining, reset and retry-after from ahead and its own arguments, so
-- the script reads no more than it must and formats only what it stores.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
if #ARGV == 2 then
  -- One quota: the common case, without tables or string splitting.
  local ahead = (tonumber(redis.call('GET', KEYS[1])) or now) - now
  if ahead < 0 then ahead = 0 end
  if ahead > ARGV[2] + 0 then return -1 - ahead end
  local tat = now + ahead + ARGV[1]
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PXAT',
    string.format('%d', math.ceil(tat / 1000)))
  return tat - now
end
local n = #ARGV / 2
local old = {}
local stored = redis.call('GET', KEYS[1])
if stored then
  local i = 1
  for v in string.gmatch(stored, '%d+') do
    old[i] = tonumber(v)
    i = i + 1
  end
end
local allowed = 1
local out = { 1 }
for i = 1, n do
  local ahead = (old[i] or now) - now
  if ahead < 0 then ahead = 0 end
  if ahead > ARGV[2 * i] + 0 then allowed = 0 end
  out[i + 1] = ahead
end
out[1] = allowed
if allowed == 1 then
  local parts = {}
  local last = 0
  for i = 1, n do
    local ahead = out[i + 1] + ARGV[2 * i - 1]
    out[i + 1] = ahead
    parts[i] = string.format('%d', now + ahead)
    if ahead > last then last = ahead end
  end
  -- The key disappears when every quota is fully replenished: it then equals a fresh key.
  redis.call('SET', KEYS[1], table.concat(parts, ' '), 'PXAT',
    string.format('%d', math.ceil((now + last) / 1000)))
end
return out
