local now_s, I, tq, tr = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = tonumber(now_s)
local st = redis.call('HMGET', KEYS[1], 'last', 'n', 'r', 'interval')
local n, r = 0, 0
if st[1] then
  local last = tonumber(st[1])
  n, r = tonumber(st[2]), tonumber(st[3])
  local I0 = tonumber(st[4])
  if I0 ~= I then  -- another interval on the same key: re-express tat - last (exact below 2**53)
    local ahead = n * I0 + r
    n = math.floor(ahead / I)
    r = ahead - n * I
  end
  if now < last then now, now_s = last, st[1] end
  local delta = now - last
  local dn = math.floor(delta / I)
  n = n - dn
  r = r - (delta - dn * I)
  if r < 0 then n, r = n - 1, r + I end
  if n < 0 then n, r = 0, 0 end  -- tat = max(tat, now)
end
local allowed, remaining, retry = 0, 0, 0
if n < tq or (n == tq and r <= tr) then
  allowed = 1
  n = n + 1
  local below = 0
  if r > tr then below = 1 end
  remaining = math.max(0, tq - n - below + 1)  -- (tolerance - (tat - now)) // interval + 1
else
  retry = (n - tq) * I + r - tr
end
redis.call('HSET', KEYS[1], 'last', now_s, 'n', s(n), 'r', s(r), 'interval', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return string.format('%d %d %d %d %d %d', allowed, remaining, retry, now, n, r)
