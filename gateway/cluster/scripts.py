"""The Lua scripts that charge shared limits in Redis. They run on Redis's own clock (TIME), so
nodes whose clocks differ still agree, in microseconds: Lua numbers are doubles, and µs since
1970 (about 1.8e15) are exact in one. redis-py runs them with EVALSHA and loads them again when
the server answers NOSCRIPT (a restarted or failed-over Redis).
"""

from __future__ import annotations

# GCRA over every limit of a request, all or none. KEYS: each limit's TAT. ARGV, four per limit:
# emission interval T (µs), tolerance τ (µs), cost (units the request needs), extra (units a lease
# would like on top). A limit takes cost + extra when that fits, as much as fits (at least cost)
# otherwise. Returns {1, granted_1, wait_1, ...}, where wait_i (µs) is how long until one more
# unit of limit i fits (0: it fits now), or {0, i, wait} when limit i cannot take its cost for
# `wait` µs — then nothing was charged.
CHARGE = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local n = #KEYS
local tats, grants = {}, {}
local refused, longest = 0, -1
for i = 1, n do
  local b = (i - 1) * 4
  local T, tol = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  local cost, extra = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local fit = math.floor((tol - (tat - now)) / T + 1e-9)
  if fit < cost then
    local wait = tat + cost * T - now - tol
    if wait > longest then longest, refused = wait, i end
  else
    local g = cost + extra
    if g > fit then g = fit end
    grants[i] = g
    tats[i] = tat + g * T
  end
end
if refused > 0 then
  return {0, refused, math.ceil(longest)}
end
local out = {1}
for i = 1, n do
  local b = (i - 1) * 4
  local T, tol = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  if grants[i] > 0 then
    local ttl = math.ceil((tats[i] - now) / 1000) + 1000
    redis.call('SET', KEYS[i], string.format('%.17g', tats[i]), 'PX', ttl)
  end
  local next_wait = tats[i] + T - now - tol
  if next_wait < 0 then next_wait = 0 end
  out[#out + 1] = grants[i]
  out[#out + 1] = math.ceil(next_wait)
end
return out
"""

# Settle a token limit charged an estimate: move its TAT by ARGV[1] µs (negative: tokens not used
# come back). Nothing when the state has expired: the limit is full again anyway.
ADJUST = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat == 0 then return 0 end
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
tat = tat + tonumber(ARGV[1])
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return 1
"""
