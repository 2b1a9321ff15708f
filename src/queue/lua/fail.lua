-- fail.lua -- a worker reports failure. With retries left the job goes back to its queue
-- (or to the scheduled set when it has a retry interval); otherwise it is failed for good and
-- its dependents are blocked.
-- ARGV: worker, id, error, log tail, ttl_failed (s).
-- Returns 'failed', 'retry', or 'stale' (see finish.lua).
local w, id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[5])
if redis.call('LREM', P .. 'worker:' .. w .. ':processing', 1, id) == 0 then return 'stale' end
local h = redis.call('HMGET', jkey(id), 'queue', 'attempts', 'retry_max', 'retry_interval')
local q = h[1]
if not q then return 'stale' end
local t = now_ms()
redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
if tonumber(h[2] or '0') <= tonumber(h[3] or '0') then
  redis.call('HSET', jkey(id), 'error', ARGV[3], 'log', ARGV[4])
  local interval = tonumber(h[4] or '0')
  if interval > 0 then
    redis.call('ZADD', P .. 'scheduled', t + interval * 1000, id)
    set_state(id, q, 'started', 'scheduled', t)
  else
    push_queue(id, q, 'started', t, false)
  end
  return 'retry'
end
fail_final(id, q, w, ARGV[3], ARGV[4], t, ttl)
return 'failed'
