-- recover.lua -- a worker (re)connecting puts back every job of its own processing list
-- except the one it is running (ARGV[2], or ''): after a Redis restart its list may hold a
-- job whose finish was lost with the last writes.
-- ARGV: worker, current id. Returns the number put back.
local w, cur = ARGV[1], ARGV[2]
local proc = P .. 'worker:' .. w .. ':processing'
local n, t = 0, now_ms()
for _, id in ipairs(redis.call('LRANGE', proc, 0, -1)) do
  if id ~= cur then
    redis.call('LREM', proc, 0, id)
    if redis.call('HGET', jkey(id), 'state') == 'started' then
      return_started(id, t)
      n = n + 1
    end
  end
end
return n
