-- A lease of tokens for auth-ratelimit-redis's LeasedRedisLimiter: GCRA as in script.lua, on the
-- same key and value (one TAT, in microseconds), charging up to ARGV[3] tokens at once.
-- ARGV: interval_us, slack_us (capacity - interval: the most the TAT may be ahead of now for
--       one token to conform), tokens (the most to take).
-- Returns { taken, ahead }: taken >= 1 tokens charged and ahead = tat - now after them; or
-- taken = 0 (refused, nothing charged) and ahead = max(tat - now, 0) as it stands.
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local ahead = (tonumber(redis.call('GET', KEYS[1])) or now) - now
if ahead < 0 then ahead = 0 end
local slack = ARGV[2] + 0
if ahead > slack then return { 0, ahead } end
local interval = ARGV[1] + 0
local taken = math.floor((slack - ahead) / interval) + 1
local most = ARGV[3] + 0
if taken > most then taken = most end
local tat = now + ahead + taken * interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PXAT',
  string.format('%d', math.ceil(tat / 1000)))
return { taken, tat - now }
