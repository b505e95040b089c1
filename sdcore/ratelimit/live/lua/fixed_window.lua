local now_s, limit, W = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(now_s)
local k = math.floor(now / W)
local counter = KEYS[1] .. ':' .. s(k)
local v = redis.call('MGET', KEYS[1] .. ':last', counter)
local count = tonumber(v[2]) or 0
if v[1] and now < tonumber(v[1]) then
  now, now_s = tonumber(v[1]), v[1]
  if math.floor(now / W) ~= k then
    k = math.floor(now / W)
    counter = KEYS[1] .. ':' .. s(k)
    count = tonumber(redis.call('GET', counter)) or 0
  end
end
redis.call('SET', KEYS[1] .. ':last', now_s, 'PX', ARGV[4])
if count < limit then
  count = redis.call('INCR', counter)
  redis.call('PEXPIRE', counter, ARGV[4])
  return string.format('1 %d 0', count)
end
return string.format('0 %d %d', count, (k + 1) * W - now)
