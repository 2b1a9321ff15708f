-- requeue_failed.lua -- requeues the oldest failed jobs of a queue, a batch at a time (the
-- caller repeats until 0), as requeue.lua does for one: attempts reset, blocked dependents
-- deferred again. A registry entry whose job expired is dropped.
-- ARGV: queue, batch size. Returns the number of registry entries handled.
local q, batch = ARGV[1], tonumber(ARGV[2])
local rk = reg(q, 'failed')
local ids = redis.call('ZRANGE', rk, 0, batch - 1)
local t = now_ms()
for _, id in ipairs(ids) do
  if redis.call('HGET', jkey(id), 'state') == 'failed' then
    persist_job(id)
    redis.call('HSET', jkey(id), 'attempts', '0', 'crashes', '0', 'error', '', 'ended', '')
    push_queue(id, q, 'failed', t, false)
    unblock_descendants(id, t)
  else
    redis.call('ZREM', rk, id)
  end
end
return #ids
