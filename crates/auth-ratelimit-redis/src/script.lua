-- GCRA for auth-ratelimit-redis: one key, one round trip, Redis's own clock.
-- KEYS[1]: the key (a hash: field i holds quota i's theoretical arrival time, microseconds).
-- ARGV: cost, n, then for each quota: interval_us, capacity_us (burst * interval).
-- Returns: { allowed (1 or 0), now_us, tat_1, retry_1, ..., tat_n, retry_n }, where tat_i is the
-- TAT after the decision (unchanged when refused) and retry_i > 0 when quota i refused.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local fields = {}
for i = 1, n do fields[i] = tostring(i) end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local allowed = true
local old, new, retry = {}, {}, {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local capacity = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(stored[i]) or 0
  local base = math.max(tat, now)
  local next_tat = base + cost * interval
  local allow_at = next_tat - capacity
  old[i] = tat
  new[i] = next_tat
  if allow_at > now then
    allowed = false
    retry[i] = allow_at - now
  else
    retry[i] = 0
  end
end
local out = { 0, now }
if allowed then
  out[1] = 1
  local args, expire_at = {}, now
  for i = 1, n do
    args[2 * i - 1] = fields[i]
    args[2 * i] = string.format('%.0f', new[i])
    expire_at = math.max(expire_at, new[i])
  end
  redis.call('HSET', KEYS[1], unpack(args))
  -- The key disappears when every quota is fully replenished: it then equals a fresh key.
  redis.call('PEXPIREAT', KEYS[1], math.ceil(expire_at / 1000))
end
for i = 1, n do
  local tat = old[i]
  if allowed then tat = new[i] end
  out[1 + 2 * i] = tat
  out[2 + 2 * i] = retry[i]
end
return out
