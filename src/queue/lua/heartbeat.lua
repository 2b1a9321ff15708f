-- heartbeat.lua -- registers a worker or renews its heartbeat.
-- ARGV: worker, ttl (ms), queues (text), pid, host, started (ms; '0': Redis' clock at the
-- first registration, as every time the job protocol stores is Redis' own).
local w = ARGV[1]
local key = P .. 'worker:' .. w
local t = now_ms()
redis.call('SET', key .. ':hb', '1', 'PX', ARGV[2])
redis.call('SADD', P .. 'workers', w)
redis.call('HSET', key, 'name', w, 'queues', ARGV[3], 'pid', ARGV[4], 'host', ARGV[5], 'beat', S(t))
if ARGV[6] ~= '0' then
  redis.call('HSET', key, 'birth', ARGV[6])
else
  redis.call('HSETNX', key, 'birth', S(t))
end
return 'ok'
