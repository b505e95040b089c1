local now_s, cap, rate = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(now_s)
local M = 1000000
local st = redis.call('HMGET', KEYS[1], 'tokens', 'carry', 'last')
local tokens, carry, last = cap, 0, now
if st[1] then tokens, carry, last = tonumber(st[1]), tonumber(st[2]), tonumber(st[3]) end
if now < last then now, now_s = last, st[3] end
if tokens < cap then
  local dt = now - last
  local a = math.floor(dt / M)
  local b = dt - a * M
  local c = math.floor(rate / M)
  local d = rate - c * M
  local low = b * d + carry
  tokens = tokens + a * c * M + a * d + b * c + math.floor(low / M)
  carry = low % M
  if tokens >= cap then tokens, carry = cap, 0 end
end
local allowed, retry = 0, 0
if tokens >= M then
  tokens = tokens - M
  allowed = 1
else
  retry = -math.floor(-((M - tokens) * M - carry) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', s(tokens), 'carry', s(carry), 'last', now_s)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return string.format('%d %d %d', allowed, tokens, retry)
