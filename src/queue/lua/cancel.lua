-- cancel.lua -- cancels a job that is not running (queued, deferred, blocked, scheduled or
-- failed) and every descendant that has not run yet.
-- ARGV: id, ttl_failed (s). Returns the number of jobs canceled.
local id, ttl = ARGV[1], tonumber(ARGV[2])
local h = redis.call('HMGET', jkey(id), 'state', 'queue')
if not h[1] then return redis.error_reply('NOJOB no job ' .. id) end
if not CANCELABLE[h[1]] then return redis.error_reply('STATE job ' .. id .. ' is ' .. h[1] .. ' and cannot be canceled') end
local t = now_ms()
unlink_waiting(id, h[2], h[1])
set_state(id, h[2], h[1], 'canceled', t)
redis.call('HSET', jkey(id), 'ended', S(t))
expire_job(id, ttl)
return 1 + cancel_descendants(id, t, ttl)
