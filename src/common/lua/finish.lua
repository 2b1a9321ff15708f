-- finish.lua -- a worker reports success: the job is finished and its dependents whose last
-- dependency this was are queued.
-- ARGV: worker, id, result (JSON text or ''), log tail, ttl_finished (s).
-- Returns 'ok', or 'stale' when the job is no longer in the worker's processing list (it
-- was reaped and put back; the other run's report counts).
local w, id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[5])
if redis.call('LREM', P .. 'worker:' .. w .. ':processing', 1, id) == 0 then return 'stale' end
local q = redis.call('HGET', jkey(id), 'queue')
if not q then return 'stale' end
local t = now_ms()
redis.call('HSET', jkey(id), 'ended', S(t), 'result', ARGV[3], 'log', ARGV[4], 'error', '')
set_state(id, q, 'started', 'finished', t)
redis.call('HINCRBY', P .. 'worker:' .. w, 'processed', 1)
redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
for _, d in ipairs(redis.call('SMEMBERS', jkey(id) .. ':dependents')) do
  local h = redis.call('HMGET', jkey(d), 'state', 'queue')
  if h[1] == 'deferred' or h[1] == 'blocked' then
    local left = redis.call('HINCRBY', jkey(d), 'pending', -1)
    if left <= 0 and h[1] == 'deferred' then push_queue(d, h[2], 'deferred', t, false) end
  end
end
expire_job(id, ttl)
trim_registry(q, 'finished', t, ttl)
return 'ok'
