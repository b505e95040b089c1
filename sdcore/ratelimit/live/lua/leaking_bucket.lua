local now_s, q, I = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(now_s)
local st = redis.call('HMGET', KEYS[1], 'last', 'n', 'r', 'interval')
local allowed, n, r = 1, 0, 0
if st[1] then
  local last = tonumber(st[1])
  n, r = tonumber(st[2]), tonumber(st[3])
  local I0 = tonumber(st[4])
  if I0 ~= I then  -- another interval on the same key: re-express the backlog (exact below 2**53)
    local backlog = n * I0 + r
    n = math.floor(backlog / I)
    r = backlog - n * I
  end
  if now < last then now, now_s = last, st[1] end
  local delta = now - last
  local dn = math.floor(delta / I)
  n = n - dn
  r = r - (delta - dn * I)
  if r < 0 then n, r = n - 1, r + I end
  if n < q - 1 or (n == q - 1 and r == 0) then
    n = n + 1  -- departs one interval after the previous one, or on arrival if the queue was idle
    if n < 0 then n, r = 0, 0 end
  else
    allowed = 0
  end
end
local waiting = n
if r > 0 then waiting = n + 1 end
local retry = 0
if allowed == 0 then retry = (n - q + 1) * I + r end
redis.call('HSET', KEYS[1], 'last', now_s, 'n', s(n), 'r', s(r), 'interval', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return string.format('%d %d %d %d %d %d', allowed, now, n, r, waiting, retry)
