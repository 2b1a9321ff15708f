-- giveback.lua -- a stopping worker returns a job it did not finish: to the front of its
-- queue, the attempt not counted.
-- ARGV: worker, id. Returns 'ok' or 'stale'.
local w, id = ARGV[1], ARGV[2]
if redis.call('LREM', P .. 'worker:' .. w .. ':processing', 1, id) == 0 then return 'stale' end
if redis.call('EXISTS', jkey(id)) == 0 then return 'stale' end
redis.call('HINCRBY', jkey(id), 'attempts', -1)
return_started(id, now_ms())
redis.call('HSET', P .. 'worker:' .. w, 'current', '', 'state', 'idle')
return 'ok'
