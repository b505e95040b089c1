local now_s, limit, W, log_rejected = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local inclusive = ARGV[5] == '1'
local now = tonumber(now_s)
local z, lastkey = KEYS[1] .. ':z', KEYS[1] .. ':last'
local last = redis.call('GET', lastkey)
if last and now < tonumber(last) then now, now_s = tonumber(last), last end
if inclusive then
  redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. s(now - W))
else
  redis.call('ZREMRANGEBYSCORE', z, '-inf', s(now - W))
end
local n = redis.call('ZCARD', z)
local allowed = 0
if n < limit then allowed = 1 end
if allowed == 1 or log_rejected then
  redis.call('ZADD', z, now_s, now_s .. ':' .. n)
  n = n + 1
end
local retry = 0
if allowed == 0 then
  local oldest = redis.call('ZRANGE', z, n - limit, n - limit, 'WITHSCORES')
  retry = tonumber(oldest[2]) + W - now
  if inclusive then retry = retry + 1 end
end
redis.call('SET', lastkey, now_s, 'PX', ARGV[6])
redis.call('PEXPIRE', z, ARGV[6])
return string.format('%d %d %d', allowed, n, retry)
