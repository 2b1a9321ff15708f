-- heartbeat.lua -- registers a worker or renews its heartbeat.
-- ARGV: worker, ttl (ms), queues (text), pid, host, started (ms).
local w = ARGV[1]
redis.call('SET', P .. 'worker:' .. w .. ':hb', '1', 'PX', ARGV[2])
redis.call('SADD', P .. 'workers', w)
redis.call('HSET', P .. 'worker:' .. w, 'name', w, 'queues', ARGV[3], 'pid', ARGV[4],
  'host', ARGV[5], 'birth', ARGV[6], 'beat', S(now_ms()))
return 'ok'
