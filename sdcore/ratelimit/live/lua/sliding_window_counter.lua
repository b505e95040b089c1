local now_s, limit, W = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(now_s)
local function floor_div(a, b)  -- floor((a * W - 1) / b) for a, b >= 1
  local qw = math.floor(W / b)
  return a * qw + math.floor((a * (W - qw * b) - 1) / b)
end
local k = math.floor(now / W)
local counter = KEYS[1] .. ':' .. s(k)
local v = redis.call('MGET', KEYS[1] .. ':last', counter, KEYS[1] .. ':' .. s(k - 1))
local cur, prev = tonumber(v[2]) or 0, tonumber(v[3]) or 0
if v[1] and now < tonumber(v[1]) then
  now, now_s = tonumber(v[1]), v[1]
  if math.floor(now / W) ~= k then
    k = math.floor(now / W)
    counter = KEYS[1] .. ':' .. s(k)
    local w = redis.call('MGET', counter, KEYS[1] .. ':' .. s(k - 1))
    cur, prev = tonumber(w[1]) or 0, tonumber(w[2]) or 0
  end
end
local span = (k + 1) * W - now
local rem = limit - cur
local allowed = 0
if rem > 0 and (prev == 0 or span <= floor_div(rem, prev)) then allowed = 1 end
redis.call('SET', KEYS[1] .. ':last', now_s, 'PX', ARGV[4])
if allowed == 1 then
  redis.call('INCR', counter)
  redis.call('PEXPIRE', counter, ARGV[4])
  return string.format('1 %d %d %d 0', cur, prev, span)
end
local retry = nil
if cur < limit then  -- later in this window, once the previous window's share has shrunk enough
  local elapsed = W - floor_div(limit - cur, prev)
  if elapsed < W then retry = k * W + elapsed - now end
end
if not retry then  -- in the next window, where this window's count becomes the previous one
  local elapsed = 0
  if cur > 0 then elapsed = math.max(0, W - floor_div(limit, cur)) end
  if elapsed < W then retry = (k + 1) * W + elapsed - now else retry = (k + 2) * W - now end
end
return string.format('0 %d %d %d %d', cur, prev, span, retry)
