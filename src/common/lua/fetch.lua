-- fetch.lua -- moves the next job of the first non-empty queue (in the order given) to the
-- worker's processing list and marks it started, in one step.
-- ARGV: worker, queue1, queue2, ... Returns the job hash as a flat list, or nil when every
-- queue is empty (then the queues' wake-up tokens are cleared: they are stale).
local w = ARGV[1]
if redis.call('EXISTS', P .. 'worker:' .. w .. ':hb') == 0 then
  return redis.error_reply('NOWORKER worker ' .. w .. ' is not registered')
end
local proc = P .. 'worker:' .. w .. ':processing'
for i = 2, #ARGV do
  local q = ARGV[i]
  while true do
    local id = redis.call('RPOPLPUSH', P .. 'queue:' .. q, proc)
    if not id then break end
    if redis.call('EXISTS', jkey(id)) == 1 then
      local t = now_ms()
      redis.call('HSET', jkey(id), 'started', S(t), 'worker', w, 'ended', '')
      redis.call('HINCRBY', jkey(id), 'attempts', 1)
      set_state(id, q, 'queued', 'started', t)
      redis.call('HSET', P .. 'worker:' .. w, 'current', id, 'state', 'busy')
      return redis.call('HGETALL', jkey(id))
    end
    redis.call('LREM', proc, 1, id) -- the job was deleted while queued
  end
end
for i = 2, #ARGV do redis.call('DEL', P .. 'signal:' .. ARGV[i]) end
redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
return nil
