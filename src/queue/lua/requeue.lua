-- requeue.lua -- a failed job runs again: queued with its attempts reset; its blocked
-- dependents become deferred again (released when it finishes).
-- ARGV: id. Returns 'ok' or an error naming the job's state.
local id = ARGV[1]
local h = redis.call('HMGET', jkey(id), 'state', 'queue')
if not h[1] then return redis.error_reply('NOJOB no job ' .. id) end
if h[1] ~= 'failed' then return redis.error_reply('STATE job ' .. id .. ' is ' .. h[1] .. ', only failed jobs can be requeued') end
local t = now_ms()
persist_job(id)
redis.call('HSET', jkey(id), 'attempts', '0', 'crashes', '0', 'error', '', 'ended', '')
push_queue(id, h[2], 'failed', t, false)
unblock_descendants(id, t)
return 'ok'
