-- delete.lua -- deletes a job that is not running; descendants that have not run yet are
-- canceled.
-- ARGV: id, ttl_failed (s). Returns the number of descendants canceled.
local id, ttl = ARGV[1], tonumber(ARGV[2])
local h = redis.call('HMGET', jkey(id), 'state', 'queue')
if not h[1] then return redis.error_reply('NOJOB no job ' .. id) end
if h[1] == 'started' then return redis.error_reply('STATE job ' .. id .. ' is running and cannot be deleted') end
local t = now_ms()
local n = cancel_descendants(id, t, ttl)
unlink_waiting(id, h[2], h[1])
if h[1] ~= 'queued' then redis.call('ZREM', reg(h[2], h[1]), id) end
for _, d in ipairs(deps_of(id)) do redis.call('SREM', jkey(d) .. ':dependents', id) end
unindex_job(id)
redis.call('DEL', jkey(id), jkey(id) .. ':dependents')
return n
