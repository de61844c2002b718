"""Lua scripts for the Redis backend; each runs atomically inside Redis.

The clock is Redis ``TIME`` (milliseconds), read inside the script, so gateway instances on
machines whose clocks disagree still agree on every bucket. A bucket is a hash
``{v: tokens, t: last update in ms}``; a missing key is a full bucket, which is why each
bucket expires once it would have refilled anyway. A concurrency limit is a sorted set of
request ids scored by their lease expiry, so the slots of a crashed instance come back.
"""

from __future__ import annotations

# Shared by the scripts below: refill bucket i to `now`.
_REFILL = """
local function level(key, rate, cap, now)
  local h = redis.call('HMGET', key, 'v', 't')
  local v, ts = tonumber(h[1]), tonumber(h[2])
  if v == nil then return cap end
  if now > ts then v = math.min(cap, v + (now - ts) * rate) end
  return v
end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
"""

#: KEYS: bucket keys..., [lease key]
#: ARGV: n, has_lease, lease_limit, lease_member, lease_ttl_ms, then per bucket
#:       rate (tokens/ms), capacity, cost
#: Returns {0, "0"} when admitted, {i, wait_ms} when bucket i refuses, {n+1, "-1"} when the
#: lease is full.
ADMIT = (
    _REFILL
    + """
local n = tonumber(ARGV[1])
local levels = {}
local deny_i, deny_wait = 0, -1
for i = 1, n do
  local j = 5 + (i - 1) * 3
  local rate, cap, cost = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local v = level(KEYS[i], rate, cap, now)
  levels[i] = v
  local need = math.min(cost, cap)
  if v < need then
    local wait = (need - v) / rate
    if wait > deny_wait then deny_i = i; deny_wait = wait end
  end
end
if deny_i > 0 then return {deny_i, tostring(deny_wait)} end
if ARGV[2] == '1' then
  local lk = KEYS[n + 1]
  local ttl = tonumber(ARGV[5])
  redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
  if redis.call('ZCARD', lk) >= tonumber(ARGV[3]) then return {n + 1, '-1'} end
  redis.call('ZADD', lk, now + ttl, ARGV[4])
  redis.call('PEXPIRE', lk, math.ceil(ttl) + 1000)
end
for i = 1, n do
  local j = 5 + (i - 1) * 3
  local rate, cap, cost = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local v = levels[i] - cost
  redis.call('HSET', KEYS[i], 'v', tostring(v), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((cap - v) / rate) + 1000)
end
return {0, '0'}
"""
)

#: Settle buckets (take more, or give back with a negative cost, without checking), free a
#: concurrency slot and charge a budget, each optional: the end of a request in one round trip.
#: KEYS: bucket keys..., [lease key], [budget key]
#: ARGV: n, has_lease, lease_member, has_charge, usd, tokens, budget_ttl_s, then per bucket
#:       rate (tokens/ms), capacity, cost
SETTLE = (
    _REFILL
    + """
local n = tonumber(ARGV[1])
for i = 1, n do
  local j = 7 + (i - 1) * 3
  local rate, cap, cost = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3])
  local v = math.min(cap, level(KEYS[i], rate, cap, now) - cost)
  redis.call('HSET', KEYS[i], 'v', tostring(v), 't', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((cap - v) / rate) + 1000)
end
local k = n + 1
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[k], ARGV[3])
  k = k + 1
end
if ARGV[4] == '1' then
  local usd, tokens = tonumber(ARGV[5]), tonumber(ARGV[6])
  if usd ~= 0 then redis.call('HINCRBYFLOAT', KEYS[k], 'usd', ARGV[5]) end
  if tokens ~= 0 then redis.call('HINCRBY', KEYS[k], 'tokens', tokens) end
  redis.call('EXPIRE', KEYS[k], tonumber(ARGV[7]))
end
return n
"""
)

#: KEYS: bucket keys; ARGV: n, then per bucket rate (tokens/ms), capacity. Read-only.
LEVELS = (
    _REFILL
    + """
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local j = 1 + (i - 1) * 2
  out[i] = tostring(level(KEYS[i], tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2]), now))
end
return out
"""
)

#: KEYS: a sorted set scored by expiry (a concurrency lease, the cache index). Its live
#: members: the slots in flight, or the cache entries. Read-only.
LIVE_MEMBERS = """
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
return redis.call('ZCOUNT', KEYS[1], '(' .. tostring(now), '+inf')
"""

#: KEYS: entry key, index key. ARGV: value, ttl_ms, max_entries, member, entry key prefix.
#: The index scores members by expiry: expired ones are pruned, and over the cap the ones
#: closest to expiry (the oldest) go first.
CACHE_PUT = """
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + tonumber(tm[2]) / 1000
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil(ttl))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
local n = redis.call('ZCARD', KEYS[2])
local max = tonumber(ARGV[3])
if n > max then
  local old = redis.call('ZRANGE', KEYS[2], 0, n - max - 1)
  for _, m in ipairs(old) do redis.call('DEL', ARGV[5] .. m) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
end
return n
"""
