-- unregister.lua -- a worker that stops cleanly removes itself (its processing list must be
-- empty: anything left is put back first).
-- ARGV: worker.
local w = ARGV[1]
local proc = P .. 'worker:' .. w .. ':processing'
local t = now_ms()
for _, id in ipairs(redis.call('LRANGE', proc, 0, -1)) do
  if redis.call('HGET', jkey(id), 'state') == 'started' then return_started(id, t) end
end
redis.call('DEL', proc, P .. 'worker:' .. w, P .. 'worker:' .. w .. ':hb')
redis.call('SREM', P .. 'workers', w)
return 'ok'
