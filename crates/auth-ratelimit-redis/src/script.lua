-- GCRA for auth-ratelimit-redis: one key, one round trip, Redis's own clock (Redis >= 6.2).
-- KEYS[1]: the key; its value is the quotas' theoretical arrival times (TATs), in
--          microseconds, separated by spaces.
-- ARGV: cost, then for each quota: interval_us, capacity_us (burst * interval).
-- Returns: { allowed (1 or 0), now_us, tat_1, retry_1, ..., tat_n, retry_n }, where tat_i is
-- the TAT after the decision (unchanged when refused) and retry_i > 0 when quota i refused.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local cost = tonumber(ARGV[1])
local n = (#ARGV - 1) / 2
local stored = redis.call('GET', KEYS[1])
if n == 1 then
  -- One quota: the common case, without tables or string splitting.
  local tat = tonumber(stored) or 0
  local base = tat
  if now > base then base = now end
  local next_tat = base + cost * tonumber(ARGV[2])
  local allow_at = next_tat - tonumber(ARGV[3])
  if allow_at > now then return { 0, now, tat, allow_at - now } end
  redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PXAT', math.ceil(next_tat / 1000))
  return { 1, now, next_tat, 0 }
end
local old = {}
if stored then
  local i = 1
  for v in string.gmatch(stored, '%d+') do
    old[i] = tonumber(v)
    i = i + 1
  end
end
local allowed = 1
local out = { 1, now }
local last = now
for i = 1, n do
  local tat = old[i] or 0
  local base = tat
  if now > base then base = now end
  local next_tat = base + cost * tonumber(ARGV[2 * i])
  local allow_at = next_tat - tonumber(ARGV[2 * i + 1])
  if allow_at > now then
    allowed = 0
    out[2 * i + 1] = tat
    out[2 * i + 2] = allow_at - now
  else
    out[2 * i + 1] = next_tat
    out[2 * i + 2] = 0
  end
  if next_tat > last then last = next_tat end
end
out[1] = allowed
if allowed == 1 then
  local parts = {}
  for i = 1, n do parts[i] = string.format('%d', out[2 * i + 1]) end
  -- The key disappears when every quota is fully replenished: it then equals a fresh key.
  redis.call('SET', KEYS[1], table.concat(parts, ' '), 'PXAT', math.ceil(last / 1000))
else
  for i = 1, n do out[2 * i + 1] = old[i] or 0 end
end
return out
